"""task-role-is-execution-role: the agent and the application must not share one identity.

Scenarios:
  1. An ACTIVE revision's taskRoleArn equals its executionRoleArn -> NON_COMPLIANT, medium.
  2. The roles differ, or one of them is absent -> COMPLIANT.
  3. The revision is INACTIVE -> NOT_APPLICABLE.
"""

from __future__ import annotations

from collections.abc import Iterator

from rolewarden.inventory.snapshot import Snapshot
from rolewarden.rules.context import RuleContext
from rolewarden.rules.guards import resource_guards
from rolewarden.rules.ids import TASK_ROLE_IS_EXECUTION_ROLE as RULE_ID
from rolewarden.rules.model import Evaluation, Rule, Severity, Violation
from rolewarden.rules.proposals import new_revision_with_task_role
from rolewarden.rules.resources import ECS_TASK_DEFINITION, short_name, task_definition_resource


def evaluate(snapshot: Snapshot, context: RuleContext) -> Iterator[Evaluation]:
    for definition in snapshot.task_definitions.values():
        resource = task_definition_resource(definition)
        if definition.status != "ACTIVE":
            yield Evaluation.not_applicable(RULE_ID, resource, f"revision is {definition.status}")
            continue
        shared = definition.task_role_arn
        # Either may be written as a role name or a full ARN; names are unique per account.
        if (
            not shared
            or not definition.execution_role_arn
            or (short_name(shared) != short_name(definition.execution_role_arn))
        ):
            yield Evaluation.compliant(RULE_ID, resource, "task and execution roles differ")
            continue
        guards = resource_guards(definition.tags)
        guards.manual.append("a person creates the separate task role")
        yield Evaluation.non_compliant(
            RULE_ID,
            resource,
            Violation(
                severity=Severity.MEDIUM,
                title=f"Task definition {short_name(definition.arn)} uses {short_name(shared)} "
                "as both task role and execution role",
                evidence={
                    "role": shared,
                    "family": definition.family,
                    "revision": definition.revision,
                },
                remediation=new_revision_with_task_role(definition.arn, guards),
            ),
        )


RULE = Rule(RULE_ID, ECS_TASK_DEFINITION, Severity.MEDIUM, evaluate)
