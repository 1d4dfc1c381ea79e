"""ecs-host-imds-exposed: ECS container instances require IMDSv2 with hop limit 1.

Scenarios:
  1. A container instance allows IMDSv1 (HttpTokens=optional) -> NON_COMPLIANT, medium.
  2. A container instance has a hop limit above 1 (containers can reach IMDS) -> NON_COMPLIANT.
  3. IMDSv2 required, hop limit 1, or the endpoint disabled -> COMPLIANT.
  4. The instance is not an ECS container instance -> NOT_APPLICABLE.
  5. The host runs bridge-mode tasks without a task role: enforcing IMDSv2 would cut
     them off from the only credentials they have -> blocked unless forced.
"""

from __future__ import annotations

from collections.abc import Iterator

from rolewarden.inventory.snapshot import Instance, Snapshot
from rolewarden.rules.context import RuleContext
from rolewarden.rules.evidence import instance_evidence
from rolewarden.rules.guards import resource_guards
from rolewarden.rules.ids import ECS_HOST_IMDS_EXPOSED as RULE_ID
from rolewarden.rules.model import Evaluation, Remediation, Rule, Severity, Violation
from rolewarden.rules.resources import EC2_INSTANCE, instance_resource, short_name

ACTION = "enforce-imdsv2"


def evaluate(snapshot: Snapshot, context: RuleContext) -> Iterator[Evaluation]:
    hosts = snapshot.ecs_host_instance_ids()
    for instance in snapshot.instances.values():
        resource = instance_resource(instance)
        if instance.instance_id not in hosts:
            if not snapshot.ecs_membership_known:
                continue  # an ECS read failed (a scan error says so): it may be a host
            yield Evaluation.not_applicable(RULE_ID, resource, "not an ECS container instance")
            continue
        problems = _exposures(instance)
        if not problems:
            yield Evaluation.compliant(RULE_ID, resource, "IMDSv2 required with hop limit 1")
            continue
        guards = resource_guards(instance.tags)
        dependent = _bridge_tasks_without_role(snapshot, instance)
        unreadable = snapshot.unreadable_workloads(
            snapshot.clusters_of_instance(instance.instance_id)
        )
        if unreadable:
            guards.force.append(
                "outage guard: the tasks on this host could not be read ("
                + ", ".join(unreadable)
                + ")"
            )
        if dependent:
            guards.force.append(
                "outage guard: bridge-mode tasks without a task role use this host's credentials: "
                + ", ".join(dependent)
                + "; give their task definitions a task role first"
            )
        evidence = instance_evidence(
            instance,
            metadata_options=instance.metadata.as_json(),
            problems=problems,
            clusters=sorted(snapshot.clusters_of_instance(instance.instance_id)),
        )
        yield Evaluation.non_compliant(
            RULE_ID,
            resource,
            Violation(
                severity=Severity.MEDIUM,
                title=f"ECS host {instance.instance_id} " + " and ".join(problems),
                evidence=evidence,
                remediation=Remediation(
                    action=ACTION,
                    automatic=guards.allow_automatic and context.remediates(RULE_ID),
                    params={
                        "instance_id": instance.instance_id,
                        "http_tokens": "required",
                        "hop_limit": 1,
                        "previous": instance.metadata.as_json(),
                    },
                    blockers=guards.freeze(),
                ),
            ),
        )


def _exposures(instance: Instance) -> list[str]:
    if instance.metadata.endpoint == "disabled":
        return []
    problems = []
    if instance.metadata.http_tokens != "required":
        problems.append("allows IMDSv1")
    if instance.metadata.hop_limit > 1:
        problems.append(f"has IMDS hop limit {instance.metadata.hop_limit}")
    return problems


def _bridge_tasks_without_role(snapshot: Snapshot, instance: Instance) -> list[str]:
    names = []
    for task in snapshot.tasks_on_instance(instance.instance_id):
        definition = snapshot.revision(task.task_definition_arn)
        mode = definition.network_mode if definition else "bridge"
        if mode == "bridge" and not snapshot.effective_task_role(task):
            names.append(f"task {short_name(task.arn)} ({short_name(task.task_definition_arn)})")
    return sorted(names)


RULE = Rule(RULE_ID, EC2_INSTANCE, Severity.MEDIUM, evaluate)
