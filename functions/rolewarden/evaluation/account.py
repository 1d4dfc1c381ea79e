"""A scan: read an account's inventory in each region, run the rules, summarise.

Shared by the CLI and (later) the sweep function. IAM is global: it is read once
and shared by every region's snapshot. Rules about global resources (IAM roles) run
once, over all regions' instances and tasks together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import boto3

from rolewarden.aws.clients import AwsClients
from rolewarden.inventory.build import read_account
from rolewarden.inventory.snapshot import ScanError, Snapshot
from rolewarden.rules.context import RuleContext
from rolewarden.rules.engine import ExemptResource, RuleRun, run_rules
from rolewarden.rules.model import Finding, Severity
from rolewarden.rules.registry import REGISTRY
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


@dataclass
class AccountRun:
    runs: list[RuleRun]
    errors: list[ScanError]


def evaluate_account(
    clients: AwsClients,
    account: str,
    partition: str,
    regions: Sequence[str],
    context: RuleContext,
    rule_ids: Sequence[str],
) -> AccountRun:
    """Read the account in each region and run the rules: regional rules per region, rules
    about global resources once over every region (a role's hosts may be in any of them)."""
    iam, snapshots = read_account(clients, account, partition, regions, context.skip_document)
    regional = [rule for rule in rule_ids if not REGISTRY[rule].global_resource]
    account_wide = [rule for rule in rule_ids if REGISTRY[rule].global_resource]
    runs = [run_rules(snapshot, context, regional) for snapshot in snapshots]
    if account_wide and snapshots:
        runs.append(run_rules(Snapshot.combine(snapshots), context, account_wide))
    errors = [*iam.errors, *(error for snapshot in snapshots for error in snapshot.errors)]
    return AccountRun(runs, errors)


def scan_account(
    session: boto3.Session,
    regions: Sequence[str],
    settings: Settings,
    rule_ids: Sequence[str],
    today: date | None = None,
) -> ScanResult:
    clients = AwsClients(session, home_region=regions[0] if regions else None)
    account, partition = clients.account_and_partition()
    context = settings.rule_context(today)
    evaluated = evaluate_account(clients, account, partition, regions, context, rule_ids)
    runs = evaluated.runs

    result = ScanResult(account=account, regions=list(regions), rules=list(rule_ids))
    result.findings = sorted(
        (finding for run in runs for finding in run.findings),
        key=lambda f: (-f.severity.rank, f.rule, f.region, f.resource_id),
    )
    exempt = {(item.rule, item.resource_arn): item for run in runs for item in run.exempt}
    result.exempt = list(exempt.values())
    examined = {item for run in runs for item in run.examined}
    result.examined = Counter(resource_type for resource_type, _arn in examined)
    result.errors = evaluated.errors
    result.api_calls = clients.counter.per_service()
    return result
