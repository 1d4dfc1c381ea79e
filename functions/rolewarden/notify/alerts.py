"""Where findings, exemption changes and remediations go once known: logged and counted,
and, when new, announced on every configured channel.

Without a findings table every finding counts as new (nothing to de-duplicate against);
when the table fails, the findings are announced rather than lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rolewarden.evaluation.cloudtrail import ExemptionChange
from rolewarden.notify.findings_state import FindingsState, FindingsStateError
from rolewarden.notify.messages import (
    digest_notice,
    exemption_notice,
    finding_notice,
    remediation_notice,
)
from rolewarden.notify.notifier import Notifier
from rolewarden.observability import count, count_findings, logger
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.rules.model import Finding

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

    def findings(self, findings: Sequence[Finding], trigger: str) -> list[Finding]:
        """Logs and counts them all; announces, and returns, the new ones."""
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
        new = self._new(findings)
        self.notifier.send(finding_notice(finding, trigger) for finding in new)
        return new

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
                event_name=change.event_name,
            )
        self.notifier.send(exemption_notice(change, account, region) for change in changes)

    def remediations(self, outcomes: Iterable[Outcome], account: str, region: str) -> None:
        self.notifier.send(
            remediation_notice(outcome, account, region)
            for outcome in outcomes
            if outcome.status in ANNOUNCED_OUTCOMES
        )

    def digest(
        self,
        summary: dict[str, Any],
        findings: Sequence[Finding],
        new: list[Finding],
        rules: Sequence[str],
    ) -> list[str]:
        """The sweep's digest; the findings it no longer sees are resolved first."""
        resolved: list[str] = []
        if self.state is not None:
            seen = {finding.finding_id for finding in findings}
            try:
                resolved = self.state.resolve_missing(seen, rules, summary["regions"], self.now())
            except FindingsStateError as error:
                count("FindingsStateErrors")
                logger.error("findings state unavailable", error=str(error))
        self.notifier.send([digest_notice(summary, new, resolved)])
        return resolved

    def _new(self, findings: Sequence[Finding]) -> list[Finding]:
        if self.state is None or not findings:
            return list(findings)
        try:
            return self.state.record(findings, self.now(), self.dedup_hours)
        except FindingsStateError as error:
            count("FindingsStateErrors")
            logger.error("findings state unavailable", error=str(error))
            return list(findings)
