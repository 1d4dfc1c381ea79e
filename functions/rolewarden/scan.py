"""A scan: read an account's inventory in each region, run the rules, summarise.

Shared by the CLI and (later) the sweep function. IAM is global: it is read once
and shared by every region's snapshot; a role's finding appears once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import boto3

from rolewarden.inventory.aws import AwsClients
from rolewarden.inventory.build import build_snapshot, read_account_iam
from rolewarden.inventory.snapshot import ScanError
from rolewarden.rules.context import RuleContext
from rolewarden.rules.engine import ExemptResource, run_rules
from rolewarden.rules.model import Finding, Severity
from rolewarden.settings import Settings


@dataclass
class ScanResult:
    account: str
    regions: list[str]
    rules: list[str]
    findings: list[Finding] = field(default_factory=list)
    exempt: list[ExemptResource] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    examined: Counter[str] = field(default_factory=Counter)
    api_calls: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        by_severity = Counter(finding.severity.value for finding in self.findings)
        return {
            "account": self.account,
            "regions": self.regions,
            "rules": self.rules,
            "findings": len(self.findings),
            "findings_by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
            "findings_by_rule": dict(sorted(Counter(f.rule for f in self.findings).items())),
            "resources_examined": dict(sorted(self.examined.items())),
            "exempt": [item.as_json() for item in self.exempt],
            "scan_errors": [error.as_json() for error in self.errors],
            "api_calls": self.api_calls,
            "api_calls_total": sum(self.api_calls.values()),
        }

    def as_json(self) -> dict[str, Any]:
        return {"findings": [f.as_json() for f in self.findings], "summary": self.summary()}


def scan_account(
    session: boto3.Session,
    regions: Sequence[str],
    settings: Settings,
    rule_ids: Sequence[str],
    today: date | None = None,
) -> ScanResult:
    clients = AwsClients(session)
    account, partition = clients.account_and_partition()
    context = RuleContext.from_settings(settings, today)
    iam = read_account_iam(clients, context.skip_document)
    result = ScanResult(account=account, regions=list(regions), rules=list(rule_ids))
    regional_errors: list[ScanError] = []
    examined: set[tuple[str, str]] = set()
    seen: dict[str, Finding] = {}
    exempt: dict[tuple[str, str], ExemptResource] = {}
    for region in regions:
        snapshot = build_snapshot(clients, region, account, partition, iam, context.skip_document)
        run = run_rules(snapshot, context, rule_ids)
        for finding in run.findings:
            seen.setdefault(finding.finding_id, finding)  # a global role: reported once
        for item in run.exempt:
            exempt.setdefault((item.rule, item.resource_arn), item)
        examined |= run.examined
        regional_errors += [error for error in snapshot.errors if error not in regional_errors]
    result.findings = sorted(
        seen.values(), key=lambda f: (-f.severity.rank, f.rule, f.region, f.resource_id)
    )
    result.exempt = list(exempt.values())
    result.examined = Counter(resource_type for resource_type, _arn in examined)
    result.errors = [*iam.errors, *regional_errors]
    result.api_calls = clients.counter.per_service()
    return result
