"""ecs-host-imds-exposed: no container on an ECS container instance can reach its IMDS.

What may run on a host: its running tasks, and the services of its clusters that ECS may
place there (launch type EC2, a capacity provider strategy that is not Fargate-only, or
neither; a task definition EC2 can run). Placement constraints are not read: such a
service may land on any host of its cluster. Reachability is `imds_reachability`, as for
ecs-task-without-task-role (see `host_exposures`).
Scenarios:
  1. A container instance allows IMDSv1 (HttpTokens=optional) -> NON_COMPLIANT, medium:
     bridge-mode containers reach IMDS; enforce-imdsv2 closes it.
  2. A container instance has a hop limit above 1 (containers can reach IMDS) -> the same.
  3. IMDSv2 required with hop limit 1 and no awsvpc or host-network task or service, or
     the endpoint disabled -> COMPLIANT.
  4. The instance is not an ECS container instance -> NOT_APPLICABLE.
  5. The host runs bridge-mode tasks without a task role: enforcing IMDSv2 would cut
     them off from the only credentials they have -> blocked unless forced (and forced,
     hop limit 2 keeps them working as long as they use IMDSv2: scenario 10).
  6. awsvpc tasks run or may run on the host and its user data does not set
     ECS_AWSVPC_BLOCK_IMDS=true (or could not be read: assumed, and the evidence says so)
     -> NON_COMPLIANT whatever the hop limit, naming them; with the setting -> COMPLIANT.
  7. host-network tasks run or may run on the host -> NON_COMPLIANT: no setting of the host
     closes it; their task definitions move to awsvpc or bridge mode.
  8. Only awsvpc or host-network exposures -> no remediation (enforce-imdsv2 does not stop
     them); with the IMDS options too, enforce-imdsv2 says what it leaves open.
  9. On an otherwise compliant host, a task or service whose task definition was not read,
     or workloads of its clusters that could not be read -> no verdict (a scan error says
     why) unless its metadata endpoint is disabled; on an exposed host the evidence lists
     them.
  10. The hop limit proposed is the one the host's workloads allow: 1, unless a bridge-mode
     task or service without a task role runs or may run there (it gets the host's
     credentials from IMDS, one network hop away from its container): then 2, which keeps
     it working with IMDSv2. The proposal and the plan say why.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rolewarden.inventory.snapshot import Instance, Service, Snapshot, Task
from rolewarden.rules.context import RuleContext
from rolewarden.rules.evidence import instance_evidence
from rolewarden.rules.guards import resource_guards
from rolewarden.rules.host_exposures import (
    AWSVPC,
    HOST,
    NO_NETWORK,
    Exposure,
    host_exposures,
    label,
)
from rolewarden.rules.ids import ECS_HOST_IMDS_EXPOSED as RULE_ID
from rolewarden.rules.model import Evaluation, Remediation, Rule, Severity, Violation
from rolewarden.rules.resources import EC2_INSTANCE, instance_resource

ACTION = "enforce-imdsv2"
LEFT_OPEN = {AWSVPC: "awsvpc tasks", HOST: "host-network tasks"}


def evaluate(snapshot: Snapshot, context: RuleContext) -> Iterator[Evaluation]:
    hosts = snapshot.ecs_host_instance_ids()
    for instance in snapshot.instances.values():
        resource = instance_resource(instance)
        if instance.instance_id not in hosts:
            if not snapshot.ecs_membership_known:
                continue  # an ECS read failed (a scan error says so): it may be a host
            yield Evaluation.not_applicable(RULE_ID, resource, "not an ECS container instance")
            continue
        found = host_exposures(snapshot, instance)
        unreadable = snapshot.unreadable_workloads(
            snapshot.clusters_of_instance(instance.instance_id)
        )
        if not found.exposures:
            unknown = found.not_read or unreadable
            if not unknown or instance.metadata.endpoint == "disabled":
                yield Evaluation.compliant(RULE_ID, resource, "IMDSv2 required with hop limit 1")
            continue  # what may run there is not known: no verdict
        yield Evaluation.non_compliant(
            RULE_ID,
            resource,
            _violation(snapshot, context, instance, found.exposures, found.not_read, unreadable),
        )


def _violation(
    snapshot: Snapshot,
    context: RuleContext,
    instance: Instance,
    exposures: Sequence[Exposure],
    not_read: list[str],
    unreadable: list[str],
) -> Violation:
    problems = [problem for exposure in exposures for problem in _problems(instance, exposure)]
    evidence: dict[str, Any] = {
        "metadata_options": instance.metadata.as_json(),
        "problems": problems,
        "exposures": [exposure.as_json() for exposure in exposures],
    }
    if not_read or unreadable:
        evidence["not_read"] = [*not_read, *(f"{name}: tasks or services" for name in unreadable)]
    return Violation(
        severity=Severity.MEDIUM,
        title=f"ECS host {instance.instance_id} {_joined(problems)}",
        evidence=instance_evidence(
            instance,
            **evidence,
            clusters=sorted(snapshot.clusters_of_instance(instance.instance_id)),
        ),
        remediation=_enforce_imdsv2(snapshot, context, instance, exposures, unreadable),
    )


def _problems(instance: Instance, exposure: Exposure) -> list[str]:
    if exposure.network_mode == AWSVPC:
        unsure = instance.ecs_agent_settings is None
        return [("may let" if unsure else "lets") + " awsvpc tasks reach IMDS"]
    if exposure.network_mode == HOST:
        return ["lets host-network tasks reach IMDS"]
    problems = []
    if instance.metadata.http_tokens != "required":
        problems.append("allows IMDSv1")
    if instance.metadata.hop_limit > 1:
        problems.append(f"has IMDS hop limit {instance.metadata.hop_limit}")
    return problems


def _enforce_imdsv2(
    snapshot: Snapshot,
    context: RuleContext,
    instance: Instance,
    exposures: Sequence[Exposure],
    unreadable: list[str],
) -> Remediation | None:
    """Only the metadata options' exposure is closed by it; none, when that is not one."""
    if not any(exposure.closed_by_metadata_options for exposure in exposures):
        return None
    guards = resource_guards(instance.tags)
    if unreadable:
        guards.force.append(
            "outage guard: the tasks on this host could not be read (" + ", ".join(unreadable) + ")"
        )
    dependent = _bridge_tasks_without_role(snapshot, instance)
    if dependent:
        guards.force.append(
            "outage guard: bridge-mode tasks without a task role use this host's credentials: "
            + ", ".join(dependent)
            + "; give their task definitions a task role first"
        )
    hop_limit, why = _hop_limit(snapshot, instance)
    params: dict[str, Any] = {
        "instance_id": instance.instance_id,
        "http_tokens": "required",
        "hop_limit": hop_limit,
        "hop_limit_reason": why,
        "previous": instance.metadata.as_json(),
    }
    left_open = [LEFT_OPEN[e.network_mode] for e in exposures if not e.closed_by_metadata_options]
    if left_open:
        params["leaves_open"] = " and ".join(left_open) + " still reach IMDS"
    return Remediation(
        action=ACTION,
        automatic=guards.allow_automatic and context.remediates(RULE_ID),
        params=params,
        blockers=guards.freeze(),
    )


