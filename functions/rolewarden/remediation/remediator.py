"""Remediate one finding, or restore one journal entry, with every guard of design.md.

Order matters: refuse what may not be changed, plan (read only), refuse what the guards
forbid (showing the plan), stop for a plan or a dry run, require the journal, take the
resource's lock, charge the caps, then for each step: plan it again, journal it with the
state before, apply, read back until it shows, and record the verdict (runner.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rolewarden.aws.clients import AwsClients
from rolewarden.observability import count, logger
from rolewarden.remediation.account_guards import AccountGuards
from rolewarden.remediation.caps import HourlyCap
from rolewarden.remediation.change import Action, ActionError, ActionRefusedError, Change, Poll
from rolewarden.remediation.journal import Journal, JournalError, Status
from rolewarden.remediation.outcome import Outcome, OutcomeStatus, Subject
from rolewarden.remediation.params import ActionParams, ParamsError, StepsProposal
from rolewarden.remediation.registry import ACTIONS, CLI_ONLY, COMPOSITE
from rolewarden.remediation.request import (
    Request,
    answer,
    entry_fields,
    gate,
    journal_failure,
    refused,
    utc_now,
)
from rolewarden.remediation.restorer import Restorer
from rolewarden.remediation.runner import ChangeRunner, ResourceBusyError
from rolewarden.rules.model import Blockers, Finding, Remediation
from rolewarden.rules.modes import Mode
from rolewarden.settings import Settings

Step = tuple[Action[Any], ActionParams]

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
        regions: Sequence[str] = (),
    ) -> None:
        self.clients = clients
        self.settings = settings
        self.journal = journal
        self.account = account
        self.cli = cli  # a person's own credentials: may run the CLI-only actions
        self.now = now
        self.poll = poll or Poll()
        home = [clients.home_region] if clients.home_region else []
        covered = list(regions or settings.regions or home)
        skip = settings.rule_context().skip_document
        self.account_guards = AccountGuards(clients, covered, account, skip)

    def remediate(self, finding: Finding, request: Request) -> Outcome:
        subject = Subject(
            finding_id=finding.finding_id, rule=finding.rule, resource_arn=finding.resource_arn
        )
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
        try:
            steps = self._steps(remediation, request)
            outcome.plan = self._plan(finding, steps)
        except (ParamsError, ActionRefusedError) as error:
            return refused(outcome, [str(error)])
        except ActionError as error:
            return answer(outcome, OutcomeStatus.FAILED, [f"planning failed: {error}"])
        if not outcome.plan:
            return answer(outcome, OutcomeStatus.NOTHING_TO_DO, [ALREADY_DONE])
        shown = outcome.as_json()
        logger.info("remediation plan", subject=outcome.subject.as_json(), plan=shown["plan"])
        try:
            preflight = self._preflight(outcome.plan)
        except ActionError as error:  # pre-flights report failed reads as reasons: not this
            return answer(outcome, OutcomeStatus.FAILED, [f"pre-flight failed: {error}"])
        blockers = self._blockers(finding)
        force = [*blockers.force, *preflight]
        reasons, notes = self._may_not(finding, request, force, blockers.manual)
        if reasons:  # the plan still shows what a person could do
            return refused(outcome, reasons + notes)
        held = gate(self.settings, self.journal, request)
        if held:  # a person sees every reason before --apply
            return held.answer(outcome, notes)
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
            entry = runner.entry(change, **entry_fields(request, finding, forced))
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
        try:
            offered = _actions_of(remediation)
        except ParamsError as error:
            return [str(error)]
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

    def _may_not(
        self, finding: Finding, request: Request, force: list[str], manual: Sequence[str]
    ) -> tuple[list[str], list[str]]:
        """Guards a person may pass (some only with --force); RoleWarden on its own may not.

        `force`: the guards (`_blockers`) and what the plan's pre-flight found that only
        --force passes; `manual`: those that leave it to a person. (refusals, notes): a
        person who may go ahead still sees every reason RoleWarden knows, in the plan and
        the refusal (what was forced is in the journal)."""
        if not request.automatic:
            if force and not request.force:
                refusals = [f"blocked unless forced (--force): {reason}" for reason in force]
                return refusals, _decides(manual)
            forced = [f"forced (--force): {reason}" for reason in force]
            return [], forced + _decides(manual)
        if force or manual:
            return [f"not automatic: {reason}" for reason in (*force, *manual)], []
        if self.journal is not None:
            restore = self.journal.restored_within(
                finding.resource_arn, self.now(), self.settings.restore_grace_hours
            )
            if restore:
                return [
                    f"restored less than {self.settings.restore_grace_hours} hours ago (journal "
                    f"{restore}, ROLEWARDEN_RESTORE_GRACE_HOURS): a person decides"
                ], []
        return [], []

    def _blockers(self, finding: Finding) -> Blockers:
        """The finding's guards, and what the account shows now beyond its snapshot (other
        regions, stacks, protected profiles): the one place every guard is gathered."""
        assert finding.remediation is not None
        found = finding.remediation.blockers
        live = self.account_guards.of(finding)
        _warn_typos([*found.never, *found.manual, *live.manual], finding)
        return Blockers(
            never=found.never,
            force=tuple(dict.fromkeys([*found.force, *live.force])),
            manual=tuple(dict.fromkeys([*found.manual, *live.manual])),
        )

    def _steps(self, remediation: Remediation, request: Request) -> list[Step]:
        """The proposal's steps, each action's params parsed (ParamsError: malformed)."""
        params = dict(remediation.params)
        if remediation.action == COMPOSITE:
            proposal = StepsProposal.of(remediation)
            proposed = [
                (ACTIONS[step.action], step.params(proposal.role_name)) for step in proposal.steps
            ]
        else:
            if request.task_role_arn:
                params["task_role_arn"] = request.task_role_arn
            params["update_service"] = request.update_service
            proposed = [(ACTIONS[remediation.action], params)]
        return [
            (action, action.parse(raw))
            for action, raw in proposed
            if request.action in (None, action.name)
        ]

    def _within_hourly_cap(self) -> bool:
        assert self.journal is not None
        cap = HourlyCap(self.journal, self.account, self.settings.max_remediations_per_hour)
        return cap.reserve(self.now())


def _decides(reasons: Sequence[str]) -> list[str]:
    return [f"a person decides: {reason}" for reason in reasons]


def _warn_typos(reasons: Sequence[str], finding: Finding) -> None:
    typos = [reason for reason in reasons if "probable typo" in reason]
    if typos:
        logger.warning("probable typo of a guard tag", subject=finding.resource_arn, reasons=typos)


def _actions_of(remediation: Remediation) -> set[str]:
    """The actions a proposal is made of (ParamsError: a malformed or unknown one)."""
    offered = (
        StepsProposal.of(remediation).actions()
        if remediation.action == COMPOSITE
        else {remediation.action}
    )
    unknown = sorted(offered - ACTIONS.keys())
    if unknown:
        raise ParamsError(
            f"{remediation.action}: unknown action {', '.join(unknown)}: nothing is changed"
        )
    return offered
