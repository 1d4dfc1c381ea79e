"""Evidence of application permissions, shaped for a person reading a finding."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from rolewarden.inventory.snapshot import Instance
from rolewarden.policy.catalogue import ActionInfo
from rolewarden.policy.classify import HostReadBeyond, PolicyVerdict, RoleVerdict

# Per service and access level, list at most this many action names.
ACTIONS_SHOWN = 25


def instance_evidence(instance: Instance, **fields: Any) -> dict[str, Any]:
    """Evidence about an instance, naming its Auto Scaling group or launch template if any:
    fixing the instance alone lets the next one launched repeat the fault."""
    evidence = dict(fields)
    if instance.root_cause:
        evidence["root_cause"] = instance.root_cause
    return evidence


def actions_by_service(actions: Iterable[ActionInfo]) -> dict[str, dict[str, Any]]:
    """{"s3": {"Read": {"count": 2, "actions": [...]}, ...}, ...}"""
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for info in actions:
        grouped[info.service][info.access_level].append(info.name)
    return {
        service: {
            level: {"count": len(names), "actions": sorted(names)[:ACTIONS_SHOWN]}
            for level, names in sorted(levels.items())
        }
        for service, levels in sorted(grouped.items())
    }


def policy_evidence(verdict: PolicyVerdict) -> dict[str, Any]:
    """One offending policy: what it grants beyond the baseline, from which statements."""
    own = verdict.policy
    sources = [s for s in verdict.application.sources() if s.policy == own]
    evidence = {
        "policy": own.as_json(),
        "mixed": verdict.mixed,
        "application_action_count": len(verdict.application),
        "baseline_action_count": len(verdict.baseline),
        "granted_by": sorted({source.pattern for source in sources}),
        "resources": sorted({resource for source in sources for resource in source.resources}),
        "conditional": all(source.conditional for source in sources)
        or verdict.application.boundary_conditional,
        "partially_denied_by": sorted(
            {f"{n.policy.name}/{n.statement}" for n in verdict.application.partial_denies()}
        ),
        "critical": verdict.critical,
        "actions": actions_by_service(verdict.application.infos()),
    }
    if verdict.baseline and not verdict.baseline_by_identity:
        evidence["baseline_grants"] = baseline_scope(verdict)
    if verdict.beyond_host:
        evidence["beyond_host_needs"] = [beyond_host_needs(read) for read in verdict.beyond_host]
    if verdict.role_grants:
        evidence["role_grants"] = [grant.as_json() for grant in verdict.role_grants]
    return evidence


def beyond_host_needs(read: HostReadBeyond) -> str:
    """Why a read the baseline knows is an application permission here."""
    where = ", ".join(read.resources)
    what = (
        "reads every parameter, the application's included"
        if "*" in read.resources or any(r.startswith("NotResource:") for r in read.resources)
        else "reads application parameters"
    )
    return f"{read.action} on {where} {what}; a host needs only {', '.join(read.host_needs)}"


def baseline_scope(verdict: PolicyVerdict) -> dict[str, list[str]]:
    """Baseline actions a customer policy grants, with their resources (logs on one log
    group, image pulls on every repository)."""
    return {
        grant.info.name: sorted(
            {r for s in grant.sources if s.policy == verdict.policy for r in s.resources}
        )
        for grant in verdict.baseline
    }


def services_of(verdict: RoleVerdict) -> list[str]:
    return sorted(
        {info.service for policy in verdict.offending for info in policy.application.infos()}
    )


def application_summary(verdict: RoleVerdict) -> dict[str, Any]:
    """A compact view of a role's application actions (for a task reaching them via IMDS)."""
    actions = {
        info.name: info for policy in verdict.offending for info in policy.application.infos()
    }
    return {
        "application_action_count": len(actions),
        "services": services_of(verdict),
        "critical": verdict.critical,
        "actions": actions_by_service(actions.values()),
    }
