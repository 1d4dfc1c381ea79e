"""ecs-host-imds-exposed scanned in moto."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from functional.accounts import (
    Scan,
    assert_finding,
    finding,
    instance_arn,
    make_role,
    short,
)
from rolewarden.demo.builders import (
    ASG_NAME_TAG,
    create_cluster,
    launch_instance,
    register_container_instance,
    register_task_definition,
    run_task,
)
from rolewarden.rules import ids

RULE_IMDS = ids.ECS_HOST_IMDS_EXPOSED


class TestEcsHostImdsExposed:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any, scan: Scan) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            ec2, ecs = session.client("ec2"), session.client("ecs")
            create_cluster(ecs, "hosts")
            _arn, _id, profile = make_role(session, "hosts-role")
            assert profile is not None

            def host(cluster: str, http_tokens: str, hop_limit: int, **tags: str) -> str:
                instance = launch_instance(
                    ec2,
                    profile_arn=profile,
                    http_tokens=http_tokens,
                    hop_limit=hop_limit,
                    tags=tags,
                )
                register_container_instance(ecs, ec2, cluster, instance)
                return instance

            world = SimpleNamespace(
                imdsv1=host("hosts", "optional", 1, **{ASG_NAME_TAG: "hosts-asg"}),
                hop2=host("hosts", "required", 2),
                both=host("hosts", "optional", 2),
                locked=host("hosts", "required", 1),
                plain=launch_instance(ec2, profile_arn=profile, http_tokens="optional"),
            )
            world.cluster = ecs.describe_clusters(clusters=["hosts"])["clusters"][0]["clusterArn"]
            create_cluster(ecs, "bridge")
            world.bridge_host = host("bridge", "optional", 2)
            td = register_task_definition(ecs, "orders-api")
            ci = ecs.list_container_instances(cluster="bridge")["containerInstanceArns"][0]
            world.bridge_task = run_task(ecs, "bridge", td, container_instance_arn=ci)
            world.default = scan(session)
            world.remediate = scan(session, rule_modes={RULE_IMDS: "remediate"})
            yield world

    def test_host_allowing_imdsv1_is_medium(self, world: SimpleNamespace) -> None:
        # Given an ECS container instance with HttpTokens optional, hop limit 1 (scenario 1)
        # When scanned
        found = finding(world.default, RULE_IMDS, instance_arn(world.imdsv1))

        # Then a medium finding shows its metadata options and proposes enforcing IMDSv2
        found = assert_finding(
            found,
            rule=RULE_IMDS,
            severity="medium",
            resource_type="AWS::EC2::Instance",
            resource_id=world.imdsv1,
            resource_arn=instance_arn(world.imdsv1),
            title=f"ECS host {world.imdsv1} allows IMDSv1",
        )
        options = {"http_tokens": "optional", "hop_limit": 1, "endpoint": "enabled"}
        assert found["evidence"] == {
            "metadata_options": options,
            "problems": ["allows IMDSv1"],
            "clusters": [world.cluster],
            "root_cause": {"auto_scaling_group": "hosts-asg"},
        }
        assert found["remediation"] == {
            "action": "enforce-imdsv2",
            "automatic": False,
            "params": {
                "instance_id": world.imdsv1,
                "http_tokens": "required",
                "hop_limit": 1,
                "previous": options,
            },
            "blocked_by": [],
        }

    def test_host_with_hop_limit_above_1_is_reported(self, world: SimpleNamespace) -> None:
        # Given a host requiring IMDSv2 with hop limit 2 (scenario 2) / When scanned
        found = finding(world.default, RULE_IMDS, instance_arn(world.hop2))

        # Then it is reported for the hop limit
        assert found is not None
        assert found["title"] == f"ECS host {world.hop2} has IMDS hop limit 2"
        assert found["evidence"]["problems"] == ["has IMDS hop limit 2"]

    def test_host_with_both_problems_names_both(self, world: SimpleNamespace) -> None:
        found = finding(world.default, RULE_IMDS, instance_arn(world.both))

        assert found is not None
        assert found["title"] == f"ECS host {world.both} allows IMDSv1 and has IMDS hop limit 2"

    def test_host_requiring_imdsv2_with_hop_limit_1_is_compliant(
        self, world: SimpleNamespace
    ) -> None:
        # Given a host with HttpTokens required, hop limit 1 (scenario 3) / Then no finding
        assert finding(world.default, RULE_IMDS, instance_arn(world.locked)) is None

    def test_instance_that_is_not_an_ecs_host_is_not_applicable(
        self, world: SimpleNamespace
    ) -> None:
        # Given an instance allowing IMDSv1 that is not registered in ECS (scenario 4)
        # Then no finding
        assert finding(world.default, RULE_IMDS, instance_arn(world.plain)) is None

    def test_remediate_mode_makes_enforcing_automatic(self, world: SimpleNamespace) -> None:
        found = finding(world.remediate, RULE_IMDS, instance_arn(world.imdsv1))

        assert found is not None
        assert found["remediation"]["automatic"] is True

    def test_bridge_task_without_task_role_blocks_enforcing(self, world: SimpleNamespace) -> None:
        # Given a host running a bridge task without task role (scenario 5)
        # When scanned in remediate mode
        found = finding(world.remediate, RULE_IMDS, instance_arn(world.bridge_host))

        # Then enforcing IMDSv2 is blocked by the outage guard naming the task
        assert found is not None
        assert found["remediation"]["automatic"] is False
        assert found["remediation"]["blocked_by"] == [
            "outage guard: bridge-mode tasks without a task role use this host's credentials: "
            f"task {short(world.bridge_task)} (orders-api:1); "
            "give their task definitions a task role first"
        ]
