"""ecs-task-definition-without-task-role: every ACTIVE revision names a task role.

Scenarios:
  1. An ACTIVE revision that can run on EC2 has no taskRoleArn -> NON_COMPLIANT, high:
     its containers would use the host's credentials through IMDS.
  2. A revision that can run only on Fargate has no taskRoleArn -> NON_COMPLIANT, medium.
     "Can run" is ECS's `compatibilities` (what it validated the revision for), which often
     lists EC2 even for a revision registered with requiresCompatibilities FARGATE.
  3. The revision has a task role -> COMPLIANT.
  4. The revision is INACTIVE -> NOT_APPLICABLE.
The fix is a new revision with a task role a person chooses: never automatic.
"""

from __future__ import annotations

from collections.abc import Iterator

from rolewarden.inventory.snapshot import Snapshot
from rolewarden.rules.context import RuleContext
from rolewarden.rules.guards import resource_guards
from rolewarden.rules.ids import ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE as RULE_ID
from rolewarden.rules.model import Evaluation, Rule, Severity, Violation
from rolewarden.rules.proposals import new_revision_with_task_role
from rolewarden.rules.resources import ECS_TASK_DEFINITION, short_name, task_definition_resource


def evaluate(snapshot: Snapshot, context: RuleContext) -> Iterator[Evaluation]:
    for definition in snapshot.task_definitions.values():
        resource = task_definition_resource(definition)
        if definition.status != "ACTIVE":
            yield Evaluation.not_applicable(RULE_ID, resource, f"revision is {definition.status}")
            continue
        if definition.task_role_arn:
            yield Evaluation.compliant(RULE_ID, resource, "has a task role")
            continue
        on_ec2 = definition.can_run_on_ec2
        guards = resource_guards(definition.tags)
        guards.manual.append("a person chooses the task role")
        users = sorted(
            short_name(service.arn)
            for service in snapshot.services.values()
            if service.task_definition_arn == definition.arn
        )
        yield Evaluation.non_compliant(
            RULE_ID,
            resource,
            Violation(
                severity=Severity.HIGH if on_ec2 else Severity.MEDIUM,
                title=f"Task definition {short_name(definition.arn)} has no task role"
                + (" (on EC2 its containers would use the host's credentials)" if on_ec2 else ""),
                evidence={
                    "family": definition.family,
                    "revision": definition.revision,
                    "compatibilities": list(definition.compatibilities) or ["EC2 (default)"],
                    "network_mode": definition.network_mode,
                    "execution_role": definition.execution_role_arn,
                    "services": users,
                },
                remediation=new_revision_with_task_role(definition.arn, guards),
            ),
        )


RULE = Rule(RULE_ID, ECS_TASK_DEFINITION, Severity.HIGH, evaluate)
