"""Remediate one finding, or restore one journal entry, with every guard of design.md.

Order matters: refuse what may not be changed, plan (read only), stop for a plan or a
dry run, require the journal, charge the caps, then for each change: journal it with
the state before, apply, read back until it shows, and record the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rolewarden.inventory.aws import AwsClients
from rolewarden.observability import count, logger
from rolewarden.remediation.caps import HourlyCap
from rolewarden.remediation.change import (
    Action,
    ActionError,
    Change,
    PartialChangeError,
    Poll,
    matches,
)
from rolewarden.remediation.journal import (
    Journal,
    JournalEntry,
    JournalError,
    Status,
    new_journal_id,
)
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.remediation.registry import ACTIONS, CLI_ONLY, COMPOSITE
from rolewarden.rules.model import Finding, Remediation
from rolewarden.settings import Mode, Settings

KILL_SWITCH = "ROLEWARDEN_DRY_RUN=true: this deployment is read-only; nothing was changed"
NO_JOURNAL = (
    "no journal: set ROLEWARDEN_JOURNAL_TABLE (or pass --journal-table); "
    "RoleWarden makes no change it could not undo"
)


@dataclass(frozen=True)
class Request:
    actor: str  # who asked: a person, or the event or sweep that found it
    apply: bool = False  # False: plan only
    force: bool = False  # a person overrides the guards that allow it (journaled)
    automatic: bool = False  # RoleWarden acting on its own: every guard, and the caps
    action: str | None = None  # one of the proposal's actions only
    task_role_arn: str | None = None
    update_service: bool = False


def utc_now() -> datetime:
    return datetime.now(UTC)


class Remediator:
    def __init__(
        self,
        clients: AwsClients,
        settings: Settings,
        journal: Journal | None,
        account: str,
        *,
        cli: bool = False,
        now: Callable[[], datetime] = utc_now,
        poll: Poll | None = None,
    ) -> None:
        self.clients = clients
        self.settings = settings
        self.journal = journal
        self.account = account
        self.cli = cli  # a person's own credentials: may run the CLI-only actions
        self.now = now
        self.poll = poll or Poll()

    def remediate(self, finding: Finding, request: Request) -> Outcome:
        subject = {
            "finding_id": finding.finding_id,
            "rule": finding.rule,
            "resource_arn": finding.resource_arn,
        }
        try:
            return self._remediate(finding, request, subject)
        except JournalError as error:
            return self._journal_failure(subject, error)

    def restore(self, journal_id: str, request: Request) -> Outcome:
        try:
            return self._restore(journal_id, request)
        except JournalError as error:
            return self._journal_failure({"restore": journal_id}, error)

    # -- remediate --------------------------------------------------------------------

    def _remediate(self, finding: Finding, request: Request, subject: dict[str, str]) -> Outcome:
        reasons = self._cannot(finding, request)
        if reasons:
            return self._refused(subject, reasons)
        remediation = finding.remediation
        assert remediation is not None
        try:
            steps = self._steps(remediation, request)
            plan = [
                change
                for action, params in steps
                if (change := action.plan(self.clients, finding.region, params)) is not None
            ]
        except ActionError as error:
            return Outcome(OutcomeStatus.FAILED, subject, [f"planning failed: {error}"])
        if not plan:
            return Outcome(
                OutcomeStatus.NOTHING_TO_DO, subject, ["already remediated: nothing to change"]
            )
        logger.info("remediation plan", subject=subject, plan=[change.as_json() for change in plan])
        reasons = self._may_not(finding, request)
        if reasons:  # the plan still shows what a person could do
            return self._refused(subject, reasons, plan)
        gate = self._gate(request)
        if gate:
            return Outcome(gate[0], subject, gate[1], plan)
        if request.automatic and not self._within_hourly_cap():
            count("RemediationsCapped")
            return self._refused(
                subject,
                [
                    f"hourly cap reached ({self.settings.max_remediations_per_hour} automatic "
                    "remediations, ROLEWARDEN_MAX_REMEDIATIONS_PER_HOUR): notified, not changed"
                ],
                plan,
            )
        forced = list(remediation.blockers.force) if request.force else []
        outcome = Outcome(OutcomeStatus.APPLIED, subject, plan=plan)
        for change in plan:
            entry = self._entry(finding, change, request.actor, forced)
            outcome.journal.append(self._apply(entry))
            if entry.status is Status.FAILED:
                outcome.status = OutcomeStatus.FAILED
                outcome.reasons.append(entry.error or "failed")
                break  # the rest waits for a person to look at the failure
        return outcome

    def _cannot(self, finding: Finding, request: Request) -> list[str]:
        """Refusals that need no reading: nothing to plan."""
        mode = self.settings.mode(finding.rule)
        remediation = finding.remediation
        if mode is Mode.OFF:
            return [f"rule {finding.rule} is off (ROLEWARDEN_RULE_MODES)"]
        if remediation is None:
            return [f"rule {finding.rule} proposes no remediation for this finding"]
        blockers = remediation.blockers
        if blockers.never:
            return [f"never changed: {reason}" for reason in blockers.never]
        offered = _actions_of(remediation)
        if request.action and request.action not in offered:
            return [
                f"action {request.action} does not fix this finding "
                f"(proposed: {', '.join(sorted(offered))})"
            ]
        cli_only = sorted(offered & CLI_ONLY) if not self.cli else []
        if cli_only:
            return [
                f"{', '.join(cli_only)} runs from the CLI with your own credentials: it passes a "
                "task role (iam:PassRole), which RoleWarden's role may not"
            ]
        if request.automatic and mode is not Mode.REMEDIATE:
            return [f"rule {finding.rule} is in {mode.value} mode: notified, not changed"]
        return []

    def _may_not(self, finding: Finding, request: Request) -> list[str]:
        """Guards a person may pass (some only with --force); RoleWarden on its own may not."""
        assert finding.remediation is not None
        blockers = finding.remediation.blockers
        if not request.automatic:
            if blockers.force and not request.force:
                return [f"blocked unless forced (--force): {reason}" for reason in blockers.force]
            return []
        if blockers.force or blockers.manual:
            return [f"not automatic: {reason}" for reason in (*blockers.force, *blockers.manual)]
        if self.journal is not None:
            restore = self.journal.restored_within(
                finding.resource_arn, self.now(), self.settings.restore_grace_hours
            )
            if restore:
                return [
                    f"restored less than {self.settings.restore_grace_hours} hours ago (journal "
                    f"{restore}, ROLEWARDEN_RESTORE_GRACE_HOURS): a person decides"
                ]
        return []

    def _steps(
        self, remediation: Remediation, request: Request
    ) -> list[tuple[Action, dict[str, Any]]]:
        params = dict(remediation.params)
        if remediation.action == COMPOSITE:
            steps = [
                (ACTIONS[step["action"]], {"role_name": params["role_name"], **step})
                for step in params["steps"]
            ]
        else:
            if request.task_role_arn:
                params["task_role_arn"] = request.task_role_arn
            params["update_service"] = request.update_service
            steps = [(ACTIONS[remediation.action], params)]
        return [step for step in steps if request.action in (None, step[0].name)]

    def _gate(self, request: Request) -> tuple[OutcomeStatus, list[str]] | None:
        """Whether this request may change anything at all."""
        if self.settings.dry_run:
            return OutcomeStatus.PLANNED, [KILL_SWITCH]
        if not request.apply:
            return OutcomeStatus.PLANNED, ["plan only: nothing was changed (apply to change)"]
        if self.journal is None:
            return OutcomeStatus.REFUSED, [NO_JOURNAL]
        return None

    def _within_hourly_cap(self) -> bool:
        assert self.journal is not None
        cap = HourlyCap(self.journal, self.account, self.settings.max_remediations_per_hour)
        return cap.reserve(self.now())

    def _entry(
        self, finding: Finding, change: Change, actor: str, forced: list[str]
    ) -> JournalEntry:
        now = self.now()
        return JournalEntry(
            journal_id=new_journal_id(now),
            time=now.isoformat(),
            actor=actor,
            rule=finding.rule,
            finding_id=finding.finding_id,
            resource_arn=finding.resource_arn,
            account=finding.account,
            change=change,
            forced=forced,
        )

    def _apply(self, entry: JournalEntry) -> JournalEntry:
        """Journal (state before), change, read back; the entry says how it went."""
        assert self.journal is not None
        action = ACTIONS[entry.action]
        self.journal.save(entry)  # before the change: what it takes to undo is safe first
        try:
            applied = action.apply(self.clients, entry.change)
            if applied != entry.change:  # AWS assigned something the undo needs
                entry.change = applied
                self.journal.save(entry)
            self._verify(entry, action, entry.change.after)
        except ActionError as error:
            if isinstance(error, PartialChangeError):
                entry.change = error.change  # what restore needs to undo the part made
            self._fail(entry, str(error))
            return entry
        if entry.status is not Status.FAILED:
            entry.status = Status.VERIFIED
            self.journal.save(entry)
            count("RemediationsApplied")
            logger.info("remediation applied", entry=entry.as_json())
        return entry

    def _verify(self, entry: JournalEntry, action: Action, expected: dict[str, Any]) -> None:
        took, seen = self.poll.until(lambda: action.read(self.clients, entry.change), expected)
        entry.verify = ("read back " if took else "did not take: read back ") + json.dumps(
            seen, default=str, sort_keys=True
        )
        if not took:
            self._fail(entry, f"verification failed: expected {json.dumps(expected, default=str)}")

    def _fail(self, entry: JournalEntry, error: str) -> None:
        """Marks the entry failed and raises the alarm (RemediationFailed)."""
        assert self.journal is not None
        entry.status = Status.FAILED
        entry.error = error
        count("RemediationFailed")
        logger.error("remediation failed", entry=entry.as_json())
        self.journal.save(entry)

    def _refused(
        self, subject: dict[str, str], reasons: list[str], plan: list[Change] | None = None
    ) -> Outcome:
        count("RemediationsRefused")
        logger.warning("remediation refused", subject=subject, reasons=reasons)
        return Outcome(OutcomeStatus.REFUSED, subject, reasons, plan or [])

    def _journal_failure(self, subject: dict[str, str], error: JournalError) -> Outcome:
        count("RemediationFailed")
        logger.error("journal unavailable", subject=subject, error=str(error))
        return Outcome(OutcomeStatus.FAILED, subject, [str(error)])

    # -- restore ----------------------------------------------------------------------

    def _restore(self, journal_id: str, request: Request) -> Outcome:
        subject = {"restore": journal_id}
        if self.journal is None:
            return self._refused(subject, [NO_JOURNAL])
        original = self.journal.get(journal_id)
        if original is None:
            return self._refused(subject, [f"no journal entry {journal_id}"])
        subject |= {"rule": original.rule, "resource_arn": original.resource_arn}
        if original.restore_of:
            return self._refused(
                subject, [f"{journal_id} is itself a restore (of {original.restore_of})"]
            )
        if original.status is Status.RESTORED:
            return Outcome(OutcomeStatus.NOTHING_TO_DO, subject, ["already restored"])
        action = ACTIONS[original.action]
        if original.action in CLI_ONLY and not self.cli:
            return self._refused(subject, [f"{original.action} is restored from the CLI"])
        try:
            current = action.read(self.clients, original.change)
        except ActionError as error:
            return Outcome(OutcomeStatus.FAILED, subject, [f"reading the resource failed: {error}"])
        if matches(current, original.change.before):
            return Outcome(
                OutcomeStatus.NOTHING_TO_DO,
                subject,
                ["the resource is as it was before the change: nothing to restore"],
            )
        forced = []
        if not matches(current, original.change.after):
            changed = (
                f"the change ended {original.status.value} partway: the resource is neither as "
                "before nor as after it"
                if original.status is not Status.VERIFIED
                else "the resource changed since the journal entry"
            ) + (
                ": expected "
                f"{json.dumps(original.change.after, default=str, sort_keys=True)}, found "
                f"{json.dumps(current, default=str, sort_keys=True)}"
            )
            if not request.force:
                return self._refused(subject, [f"{changed}; --force restores it anyway"])
            forced = [changed]
        undo = Change(
            original.action,
            original.change.region,
            original.change.target,
            before=current,
            after=original.change.before,
            summary=f"restore: undo '{original.change.summary}'",
        )
        gate = self._gate(request)
        if gate:
            return Outcome(gate[0], subject, gate[1], [undo])
        now = self.now()
        entry = JournalEntry(
            journal_id=new_journal_id(now),
            time=now.isoformat(),
            actor=request.actor,
            rule=original.rule,
            finding_id=original.finding_id,
            resource_arn=original.resource_arn,
            account=original.account,
            change=undo,
            forced=forced,
            restore_of=journal_id,
        )
        self.journal.save(entry)
        try:
            action.undo(self.clients, original.change)
            self._verify(entry, action, original.change.before)
        except ActionError as error:
            self._fail(entry, str(error))
        outcome = Outcome(OutcomeStatus.RESTORED, subject, plan=[undo], journal=[entry])
        if entry.status is Status.FAILED:
            outcome.status = OutcomeStatus.FAILED
            outcome.reasons.append(entry.error or "failed")
            return outcome
        entry.status = Status.VERIFIED
        self.journal.save(entry)
        original.status = Status.RESTORED
        self.journal.save(original)
        self.journal.mark_restored(original.resource_arn, now, entry.journal_id)
        count("RemediationsRestored")
        logger.info("restored", entry=entry.as_json())
        return outcome


def _actions_of(remediation: Remediation) -> set[str]:
    if remediation.action == COMPOSITE:
        return {step["action"] for step in remediation.params["steps"]}
    return {remediation.action}
