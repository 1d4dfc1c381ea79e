"""Restore a journal entry: put the resource back as it was before the change.

Only an entry whose signature holds is restored (an unsigned or altered one never is, not
even forced), and never what RoleWarden would report critical unless a person forces it.
Refused when the resource is no longer as the journal left it (someone changed it
since), unless a person forces it (journaled). The restore marker, which keeps RoleWarden
from remediating the resource again within ROLEWARDEN_RESTORE_GRACE_HOURS, is written
before the undo: the restore's own CloudTrail event must not undo the restore.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.aws.tags import tag_dict
from rolewarden.evaluation.resource import ResourceArnError, targets_of_arn
from rolewarden.inventory.snapshot import SERVICE_LINKED_PATH
from rolewarden.observability import count
from rolewarden.remediation.change import ActionError, Change, Poll, State, matches
from rolewarden.remediation.journal import (
    Journal,
    JournalEntry,
    JournalError,
    Status,
    UntrustedEntryError,
)
from rolewarden.remediation.outcome import Outcome, OutcomeStatus, Subject
from rolewarden.remediation.registry import ACTIONS, CLI_ONLY
from rolewarden.remediation.request import (
    NO_JOURNAL,
    Request,
    answer,
    entry_fields,
    gate,
    journal_failure,
    refused,
    utc_now,
)
from rolewarden.remediation.restore_grants import critical_grants, undo_summary
from rolewarden.remediation.runner import ChangeRunner, ResourceBusyError
from rolewarden.rules.guards import never_changed
from rolewarden.settings import Settings

CRITICAL = "the restore would grant what RoleWarden reports critical (--force restores it): {}"


class Restorer:
    def __init__(
        self,
        clients: AwsClients,
        journal: Journal | None,
        *,
        cli: bool,
        now: Callable[[], datetime] = utc_now,
        poll: Poll | None = None,
    ) -> None:
        self.clients = clients
        self.journal = journal
        self.cli = cli
        self.now = now
        self.poll = poll or Poll()

    def restore(self, journal_id: str, request: Request, settings: Settings) -> Outcome:
        outcome = Outcome(OutcomeStatus.RESTORED, Subject(restore=journal_id))
        try:
            return self._restore(journal_id, request, settings, outcome)
        except JournalError as error:
            return journal_failure(outcome, error)

    def _restore(
        self, journal_id: str, request: Request, settings: Settings, outcome: Outcome
    ) -> Outcome:
        original = self._original(journal_id, outcome)
        if original is None:
            return outcome
        if original.status is Status.RESTORED:
            return answer(outcome, OutcomeStatus.NOTHING_TO_DO, ["already restored"])
        found = self._current(original, request, outcome)
        if found is None:
            return outcome
        current, forced = found
        undo = Change(
            original.action,
            original.change.region,
            original.change.target,
            before=current,
            after=original.change.before,
            summary="restore: " + undo_summary(original.change, current),
        )
        outcome.plan = [undo]
        critical = self._critical(original, settings, outcome)
        if critical is None:
            return outcome
        if critical and not request.force:
            return refused(outcome, [CRITICAL.format("; ".join(critical))])
        forced += [f"restored a critical grant: {reason}" for reason in critical]
        held = gate(settings, self.journal, request)
        if held:
            return held.answer(outcome)
        assert self.journal is not None  # _original refused without one
        runner = ChangeRunner(self.clients, self.journal, self.now, self.poll)
        try:
            with runner.exclusive(original.resource_arn):
                self._undo(runner, original, undo, request, forced, outcome)
        except ResourceBusyError as error:
            return refused(outcome, [str(error)])
        return outcome

    def _current(
        self, original: JournalEntry, request: Request, outcome: Outcome
    ) -> tuple[State, list[str]] | None:
        """The resource as it is now, and what `--force` overrides to restore it (None:
        there is nothing to restore, or it may not be, and `outcome` says why)."""
        try:
            never = never_changed_now(self.clients, original.change)
            current = ACTIONS[original.action].read(self.clients, original.change)
        except ActionError as error:
            answer(outcome, OutcomeStatus.FAILED, [f"reading the resource failed: {error}"])
            return None
        if never:  # protected (or found to be RoleWarden's own) since the change
            refused(outcome, [f"never changed: {reason}" for reason in never])
            return None
        if matches(current, original.change.before):
            reason = "the resource is as it was before the change: nothing to restore"
            answer(outcome, OutcomeStatus.NOTHING_TO_DO, [reason])
            return None
        reasons = (
            [] if matches(current, original.change.after) else [_changed_since(original, current)]
        )
        try:
            reasons += ACTIONS[original.action].undo_blockers(self.clients, original.change)
        except ActionError as error:
            answer(
                outcome, OutcomeStatus.FAILED, [f"reading what uses the resource failed: {error}"]
            )
            return None
        if reasons and not request.force:
            refused(outcome, [f"{reason}; --force restores it anyway" for reason in reasons])
            return None
        return current, reasons

    def _original(self, journal_id: str, outcome: Outcome) -> JournalEntry | None:
        """The entry, when it is signed and restorable (None: `outcome` says why not)."""
        if self.journal is None:
            refused(outcome, [NO_JOURNAL])
            return None
        try:
            original = self.journal.trusted(journal_id)
        except UntrustedEntryError as error:
            refused(outcome, [str(error)])
            return None
        if original is None:
            refused(outcome, [f"no journal entry {journal_id}"])
            return None
        outcome.subject = replace(
            outcome.subject, rule=original.rule, resource_arn=original.resource_arn
        )
        problem = self._cannot(original)
        if problem:
            refused(outcome, [problem])
            return None
        return original

    def _critical(
        self, original: JournalEntry, settings: Settings, outcome: Outcome
    ) -> list[str] | None:
        """What the restore would grant that is critical (None: it could not be judged)."""
        try:
            context = settings.rule_context()
            return critical_grants(self.clients, original.change, context)
        except ActionError as error:
            answer(outcome, OutcomeStatus.FAILED, [f"judging the restore failed: {error}"])
            return None

    def _cannot(self, original: JournalEntry) -> str | None:
        if original.restore_of:
            return f"{original.journal_id} is itself a restore (of {original.restore_of})"
        if original.action in CLI_ONLY and not self.cli:
            return f"{original.action} is restored from the CLI"
        if not _target_is_the_resource(original):
            return (
                f"journal entry {original.journal_id} does not describe a change of "
                f"{original.resource_arn}: not restored"
            )
        return None

    def _undo(
        self,
        runner: ChangeRunner,
        original: JournalEntry,
        undo: Change,
        request: Request,
        forced: list[str],
        outcome: Outcome,
    ) -> None:
        assert self.journal is not None
        entry = runner.entry(
            undo,
            **entry_fields(request, original, forced),
            restore_of=original.journal_id,
        )
        # Before the undo: its own CloudTrail event must find the resource in its grace.
        self.journal.mark_restored(original.resource_arn, self.now(), entry.journal_id)
        outcome.journal.append(runner.undo(entry, original.change))
        if entry.status is Status.FAILED:
            answer(outcome, OutcomeStatus.FAILED, [entry.error or "failed"])
            return
        original.status = Status.RESTORED
        self.journal.save(original)
        count("RemediationsRestored")


def never_changed_now(clients: AwsClients, change: Change) -> list[str]:
    """The resource's guards as it is today: it may have been protected since the change."""
    target = change.target
    if "role_name" in target:
        iam = clients.client("iam")
        role = call(ActionError, "iam:GetRole", iam.get_role, RoleName=target["role_name"])["Role"]
        return never_changed(
            tag_dict(role.get("Tags", [])),
            role=True,
            service_linked=str(role.get("Path", "")).startswith(SERVICE_LINKED_PATH),
        )
    if "instance_id" in target:
        ec2 = clients.client("ec2", change.region)
        found = call(
            ActionError,
            "ec2:DescribeInstances",
            ec2.describe_instances,
            InstanceIds=[target["instance_id"]],
        )
        instances = [i for r in found.get("Reservations", []) for i in r["Instances"]]
        return never_changed(tag_dict(instances[0].get("Tags", []))) if instances else []
    return []  # a task definition revision: restored from the CLI by a person


def _changed_since(original: JournalEntry, current: dict[str, object]) -> str:
    what = (
        "the resource changed since the journal entry"
        if original.status is Status.VERIFIED
        else f"the change ended {original.status.value} partway: the resource is neither as "
        "before nor as after it"
    )
    expected = json.dumps(original.change.after, default=str, sort_keys=True)
    found = json.dumps(current, default=str, sort_keys=True)
    return f"{what}: expected {expected}, found {found}"


def _target_is_the_resource(entry: JournalEntry) -> bool:
    """An entry's target must be the resource it names (the journal is data, not orders)."""
    target = entry.change.target
    try:
        targets, _region = targets_of_arn(entry.resource_arn)
    except ResourceArnError:
        return False
    if "role_name" in target:
        return set(targets.role_names) == {target["role_name"]}
    if "instance_id" in target:
        return set(targets.instance_ids) == {target["instance_id"]}
    if "task_definition_arn" in target:  # the definition itself, or a task that runs it
        definitions = set(targets.task_definition_arns)
        return definitions == {target["task_definition_arn"]} or bool(targets.tasks)
    return False
