"""What rules produce: evaluations of resources, and findings for the non-compliant ones."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rolewarden.inventory.snapshot import Snapshot
    from rolewarden.rules.context import RuleContext


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"critical": 4, "high": 3, "medium": 2, "low": 1}[self.value]


class Compliance(StrEnum):
    COMPLIANT = "COMPLIANT"
    NON_COMPLIANT = "NON_COMPLIANT"
    NOT_APPLICABLE = "NOT_APPLICABLE"


@dataclass(frozen=True)
class Resource:
    type: str
    id: str
    arn: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Blockers:
    """Why a remediation may not run on its own, by how far a person can override it.

    `never`: not changed at all; `force`: only a person passing --force (journaled);
    `manual`: not automatically, but a person may apply it.
    """

    never: tuple[str, ...] = ()
    force: tuple[str, ...] = ()
    manual: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        return (*self.never, *self.force, *self.manual)


@dataclass(frozen=True)
class Remediation:
    action: str
    automatic: bool
    params: Mapping[str, Any]
    blockers: Blockers = Blockers()

    @property
    def blocked_by(self) -> tuple[str, ...]:
        return self.blockers.reasons

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "automatic": self.automatic,
            "params": dict(self.params),
            "blocked_by": list(self.blocked_by),
        }


@dataclass(frozen=True)
class Violation:
    severity: Severity
    title: str
    evidence: Mapping[str, Any]
    remediation: Remediation | None


@dataclass(frozen=True)
class Evaluation:
    """One rule's verdict on one resource (what AWS Config is told)."""

    rule: str
    resource: Resource
    compliance: Compliance
    annotation: str = ""
    violation: Violation | None = None

    @classmethod
    def compliant(cls, rule: str, resource: Resource, annotation: str = "") -> Evaluation:
        return cls(rule, resource, Compliance.COMPLIANT, annotation)

    @classmethod
    def not_applicable(cls, rule: str, resource: Resource, annotation: str) -> Evaluation:
        return cls(rule, resource, Compliance.NOT_APPLICABLE, annotation)

    @classmethod
    def non_compliant(cls, rule: str, resource: Resource, violation: Violation) -> Evaluation:
        return cls(rule, resource, Compliance.NON_COMPLIANT, violation.title, violation)


@dataclass(frozen=True)
class Rule:
    id: str
    resource_type: str
    default_severity: Severity
    evaluate: Callable[[Snapshot, RuleContext], Iterator[Evaluation]]
    visible_to_config: bool = True
    # IAM is global: the rule's resources are judged once per account, not per region.
    global_resource: bool = False


def finding_id(rule: str, resource_arn: str) -> str:
    return hashlib.sha256(f"{rule}|{resource_arn}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    account: str
    region: str
    resource_type: str
    resource_id: str
    resource_arn: str
    title: str
    evidence: Mapping[str, Any]
    remediation: Remediation | None
    status: str = Compliance.NON_COMPLIANT.value

    @property
    def finding_id(self) -> str:
        return finding_id(self.rule, self.resource_arn)

    def as_json(self) -> dict[str, Any]:
        return {
            "finding_id": self.finding_id,
            "rule": self.rule,
            "severity": self.severity.value,
            "status": self.status,
            "account": self.account,
            "region": self.region,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "resource_arn": self.resource_arn,
            "title": self.title,
            "evidence": dict(self.evidence),
            "remediation": self.remediation.as_json() if self.remediation else None,
        }
