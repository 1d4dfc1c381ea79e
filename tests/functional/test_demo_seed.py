"""The demo account holds what the demo and the functional tests rely on.

Seeded once per module inside moto (in-process), then read back with plain boto3.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from moto import mock_aws

from rolewarden.demo import builders
from rolewarden.demo.builders import DemoAccount, seed_demo_account
from rolewarden.demo.emulator import (
    pin_ecs_tasks_running_in_process,
    unpin_ecs_tasks_in_process,
)

TODAY = date(2030, 1, 1)
ECS_AGENT = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION"):
            env.delenv(name, raising=False)
        pin_ecs_tasks_running_in_process()
        try:
            with mock_aws():
                yield boto3.Session(region_name="us-east-1")
        finally:
            unpin_ecs_tasks_in_process()


@pytest.fixture(scope="module")
def account(session: Any) -> DemoAccount:
    return seed_demo_account(session, today=TODAY)


def describe_instance(session: Any, instance_id: str) -> dict[str, Any]:
    reservations = session.client("ec2").describe_instances(InstanceIds=[instance_id])
    instance: dict[str, Any] = reservations["Reservations"][0]["Instances"][0]
    return instance


def tags_of(instance: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}


def attached_policy_arns(session: Any, role_name: str) -> set[str]:
    attached = session.client("iam").list_attached_role_policies(RoleName=role_name)
    return {policy["PolicyArn"] for policy in attached["AttachedPolicies"]}


def trusted_service(session: Any, role_name: str) -> str:
    role = session.client("iam").get_role(RoleName=role_name)["Role"]
    document = role["AssumeRolePolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    service: str = document["Statement"][0]["Principal"]["Service"]
    return service


def test_shop_hosts_run_with_the_shop_profile_one_allowing_imdsv1(
    session: Any, account: DemoAccount
) -> None:
    # Given the seeded account / When its shop hosts are described
    open_host = describe_instance(session, account.shop_host_imdsv1_instance_id)
    locked_host = describe_instance(session, account.shop_host_imdsv2_instance_id)

    # Then both carry the shop profile and the Auto Scaling group tag
    for host in (open_host, locked_host):
        assert host["IamInstanceProfile"]["Arn"] == account.shop_host_profile_arn
        assert tags_of(host)["aws:autoscaling:groupName"] == "shop-asg"
    # And one allows IMDSv1 two hops away, the other requires IMDSv2 at one hop
    assert open_host["MetadataOptions"]["HttpTokens"] == "optional"
    assert open_host["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
    assert locked_host["MetadataOptions"]["HttpTokens"] == "required"
    assert locked_host["MetadataOptions"]["HttpPutResponseHopLimit"] == 1


def test_shop_host_role_holds_application_permissions(session: Any, account: DemoAccount) -> None:
    iam = session.client("iam")

    profile = iam.get_instance_profile(InstanceProfileName="shop-ecs-host")["InstanceProfile"]
    assert [role["Arn"] for role in profile["Roles"]] == [account.shop_host_role_arn]
    assert attached_policy_arns(session, "shop-ecs-host") == {
        ECS_AGENT,
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
    }
    inline = iam.get_role_policy(RoleName="shop-ecs-host", PolicyName="orders-table")
    statement = inline["PolicyDocument"]["Statement"][0]
    assert statement["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    assert statement["Resource"] == [account.orders_table_arn]


def test_aws_managed_policies_are_loaded(session: Any) -> None:
    # The policy engine reads these documents; moto has them only with
    # MOTO_IAM_LOAD_MANAGED_POLICIES=true.
    iam = session.client("iam")
    policy = iam.get_policy(PolicyArn=ECS_AGENT)["Policy"]
    version = iam.get_policy_version(PolicyArn=ECS_AGENT, VersionId=policy["DefaultVersionId"])
    actions = {a for s in version["PolicyVersion"]["Document"]["Statement"] for a in s["Action"]}
    assert "ecs:RegisterContainerInstance" in actions


def test_payments_host_is_compliant(session: Any, account: DemoAccount) -> None:
    host = describe_instance(session, account.payments_host_instance_id)

    assert host["IamInstanceProfile"]["Arn"] == account.payments_host_profile_arn
    assert host["MetadataOptions"]["HttpTokens"] == "required"
    assert host["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert attached_policy_arns(session, "payments-ecs-host") == {
        ECS_AGENT,
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    }
    assert (
        session.client("iam").list_role_policies(RoleName="payments-ecs-host")["PolicyNames"] == []
    )


def test_payments_host_user_data_blocks_imds_for_awsvpc_tasks(
    session: Any, account: DemoAccount
) -> None:
    attribute = session.client("ec2").describe_instance_attribute(
        InstanceId=account.payments_host_instance_id, Attribute="userData"
    )
    user_data = base64.b64decode(attribute["UserData"]["Value"]).decode()
    assert "ECS_AWSVPC_BLOCK_IMDS=true" in user_data


def test_container_instances_name_their_ec2_instances(session: Any, account: DemoAccount) -> None:
    ecs = session.client("ecs")
    expected = {
        "shop": {
            account.shop_host_imdsv1_container_instance_arn: account.shop_host_imdsv1_instance_id,
            account.shop_host_imdsv2_container_instance_arn: account.shop_host_imdsv2_instance_id,
        },
        "payments": {
            account.payments_host_container_instance_arn: account.payments_host_instance_id,
        },
    }
    for cluster, hosts in expected.items():
        arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
        described = ecs.describe_container_instances(cluster=cluster, containerInstances=arns)
        found = {
            ci["containerInstanceArn"]: ci["ec2InstanceId"]
            for ci in described["containerInstances"]
        }
        assert found == hosts


@pytest.mark.parametrize(
    ("family", "task_role", "execution_role", "network_mode", "compatibilities"),
    [
        ("orders-api", None, "ecs-task-execution", "bridge", ["EC2"]),
        ("checkout", "checkout-task", "ecs-task-execution", "awsvpc", ["EC2"]),
        ("billing", "billing-shared", "billing-shared", "bridge", ["EC2"]),
        ("reports", None, "ecs-task-execution", "awsvpc", ["FARGATE"]),
    ],
)
def test_task_definitions_have_the_promised_roles_and_modes(
    session: Any,
    account: DemoAccount,
    family: str,
    task_role: str | None,
    execution_role: str,
    network_mode: str,
    compatibilities: list[str],
) -> None:
    role_arn = f"arn:aws:iam::{account.account_id}:role/{{}}"

    definition = session.client("ecs").describe_task_definition(taskDefinition=family)
    definition = definition["taskDefinition"]

    assert definition["status"] == "ACTIVE"
    assert definition.get("taskRoleArn") == (role_arn.format(task_role) if task_role else None)
    assert definition["executionRoleArn"] == role_arn.format(execution_role)
    assert definition["networkMode"] == network_mode
    assert definition["requiresCompatibilities"] == compatibilities


@pytest.mark.parametrize("role_name", ["ecs-task-execution", "checkout-task", "billing-shared"])
def test_task_and_execution_roles_trust_ecs_tasks(session: Any, role_name: str) -> None:
    assert trusted_service(session, role_name) == "ecs-tasks.amazonaws.com"


def test_tasks_stay_running_on_their_hosts(session: Any, account: DemoAccount) -> None:
    ecs = session.client("ecs")
    placements = {
        account.orders_api_task_arn: ("shop", account.shop_host_imdsv1_container_instance_arn),
        account.checkout_task_arn: ("payments", account.payments_host_container_instance_arn),
    }

    # When the tasks are described five times (moto would stop them step by step)
    for task_arn, (cluster, container_instance_arn) in placements.items():
        for _ in range(5):
            task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]

        # Then they are still RUNNING on their host, without any role override
        assert task["lastStatus"] == "RUNNING"
        assert task["containerInstanceArn"] == container_instance_arn
        assert not task.get("overrides", {}).get("taskRoleArn")
    orders_task = ecs.describe_tasks(cluster="shop", tasks=[account.orders_api_task_arn])
    assert orders_task["tasks"][0]["taskDefinitionArn"] == account.orders_api_task_definition_arn
    assert orders_task["tasks"][0]["group"] == "service:orders"


def test_orders_service_runs_orders_api_on_shop(session: Any, account: DemoAccount) -> None:
    services = session.client("ecs").describe_services(cluster="shop", services=["orders"])
    service = services["services"][0]

    assert service["serviceArn"] == account.orders_service_arn
    assert service["taskDefinition"] == account.orders_api_task_definition_arn
    assert service["status"] == "ACTIVE"


def test_plain_instances_with_missing_or_empty_profiles(session: Any, account: DemoAccount) -> None:
    legacy = describe_instance(session, account.legacy_batch_instance_id)
    orphan = describe_instance(session, account.orphan_profile_instance_id)
    reporting = describe_instance(session, account.reporting_app_instance_id)
    iam = session.client("iam")

    assert "IamInstanceProfile" not in legacy
    assert tags_of(legacy)["Name"] == "legacy-batch"
    assert orphan["IamInstanceProfile"]["Arn"] == account.orphan_profile_arn
    orphan_profile = iam.get_instance_profile(InstanceProfileName="orphan-profile")
    assert orphan_profile["InstanceProfile"]["Roles"] == []
    assert reporting["IamInstanceProfile"]["Arn"] == account.reporting_app_profile_arn
    assert attached_policy_arns(session, "reporting-app") == {
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    }


def test_exemptions_one_valid_one_expired(session: Any, account: DemoAccount) -> None:
    exempt = describe_instance(session, account.exempt_instance_id)
    expired = describe_instance(session, account.expired_exemption_instance_id)

    assert "IamInstanceProfile" not in exempt
    assert "IamInstanceProfile" not in expired
    assert tags_of(exempt)["rolewarden:exempt-until"] == "2030-01-31"
    assert tags_of(exempt)["rolewarden:exempt-reason"] == "vendor appliance, ticket SEC-142"
    assert tags_of(expired)["rolewarden:exempt-until"] < TODAY.isoformat()
    assert account.exemption_until == "2030-01-31"


def test_task_role_override_comes_back_from_describe_tasks(session: Any) -> None:
    # Given a cluster of its own (the seeded clusters stay as seeded)
    ec2, ecs, iam = (session.client(name) for name in ("ec2", "ecs", "iam"))
    builders.create_cluster(ecs, "override-check")
    host = builders.launch_instance(ec2, tags={"Name": "override-check-host"})
    container_instance = builders.register_container_instance(ecs, ec2, "override-check", host)
    definition = builders.register_task_definition(ecs, "override-check")
    override_role = builders.create_role(
        iam, "override-check-task", trust_service="ecs-tasks.amazonaws.com"
    )

    # When a task starts with a task role override
    task_arn = builders.run_task(
        ecs,
        "override-check",
        definition,
        container_instance_arn=container_instance,
        task_role_override=override_role,
        tags={"team": "checks"},
    )

    # Then DescribeTasks returns it
    task = ecs.describe_tasks(cluster="override-check", tasks=[task_arn], include=["TAGS"])
    task = task["tasks"][0]
    assert task["overrides"]["taskRoleArn"] == override_role
    assert task["tags"] == [{"key": "team", "value": "checks"}]


def test_add_policy_version_becomes_the_default(session: Any) -> None:
    iam = session.client("iam")
    first = builders.policy_document(builders.allow(["s3:GetObject"]))
    second = builders.policy_document(builders.allow(["s3:PutObject"]))
    arn = builders.create_customer_policy(iam, "version-check", first)

    version_id = builders.add_policy_version(iam, arn, second)

    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == version_id
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version_id)
    assert document["PolicyVersion"]["Document"]["Statement"][0]["Action"] == ["s3:PutObject"]
