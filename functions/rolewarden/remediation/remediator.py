"""Remediate one finding, or restore one journal entry, with every guard of design.md.

Order matters: refuse what may not be changed, plan (read only), refuse what the guards
forbid (showing the plan), stop for a plan or a dry run, require the journal, take the
resource's lock, charge the caps, then for each step: plan it again, journal it with the
state before, apply, read back until it shows, and record the verdict (runner.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rolewarden.inventory.aws import AwsClients
from rolewarden.observability import count, logger
from rolewarden.remediation.caps import HourlyCap
from rolewarden.remediation.change import Action, ActionError, ActionRefusedError, Change, Poll
from rolewarden.remediation.journal import Journal, JournalError, Status
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.remediation.ownership import owning_stack, physical_id
from rolewarden.remediation.registry import ACTIONS, CLI_ONLY, COMPOSITE
from rolewarden.remediation.request import (
    Request,
    answer,
    gate,
    journal_failure,
    refused,
    utc_now,
    who,
)
from rolewarden.remediation.restorer import Restorer
from rolewarden.remediation.runner import ChangeRunner, ResourceBusyError
from rolewarden.rules.model import Finding, Remediation
from rolewarden.settings import Mode, Settings

Step = tuple[Action, dict[str, Any]]

ALREADY_DONE = "already remediated: nothing to change"
HOURLY_CAP = (
    "hourly cap reached ({0.max_remediations_per_hour} automatic remediations, "
    "ROLEWARDEN_MAX_REMEDIATIONS_PER_HOUR): notified, not changed"
)


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
        outcome = Outcome(OutcomeStatus.APPLIED, subject)
        try:
            return self._remediate(finding, request, outcome)
        except JournalError as error:  # what was changed so far stays in the outcome
            return journal_failure(outcome, error)

    def restore(self, journal_id: str, request: Request) -> Outcome:
        restorer = Restorer(self.clients, self.journal, cli=self.cli, now=self.now, poll=self.poll)
        return restorer.restore(journal_id, request, self.settings)

    def runner(self) -> ChangeRunner:
        assert self.journal is not None
        return ChangeRunner(self.clients, self.journal, self.now, self.poll)

    def _remediate(self, finding: Finding, request: Request, outcome: Outcome) -> Outcome:
        reasons = self._cannot(finding, request)
        if reasons:
            return refused(outcome, reasons)
        remediation = finding.remediation
        assert remediation is not None
        steps = self._steps(remediation, request)
        try:
            outcome.plan = self._plan(finding, steps)
        except ActionRefusedError as error:
            return refused(outcome, [str(error)])
        except ActionError as error:
            return answer(outcome, OutcomeStatus.FAILED, [f"planning failed: {error}"])
        if not outcome.plan:
            return answer(outcome, OutcomeStatus.NOTHING_TO_DO, [ALREADY_DONE])
        logger.info("remediation plan", subject=outcome.subject, plan=outcome.as_json()["plan"])
        try:
            force = [*remediation.blockers.force, *self._preflight(outcome.plan)]
        except ActionError as error:  # pre-flights report failed reads as reasons: not this
            return answer(outcome, OutcomeStatus.FAILED, [f"pre-flight failed: {error}"])
        reasons = self._may_not(finding, request, force)
        if reasons:  # the plan still shows what a person could do
            return refused(outcome, reasons)
        allowed = gate(self.settings, self.journal, request)
        if allowed:
            return answer(outcome, *allowed)
        runner = self.runner()
        try:
            with runner.exclusive(finding.resource_arn):
                if request.automatic and not self._within_hourly_cap():
                    count("RemediationsCapped")
                    return refused(outcome, [HOURLY_CAP.format(self.settings)])
                forced = force if request.force else []
                self._apply(runner, finding, steps, request, forced, outcome)
        except ResourceBusyError as error:
            return refused(outcome, [str(error)])
        return outcome

    def _preflight(self, plan: list[Change]) -> list[str]:
        """What the planned changes' pre-flight reads found (once: not again before applying)."""
        return [
            reason
            for change in plan
            for reason in ACTIONS[change.action].preflight(
                self.clients, change, self.settings, self.now()
            )
        ]

    def _plan(self, finding: Finding, steps: list[Step]) -> list[Change]:
        return [
            change
            for action, params in steps
            if (change := action.plan(self.clients, finding.region, params)) is not None
        ]

    def _apply(
        self,
        runner: ChangeRunner,
        finding: Finding,
        steps: list[Step],
        request: Request,
        forced: list[str],
        outcome: Outcome,
    ) -> None:
        """Each step planned again just before it runs: the resource may have moved on."""
        for action, params in steps:
            try:
                change = action.plan(self.clients, finding.region, params)
            except ActionError as error:
                answer(outcome, OutcomeStatus.FAILED, [f"planning failed: {error}"])
                return
            if change is None:
                continue
            entry = runner.entry(
                change,
                **who(request),
                rule=finding.rule,
                finding_id=finding.finding_id,
                resource_arn=finding.resource_arn,
                account=finding.account,
                forced=forced,
            )
            outcome.journal.append(runner.apply(entry))
            if entry.status is Status.FAILED:
                answer(outcome, OutcomeStatus.FAILED, [entry.error or "failed"])
                return  # the rest waits for a person to look at the failure
        if not outcome.journal:  # done by someone else since the plan
            answer(outcome, OutcomeStatus.NOTHING_TO_DO, [ALREADY_DONE])
            return
        count("RemediationsApplied")

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

    def _may_not(self, finding: Finding, request: Request, force: list[str]) -> list[str]:
        """Guards a person may pass (some only with --force); RoleWarden on its own may not.

        `force`: the finding's force guards and what the plan's pre-flight found."""
        assert finding.remediation is not None
        blockers = finding.remediation.blockers
        if not request.automatic:
            if force and not request.force:
                return [f"blocked unless forced (--force): {reason}" for reason in force]
            return []
        if force or blockers.manual:
            return [f"not automatic: {reason}" for reason in (*force, *blockers.manual)]
        if self.journal is not None:
            restore = self.journal.restored_within(
                finding.resource_arn, self.now(), self.settings.restore_grace_hours
            )
            if restore:
                return [
                    f"restored less than {self.settings.restore_grace_hours} hours ago (journal "
                    f"{restore}, ROLEWARDEN_RESTORE_GRACE_HOURS): a person decides"
                ]
        return self._stack_guard(finding)

    def _stack_guard(self, finding: Finding) -> list[str]:
        """CloudFormation does not tag the IAM roles it creates: ask it (when unsure, don't)."""
        try:
            stack = owning_stack(self.clients, finding.region, physical_id(finding))
        except ActionError as error:
            return [f"not automatic: cannot tell whether CloudFormation manages it ({error})"]
        if stack:
            return [
                f"not automatic: managed by CloudFormation stack {stack}: fix the template, or "
                "the stack puts it back"
            ]
        return []

    def _steps(self, remediation: Remediation, request: Request) -> list[Step]:
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

    def _within_hourly_cap(self) -> bool:
        assert self.journal is not None
        cap = HourlyCap(self.journal, self.account, self.settings.max_remediations_per_hour)
        return cap.reserve(self.now())


def _actions_of(remediation: Remediation) -> set[str]:
    if remediation.action == COMPOSITE:
        return {step["action"] for step in remediation.params["steps"]}
    return {remediation.action}
