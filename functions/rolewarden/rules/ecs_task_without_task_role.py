"""ecs-task-without-task-role: every running task has its own task role.

The effective task role is `overrides.taskRoleArn`, else the task definition's.
Scenarios:
  1. A running task on an EC2 host without an effective task role, the host role grants
     application actions (or cannot be fully evaluated) and the host's IMDS is reachable
     from the task -> critical.
  2. Without a task role, but IMDS not reachable or the host role has no application
     actions -> high.
  3. A Fargate task without a task role -> high (no credentials at all, none from a host).
  4. The task has a task role (definition or override) -> COMPLIANT.
Not a Config resource type: reported by the event and sweep paths only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rolewarden.inventory.snapshot import RevisionFacts, Snapshot, Task
from rolewarden.rules.context import RuleContext
from rolewarden.rules.evidence import application_summary
from rolewarden.rules.guards import resource_guards
from rolewarden.rules.ids import ECS_TASK_WITHOUT_TASK_ROLE as RULE_ID
from rolewarden.rules.imds import imds_reachability
from rolewarden.rules.model import Evaluation, Rule, Severity, Violation
from rolewarden.rules.proposals import new_revision_with_task_role
from rolewarden.rules.resources import ECS_TASK, short_name, task_resource


def evaluate(snapshot: Snapshot, context: RuleContext) -> Iterator[Evaluation]:
    for task in snapshot.tasks.values():
        resource = task_resource(task)
        if task.last_status != "RUNNING":
            yield Evaluation.not_applicable(RULE_ID, resource, f"task is {task.last_status}")
            continue
        if snapshot.effective_task_role(task):
            yield Evaluation.compliant(RULE_ID, resource, "has a task role")
            continue
        definition = snapshot.revision(task.task_definition_arn)
        if definition is None:
            continue  # definition not read (a scan error says why)
        violation = _violation(snapshot, context, task, definition)
        yield Evaluation.non_compliant(RULE_ID, resource, violation)


def _violation(
    snapshot: Snapshot, context: RuleContext, task: Task, definition: RevisionFacts
) -> Violation:
    host = snapshot.host_of(task)
    reach = imds_reachability(definition.network_mode, host, on_ec2=task.on_ec2)
    evidence: dict[str, Any] = {
        "cluster": short_name(task.cluster_arn),
        "task_definition": task.task_definition_arn,
        "launch_type": task.launch_type,
        "network_mode": definition.network_mode,
        "imds_reachable": reach.reachable,
        "imds_reason": reach.reason,
    }
    if task.group:
        evidence["group"] = task.group
    severity = Severity.HIGH
    fallback = None
    if host is not None:
        role = snapshot.instance_role(host)
        evidence["host"] = {
            "instance_id": host.instance_id,
            "metadata_options": host.metadata.as_json(),
            "role": role.arn if role else None,
        }
        if role is not None:
            fallback = role.name
            verdict = context.roles.verdict(snapshot, role)
            if reach.reachable:
                evidence["reachable_application_permissions"] = application_summary(verdict)
            if verdict.evaluation.errors:
                # When unsure, assume the worst: an unreadable policy may grant anything.
                evidence["host_role_evaluation"] = "incomplete: " + "; ".join(
                    f"{error.policy.name}: {error.reason}" for error in verdict.evaluation.errors
                )
            if reach.reachable and (verdict.offending or verdict.evaluation.errors):
                severity = Severity.CRITICAL
    if fallback and reach.reachable:
        title = (
            f"Task {short_name(task.arn)} ({short_name(definition.arn)}) has no task role and "
            f"falls back to host role {fallback}"
        )
    else:
        title = f"Task {short_name(task.arn)} ({short_name(definition.arn)}) has no task role"
    guards = resource_guards(task.tags)
    guards.manual.append("a person chooses the task role and redeploys the task")
    return Violation(
        severity=severity,
        title=title,
        evidence=evidence,
        remediation=new_revision_with_task_role(definition.arn, guards),
    )


RULE = Rule(RULE_ID, ECS_TASK, Severity.HIGH, evaluate, visible_to_config=False)