def _hop_limit(snapshot: Snapshot, instance: Instance) -> tuple[int, str]:
    """1 shuts bridge containers out of IMDS; 2 when one relies on the host's credentials.

    awsvpc and host-network tasks reach IMDS whatever the hop limit: they need no more."""
    needing = sorted(
        label(workload)
        for workload in snapshot.workloads_of_instance(instance.instance_id)
        if snapshot.network_mode_of(workload) not in (AWSVPC, HOST, NO_NETWORK)
        and not _has_task_role(snapshot, workload)
    )
    if not needing:
        return 1, (
            "hop limit 1: no bridge-mode task or service without a task role runs or may run "
            "here, so no container needs the host's IMDS"
        )
    return 2, (
        f"hop limit 2, not 1: {', '.join(needing)} without a task role get the host's "
        "credentials from IMDS, one hop away from their container (bridge mode, or a task "
        "definition not read); give them a task role, then enforce again for hop limit 1"
    )


def _has_task_role(snapshot: Snapshot, workload: Task | Service) -> bool:
    """An unread task definition may have none."""
    if isinstance(workload, Task):
        return snapshot.effective_task_role(workload) is not None
    definition = snapshot.revision(workload.task_definition_arn)
    return definition is not None and definition.task_role_arn is not None


def _bridge_tasks_without_role(snapshot: Snapshot, instance: Instance) -> list[str]:
    """An unread task definition counts as bridge mode: it may be."""
    return sorted(
        label(task)
        for task in snapshot.tasks_on_instance(instance.instance_id)
        if snapshot.network_mode_of(task) in ("bridge", None)
        and not snapshot.effective_task_role(task)
    )


def _joined(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


RULE = Rule(RULE_ID, EC2_INSTANCE, Severity.MEDIUM, evaluate)
