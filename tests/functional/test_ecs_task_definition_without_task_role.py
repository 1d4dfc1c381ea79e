"""ecs-task-definition-without-task-role scanned in moto."""

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
    ECS_TASK_EXECUTION_POLICY_ARN,
    ECS_TASKS_SERVICE,
    create_cluster,
    create_role,
    create_service,
    register_task_definition,
)
from rolewarden.rules import ids

RULE_TD = ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE


def build_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    iam, ecs = session.client("iam"), session.client("ecs")
    execution = create_role(
        iam,
        "ecs-task-execution",
        trust_service=ECS_TASKS_SERVICE,
        managed_policy_arns=(ECS_TASK_EXECUTION_POLICY_ARN,),
    )
    task_role = create_role(iam, "checkout-task", trust_service=ECS_TASKS_SERVICE)
    create_cluster(ecs, "shop")
    orders = register_task_definition(ecs, "orders-api", execution_role_arn=execution)
    create_service(ecs, "shop", "orders", orders)
    legacy = register_task_definition(ecs, "legacy")
    ecs.deregister_task_definition(taskDefinition=legacy)
    world = SimpleNamespace(
        execution=execution,
        orders=orders,
        legacy=legacy,
        reports=register_task_definition(
            ecs,
            "reports",
            execution_role_arn=execution,
            network_mode="awsvpc",
            compatibilities=("FARGATE",),
        ),
        checkout=register_task_definition(
            ecs, "checkout", task_role_arn=task_role, execution_role_arn=execution
        ),
        protected=register_task_definition(ecs, "vendor", tags=PROTECTED),
    )
    world.result = scan(session)
    return world


class TestEcsTaskDefinitionWithoutTaskRole:
    world = moto_world(build_world)

    def test_ec2_revision_without_task_role_is_high(self, world: SimpleNamespace) -> None:
        # Given an ACTIVE bridge revision for EC2 without a task role, used by a service
        # (scenario 1)
        # When scanned
        found = finding(world.result, RULE_TD, world.orders)

        # Then a high finding says its containers would use the host's credentials
        found = assert_finding(
            found,
            rule=RULE_TD,
            severity="high",
            resource_type="AWS::ECS::TaskDefinition",
            resource_id=world.orders,
            resource_arn=world.orders,
            title="Task definition orders-api:1 has no task role "
            "(on EC2 its containers would use the host's credentials)",
        )
        assert found["evidence"] == {
            "family": "orders-api",
            "revision": 1,
            "compatibilities": ["EC2"],
            "network_mode": "bridge",
            "execution_role": world.execution,
            "services": ["orders"],
        }
        assert found["remediation"] == {
            "action": "register-task-definition-with-task-role",
            "automatic": False,
            "params": {"task_definition_arn": world.orders, "task_role_arn": None},
            "blocked_by": ["a person chooses the task role"],
        }

    def test_revision_registered_for_fargate_but_validated_for_ec2_too_is_high(
        self, world: SimpleNamespace
    ) -> None:
        # Given a revision registered with requiresCompatibilities FARGATE, which ECS also
        # validated for EC2 (its `compatibilities`), without a task role / When scanned
        found = finding(world.result, RULE_TD, world.reports)

        # Then it is high: a RunTask on EC2 would hand its containers the host's credentials
        # (a revision that only Fargate can run is medium: see the unit tests)
        found = assert_finding(
            found,
            rule=RULE_TD,
            severity="high",
            resource_type="AWS::ECS::TaskDefinition",
            resource_id=world.reports,
            resource_arn=world.reports,
            title="Task definition reports:1 has no task role "
            "(on EC2 its containers would use the host's credentials)",
        )
        assert found["evidence"]["compatibilities"] == ["EC2", "FARGATE"]

    def test_revision_with_task_role_is_compliant(self, world: SimpleNamespace) -> None:
        # Given a revision with a task role (scenario 3) / When scanned / Then no finding
        assert finding(world.result, RULE_TD, world.checkout) is None

    def test_inactive_revision_is_not_applicable(self, world: SimpleNamespace) -> None:
        # Given a deregistered revision without task role (scenario 4) / When scanned
        # Then no finding
        assert finding(world.result, RULE_TD, world.legacy) is None

    def test_protected_revision_says_so(self, world: SimpleNamespace) -> None:
        # Given a revision tagged rolewarden:protected / When scanned
        found = finding(world.result, RULE_TD, world.protected)

        # Then the proposal names both reasons it is not applied automatically
        assert found is not None
        assert found["remediation"]["blocked_by"] == [
            "protected: tagged rolewarden:protected",
            "a person chooses the task role",
        ]
