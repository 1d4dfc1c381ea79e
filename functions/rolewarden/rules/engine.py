"""Run rules over a snapshot: apply exemptions, turn violations into findings."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rolewarden.inventory.snapshot import Snapshot
from rolewarden.rules.context import RuleContext
from rolewarden.rules.exemptions import ExemptionStatus, exemption_of
from rolewarden.rules.model import Compliance, Evaluation, Finding, Resource
from rolewarden.rules.registry import REGISTRY


@dataclass(frozen=True)
class ExemptResource:
    rule: str
    resource_type: str
    resource_arn: str
    until: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "resource_type": self.resource_type,
            "resource_arn": self.resource_arn,
            "until": self.until,
            "reason": self.reason,
        }


@dataclass
class RuleRun:
    evaluations: list[Evaluation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    exempt: list[ExemptResource] = field(default_factory=list)
    examined: set[tuple[str, str]] = field(default_factory=set)  # (resource type, ARN)


def run_rules(snapshot: Snapshot, context: RuleContext, rule_ids: Iterable[str]) -> RuleRun:
    run = RuleRun()
    for rule_id in rule_ids:
        for raw in REGISTRY[rule_id].evaluate(snapshot, context):
            in_scope = raw.compliance is not Compliance.NOT_APPLICABLE
            evaluation = _apply_exemption(raw, context, run) if in_scope else raw
            run.evaluations.append(evaluation)
            if in_scope:
                run.examined.add((evaluation.resource.type, evaluation.resource.arn))
            if evaluation.violation is not None:
                run.findings.append(_finding(snapshot, evaluation))
    return run


def _apply_exemption(evaluation: Evaluation, context: RuleContext, run: RuleRun) -> Evaluation:
    """An exemption suppresses a violation: the resource is NOT_APPLICABLE and listed as an
    accepted risk. A compliant resource has no risk to accept and stays COMPLIANT. An
    exemption that does not count (or covers other rules only) is the finding's evidence."""
    if evaluation.violation is None:
        return evaluation
    exemption = exemption_of(
        evaluation.resource.tags, context.today, context.max_exemption_days
    ).for_rule(evaluation.rule)
    if exemption.exempts:
        assert exemption.until is not None and exemption.reason is not None
        run.exempt.append(
            ExemptResource(
                evaluation.rule,
                evaluation.resource.type,
                evaluation.resource.arn,
                exemption.until,
                exemption.reason,
            )
        )
        return Evaluation.not_applicable(
            evaluation.rule,
            evaluation.resource,
            f"exempt until {exemption.until}: {exemption.reason}",
        )
    if exemption.status is ExemptionStatus.NONE:
        return evaluation
    evidence: dict[str, Any] = {**evaluation.violation.evidence, "exemption": exemption.as_json()}
    violation = dataclasses.replace(evaluation.violation, evidence=evidence)
    return Evaluation.non_compliant(evaluation.rule, evaluation.resource, violation)


def _finding(snapshot: Snapshot, evaluation: Evaluation) -> Finding:
    violation = evaluation.violation
    assert violation is not None
    resource: Resource = evaluation.resource
    return Finding(
        rule=evaluation.rule,
        severity=violation.severity,
        account=snapshot.account,
        region=snapshot.region,
        resource_type=resource.type,
        resource_id=resource.id,
        resource_arn=resource.arn,
        title=violation.title,
        evidence=violation.evidence,
        remediation=violation.remediation,
    )
