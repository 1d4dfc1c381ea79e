"""Where findings, exemption changes and remediations go once known: logged and counted,
and, when new, announced on every configured channel.

Without a findings table every finding counts as new (nothing to de-duplicate against);
when the table fails, the findings are announced rather than lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rolewarden.notify.findings_state import Due, FindingsState, FindingsStateError
from rolewarden.notify.messages import (
    digest_notice,
    exemption_notice,
    finding_notice,
    remediation_notice,
)
from rolewarden.notify.notifier import Notifier
from rolewarden.observability import count, logger
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.rules.model import Compliance, Evaluation, Finding, finding_id
from rolewarden.rules.registry import REGISTRY

if TYPE_CHECKING:  # the event models and the scan: only their functions need them loaded
    from rolewarden.evaluation.account import ScanResult
    from rolewarden.evaluation.cloudtrail import ExemptionChange

# Outcomes worth a message: a change made, failed or undone (refusals are in the finding).
ANNOUNCED_OUTCOMES = (OutcomeStatus.APPLIED, OutcomeStatus.FAILED, OutcomeStatus.RESTORED)


def utc_now() -> datetime:
    return datetime.now(UTC)


class AlertSink:
    def __init__(
        self,
        notifier: Notifier,
        state: FindingsState | None,
        dedup_hours: int,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.notifier = notifier
        self.state = state
        self.dedup_hours = dedup_hours
        self.now = now

    def findings(self, findings: Sequence[Finding], trigger: str, limit: int | None = None) -> Due:
        """Logs and counts them all; announces those due, the most severe first (at most
        `limit`); only what a channel received is marked announced."""
        count_findings(findings)
        for finding in findings:
            logger.warning(
                "finding",
                trigger=trigger,
                finding_id=finding.finding_id,
                rule=finding.rule,
                severity=finding.severity.value,
                resource_arn=finding.resource_arn,
                title=finding.title,
            )
        due = self._due(findings)
        ranked = sorted(due.all, key=lambda finding: -finding.severity.rank)
        sent = ranked if limit is None else ranked[:limit]
        due.held_back = len(ranked) - len(sent)
        delivered = self.notifier.deliver([finding_notice(finding, trigger) for finding in sent])
        announced = [finding.finding_id for finding, ok in zip(sent, delivered, strict=True) if ok]
        self._state_call(lambda state: state.announced(announced, self.now()))
        return due

    def resolved(self, evaluations: Iterable[Evaluation]) -> None:
        """Resources judged compliant, exempt or out of scope: their findings are resolved."""
        ids = [
            finding_id(evaluation.rule, evaluation.resource.arn)
            for evaluation in evaluations
            if evaluation.compliance is not Compliance.NON_COMPLIANT
        ]
        self._state_call(lambda state: state.resolve(ids, self.now()))

    def exemption_changes(
        self, changes: Sequence[ExemptionChange], account: str, region: str
    ) -> None:
        for change in changes:
            count("ExemptionChanges")
            logger.warning(
                "exemption changed",
                change=change.change,
                resource=change.resource,
                actor=change.actor,
                until=change.until,
                reason=change.reason,
                rules=list(change.rules) if change.rules is not None else None,
                tags=list(change.tags),
                event_name=change.event_name,
            )
        self.notifier.send(exemption_notice(change, account, region) for change in changes)

    def remediations(
        self, outcomes: Iterable[Outcome], account: str, region: str, *, automatic: bool = False
    ) -> None:
        """Changes made, failed or undone; for RoleWarden's own requests, refusals too (the
        finding said it would act)."""
        worth = (*ANNOUNCED_OUTCOMES, OutcomeStatus.REFUSED) if automatic else ANNOUNCED_OUTCOMES
        outcomes = [outcome for outcome in outcomes if outcome.status in worth]
        self.notifier.send(remediation_notice(outcome, account, region) for outcome in outcomes)
        fixed = [
            finding_id
            for outcome in outcomes
            if outcome.status is OutcomeStatus.APPLIED
            and (finding_id := outcome.subject.finding_id) is not None
        ]
        self._state_call(lambda state: state.resolve(fixed, self.now()))

    def digest(self, result: ScanResult, due: Due) -> list[str]:
        """The sweep's digest. What it no longer sees is resolved first, but only where it
        read everything: a region it could not read proves nothing."""
        seen = {finding.finding_id for finding in result.findings}
        failed = {error.region for error in result.errors}
        complete = [region for region in result.regions if region not in failed]
        read = {
            # a role's finding depends on every region's hosts: all read, or none
            rule: [] if REGISTRY[rule].global_resource and failed else complete
            for rule in result.rules
        }
        resolved: list[str] = []
        self._state_call(
            lambda state: resolved.extend(state.resolve_missing(seen, read, self.now()))
        )
        self.notifier.send([digest_notice(result.summary(), due, sorted(resolved))])
        return sorted(resolved)

    def _due(self, findings: Sequence[Finding]) -> Due:
        if self.state is None or not findings:
            return Due(new=list(findings))
        try:
            return self.state.record(findings, self.now(), self.dedup_hours)
        except FindingsStateError as error:
            self._state_failed(error)
            return Due(new=list(findings))  # announced rather than lost

    def _state_call(self, call: Callable[[FindingsState], object]) -> None:
        if self.state is None:
            return
        try:
            call(self.state)
        except FindingsStateError as error:
            self._state_failed(error)

    @staticmethod
    def _state_failed(error: FindingsStateError) -> None:
        count("FindingsStateErrors")
        logger.error("findings state unavailable", error=str(error))


def count_findings(findings: Sequence[Finding]) -> None:
    """Findings by rule and by severity (one metric each, so dashboards can slice)."""
    count("Findings", len(findings))
    for rule, number in Counter(finding.rule for finding in findings).items():
        count(f"Findings.{rule}", number)
    for severity, number in Counter(finding.severity.value for finding in findings).items():
        count(f"Findings.{severity}", number)
