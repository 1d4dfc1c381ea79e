"""task-role-is-execution-role scanned in moto."""

from __future__ import annotations

from types import SimpleNamespace

import boto3

from functional.accounts import (
    PROTECTED,
    Scan,
    assert_finding,
    finding,
    moto_world,
)
from rolewarden.demo.builders import (
    ECS_TASKS_SERVICE,
    create_role,
    register_task_definition,
)
from rolewarden.rules import ids

RULE_SHARED = ids.TASK_ROLE_IS_EXECUTION_ROLE


def build_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    iam, ecs = session.client("iam"), session.client("ecs")
    shared = create_role(iam, "billing-shared", trust_service=ECS_TASKS_SERVICE)
    execution = create_role(iam, "ecs-task-execution", trust_service=ECS_TASKS_SERVICE)
    world = SimpleNamespace(
        shared=shared,
        billing=register_task_definition(
            ecs, "billing", task_role_arn=shared, execution_role_arn=shared
        ),
        separate=register_task_definition(
            ecs, "checkout", task_role_arn=shared, execution_role_arn=execution
        ),
        task_role_only=register_task_definition(ecs, "solo", task_role_arn=shared),
        protected=register_task_definition(
            ecs, "vendor", task_role_arn=shared, execution_role_arn=shared, tags=PROTECTED
        ),
    )
    world.result = scan(session)
    return world


class TestTaskRoleIsExecutionRole:
    world = moto_world(build_world)

    def test_task_role_equal_to_execution_role_is_medium(self, world: SimpleNamespace) -> None:
        # Given a revision whose task role is its execution role (scenario 1) / When scanned
        found = finding(world.result, RULE_SHARED, world.billing)

        # Then a medium finding names the shared role
        found = assert_finding(
            found,
            rule=RULE_SHARED,
            severity="medium",
            resource_type="AWS::ECS::TaskDefinition",
            resource_id=world.billing,
            resource_arn=world.billing,
            title="Task definition billing:1 uses billing-shared as both task role and "
            "execution role",
        )
        assert found["evidence"] == {"role": world.shared, "family": "billing", "revision": 1}
        assert found["remediation"] == {
            "action": "register-task-definition-with-task-role",
            "automatic": False,
            "params": {"task_definition_arn": world.billing, "task_role_arn": None},
            "blocked_by": ["a person creates the separate task role"],
        }

    def test_different_or_absent_roles_are_compliant(self, world: SimpleNamespace) -> None:
        # Given revisions with separate roles, or no execution role (scenario 2)
        # When scanned / Then no finding
        assert finding(world.result, RULE_SHARED, world.separate) is None
        assert finding(world.result, RULE_SHARED, world.task_role_only) is None

    def test_protected_revision_says_so(self, world: SimpleNamespace) -> None:
        found = finding(world.result, RULE_SHARED, world.protected)

        assert found is not None
        assert found["remediation"]["blocked_by"] == [
            "protected: tagged rolewarden:protected",
            "a person creates the separate task role",
        ]
