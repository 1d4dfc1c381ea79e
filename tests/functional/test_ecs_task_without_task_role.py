"""ecs-task-without-task-role scanned in moto."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3

from functional.accounts import (
    APP_INLINE,
    Host,
    Scan,
    assert_finding,
    ecs_user_data,
    finding,
    make_host,
    moto_world,
    short,
)
from rolewarden.demo.builders import (
    ECS_TASKS_SERVICE,
    create_cluster,
    create_role,
    default_security_group,
    default_subnet,
    register_task_definition,
    run_task,
)
from rolewarden.rules import ids

RULE_TASK = ids.ECS_TASK_WITHOUT_TASK_ROLE


def build_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
    subnet = default_subnet(ec2)
    group = default_security_group(ec2, subnet)
    task_role = create_role(iam, "checkout-task", trust_service=ECS_TASKS_SERVICE)
    bridge_td = register_task_definition(ecs, "orders-api")
    awsvpc_td = register_task_definition(ecs, "worker", network_mode="awsvpc")
    hosts: dict[str, Host] = {}
    for cluster, options in {
        "open": {"http_tokens": "optional", "hop_limit": 2, "inline": APP_INLINE},
        "locked": {"inline": APP_INLINE},
        "agent-only": {"http_tokens": "optional", "hop_limit": 2},
        "vpc-blocked": {
            "inline": APP_INLINE,
            "user_data": ecs_user_data("vpc-blocked", block_imds_for_awsvpc=True),
        },
        "vpc-open": {
            "inline": APP_INLINE,
            "user_data": ecs_user_data("vpc-open", block_imds_for_awsvpc=False),
        },
    }.items():
        create_cluster(ecs, cluster)
        hosts[cluster] = make_host(session, f"{cluster}-host", cluster=cluster, **options)

    def start(cluster: str, **kwargs: Any) -> str:
        return run_task(
            ecs,
            cluster,
            bridge_td,
            container_instance_arn=hosts[cluster].container_instance_arn,
            **kwargs,
        )

    def start_awsvpc(cluster: str) -> str:
        return run_task(
            ecs,
            cluster,
            awsvpc_td,
            container_instance_arn=hosts[cluster].container_instance_arn,
            subnet_id=subnet,
            security_group_ids=[group],
        )

    world = SimpleNamespace(
        hosts=hosts,
        bridge_td=bridge_td,
        awsvpc_td=awsvpc_td,
        open_task=start("open"),
        override_task=start("open", task_role_override=task_role),
        locked_task=start("locked"),
        agent_only_task=start("agent-only"),
        vpc_blocked_task=start_awsvpc("vpc-blocked"),
        vpc_open_task=start_awsvpc("vpc-open"),
    )
    world.result = scan(session)
    return world


class TestEcsTaskWithoutTaskRole:
    world = moto_world(build_world)

    def test_task_falling_back_to_a_host_role_with_app_actions_is_critical(
        self, world: SimpleNamespace
    ) -> None:
        # Given a bridge task without task role on an IMDSv1 host whose role reads and writes
        # the orders table (scenario 1)
        host = world.hosts["open"]

        # When scanned
        found = finding(world.result, RULE_TASK, world.open_task)

        # Then it is critical and names the fallback role, its reachable permissions, and why
        found = assert_finding(
            found,
            rule=RULE_TASK,
            severity="critical",
            resource_type="AWS::ECS::Task",
            resource_id=world.open_task,
            resource_arn=world.open_task,
            title=f"Task {short(world.open_task)} (orders-api:1) has no task role and "
            "falls back to host role open-host",
        )
        evidence = found["evidence"]
        assert evidence["cluster"] == "open"
        assert evidence["task_definition"] == world.bridge_td
        assert evidence["network_mode"] == "bridge"
        assert evidence["imds_reachable"] is True
        assert evidence["imds_reason"] == "bridge: host allows IMDSv1 with hop limit 2"
        assert evidence["host"] == {
            "instance_id": host.instance_id,
            "metadata_options": {"http_tokens": "optional", "hop_limit": 2, "endpoint": "enabled"},
            "role": host.role_arn,
        }
        reachable = evidence["reachable_application_permissions"]
        assert reachable["services"] == ["dynamodb"]
        assert reachable["application_action_count"] == 2
        assert found["remediation"] == {
            "action": "register-task-definition-with-task-role",
            "automatic": False,
            "params": {"task_definition_arn": world.bridge_td, "task_role_arn": None},
            "blocked_by": ["a person chooses the task role and redeploys the task"],
        }

    def test_task_role_override_makes_the_task_compliant(self, world: SimpleNamespace) -> None:
        # Given the same task definition started with overrides.taskRoleArn (scenario 4)
        # When scanned / Then no finding for that task
        assert finding(world.result, RULE_TASK, world.override_task) is None

    def test_host_requiring_imdsv2_with_hop_limit_1_makes_it_high(
        self, world: SimpleNamespace
    ) -> None:
        # Given a bridge task without task role on a host requiring IMDSv2, hop limit 1
        # (scenario 2)
        # When scanned
        found = finding(world.result, RULE_TASK, world.locked_task)

        # Then it is high, IMDS unreachable, and the title names no fallback
        assert found is not None
        assert found["severity"] == "high"
        assert found["title"] == f"Task {short(world.locked_task)} (orders-api:1) has no task role"
        assert found["evidence"]["imds_reachable"] is False
        assert found["evidence"]["imds_reason"] == "bridge: host requires IMDSv2 with hop limit 1"
        assert "reachable_application_permissions" not in found["evidence"]

    def test_host_role_without_application_actions_makes_it_high(
        self, world: SimpleNamespace
    ) -> None:
        # Given a task without task role on an IMDSv1 host whose role is baseline only
        # (scenario 2)
        # When scanned
        found = finding(world.result, RULE_TASK, world.agent_only_task)

        # Then it is high: the fallback role holds nothing of the application's
        assert found is not None
        assert found["severity"] == "high"
        assert found["evidence"]["imds_reachable"] is True
        assert (
            found["evidence"]["reachable_application_permissions"]["application_action_count"] == 0
        )

    def test_awsvpc_task_on_a_host_blocking_imds_is_not_critical(
        self, world: SimpleNamespace
    ) -> None:
        # Given an awsvpc task without task role on a host whose user data sets
        # ECS_AWSVPC_BLOCK_IMDS=true, and whose role has application actions
        # When scanned
        found = finding(world.result, RULE_TASK, world.vpc_blocked_task)

        # Then it is high, with IMDS unreachable for that reason
        assert found is not None
        assert found["severity"] == "high"
        assert found["evidence"]["network_mode"] == "awsvpc"
        assert found["evidence"]["imds_reachable"] is False
        assert (
            found["evidence"]["imds_reason"] == "awsvpc with ECS_AWSVPC_BLOCK_IMDS=true on the host"
        )

    def test_awsvpc_task_on_a_host_not_blocking_imds_is_critical(
        self, world: SimpleNamespace
    ) -> None:
        # Given the same task on a host whose user data does not block IMDS / When scanned
        found = finding(world.result, RULE_TASK, world.vpc_open_task)

        # Then it is critical
        assert found is not None
        assert found["severity"] == "critical"
        assert found["evidence"]["imds_reachable"] is True
        assert (
            found["evidence"]["imds_reason"]
            == "awsvpc without ECS_AWSVPC_BLOCK_IMDS=true on the host"
        )
