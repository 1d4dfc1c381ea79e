"""Where findings go once evaluated: the notifier and remediator fill this in later.

For now findings and exemption changes are logged (structured) and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rolewarden.evaluation.cloudtrail import ExemptionChange
from rolewarden.observability import count, count_findings, logger
from rolewarden.rules.model import Finding


class FindingSink(Protocol):
    def findings(self, findings: Sequence[Finding], trigger: str) -> None: ...

    def exemption_changes(self, changes: Sequence[ExemptionChange]) -> None: ...


class LoggingSink:
    def findings(self, findings: Sequence[Finding], trigger: str) -> None:
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

    def exemption_changes(self, changes: Sequence[ExemptionChange]) -> None:
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
