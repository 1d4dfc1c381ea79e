"""The inventory readers inside moto: what a snapshot holds, what it cost, targeted reads.

One small ECS account for the module: cluster "shop" with one host whose role has
an inline policy, a customer policy and a permissions boundary; a service and two
tasks (one with a task role override); a plain EC2 application with an AWS managed
policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    ECS_TASKS_SERVICE,
    S3_READ_ONLY_POLICY_ARN,
    allow,
    create_cluster,
    create_customer_policy,
    create_instance_profile,
    create_role,
    create_service,
    launch_instance,
    policy_document,
    register_container_instance,
    register_task_definition,
    run_task,
)
from rolewarden.evaluation.account import ScanResult
from rolewarden.inventory import iam as iam_reader
from rolewarden.inventory.build import TargetedReader, build_snapshot, read_account_iam
from rolewarden.inventory.snapshot import (
    ContainerInstance,
    MetadataOptions,
    Service,
    Snapshot,
)
from rolewarden.rules import ids
from rolewarden.rules.context import RuleContext
from rolewarden.rules.engine import run_rules
from rolewarden.rules.ids import RULE_IDS
from rolewarden.settings import Settings

ACCOUNT = "123456789012"
REGION = "us-east-1"
ORDERS_TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"


@pytest.fixture(scope="module")
def world(moto_account: Any, scan: Callable[..., ScanResult]) -> Iterator[SimpleNamespace]:
    with moto_account() as session:
        iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
        boundary = create_customer_policy(
            iam, "host-boundary", policy_document(allow(["ecs:*", "ecr:*", "logs:*", "sqs:*"]))
        )
        extras = create_customer_policy(
            iam, "shop-extras", policy_document(allow(["sqs:SendMessage"]))
        )
        orders_table = policy_document(allow(["dynamodb:GetItem"], [ORDERS_TABLE]))
        host_role = create_role(
            iam,
            "shop-host",
            managed_policy_arns=(ECS_AGENT_POLICY_ARN, extras),
            inline_policies={"orders-table": orders_table},
            boundary_arn=boundary,
            tags={"team": "shop"},
        )
        profile = create_instance_profile(iam, "shop-host", "shop-host")
        cluster = create_cluster(ecs, "shop")
        host = launch_instance(
            ec2, profile_arn=profile, http_tokens="optional", hop_limit=2, tags={"Name": "shop-1"}
        )
        container = register_container_instance(ecs, ec2, "shop", host)
        # A task role with an AWS managed policy: task roles are not judged, so its
        # document is never fetched.
        task_role = create_role(
            iam,
            "checkout-task",
            trust_service=ECS_TASKS_SERVICE,
            managed_policy_arns=("arn:aws:iam::aws:policy/AmazonSQSFullAccess",),
        )
        orders_td = register_task_definition(ecs, "orders-api")
        service = create_service(ecs, "shop", "orders", orders_td)
        plain_task = run_task(ecs, "shop", orders_td, container_instance_arn=container)
        override_task = run_task(
            ecs, "shop", orders_td, container_instance_arn=container, task_role_override=task_role
        )
        create_role(iam, "reporting-app", managed_policy_arns=(S3_READ_ONLY_POLICY_ARN,))
        reporting_profile = create_instance_profile(iam, "reporting-app", "reporting-app")
        reporting = launch_instance(ec2, profile_arn=reporting_profile)

        world = SimpleNamespace(
            session=session,
            boundary=boundary,
            extras=extras,
            orders_table=orders_table,
            host_role=host_role,
            profile=profile,
            cluster=cluster,
            host=host,
            container=container,
            task_role=task_role,
            orders_td=orders_td,
            service=service,
            plain_task=plain_task,
            override_task=override_task,
            reporting=reporting,
        )
        world.full = scan(session, instance_role_scope="all")
        yield world


def context() -> RuleContext:
    return Settings(instance_role_scope="all").rule_context()


def full_snapshot(session: boto3.Session) -> tuple[Snapshot, AwsClients]:
    clients = AwsClients(session)
    skip = context().skip_document
    iam = read_account_iam(clients, skip)
    return build_snapshot(clients, REGION, ACCOUNT, "aws", iam, skip), clients


@pytest.fixture(scope="module")
def snapshot(world: SimpleNamespace) -> Snapshot:
    return full_snapshot(world.session)[0]


def targeted(world: SimpleNamespace) -> TargetedReader:
    return TargetedReader(
        AwsClients(world.session), REGION, ACCOUNT, "aws", context().skip_document
    )


def findings_for(snapshot: Snapshot, rule: str, arn: str) -> list[dict[str, Any]]:
    run = run_rules(snapshot, context(), [rule])
    return [f.as_json() for f in run.findings if f.resource_arn == arn]


def scanned_for(world: SimpleNamespace, rule: str, arn: str) -> list[dict[str, Any]]:
    return [f.as_json() for f in world.full.findings if f.rule == rule and f.resource_arn == arn]


# --- the full snapshot -------------------------------------------------------------------


def test_snapshot_holds_instances_with_profile_and_metadata_options(
    world: SimpleNamespace, snapshot: Snapshot
) -> None:
    # Given the account / When its snapshot is built / Then each live instance is there
    instance = snapshot.instances[world.host]
    assert set(snapshot.instances) == {world.host, world.reporting}
    assert instance.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{world.host}"
    assert instance.state == "running"
    assert instance.profile_arn == world.profile
    assert instance.metadata == MetadataOptions(http_tokens="optional", hop_limit=2)
    assert instance.tags == {"Name": "shop-1"}


def test_snapshot_holds_roles_with_inline_attached_and_boundary(
    world: SimpleNamespace, snapshot: Snapshot
) -> None:
    role = snapshot.iam.roles[world.host_role]

    assert role.name == "shop-host"
    assert [policy.name for policy in role.inline_policies] == ["orders-table"]
    assert "dynamodb:GetItem" in str(role.inline_policies[0].document)
    assert set(role.attached_policy_arns) == {ECS_AGENT_POLICY_ARN, world.extras}
    assert role.boundary_arn == world.boundary
    assert role.instance_profile_arns == (world.profile,)
    assert role.tags == {"team": "shop"}
    assert snapshot.iam.instance_profiles[world.profile].role_arns == (world.host_role,)


def test_snapshot_holds_customer_policies_at_their_default_version(
    world: SimpleNamespace, snapshot: Snapshot
) -> None:
    policies = snapshot.iam.managed_policies

    assert "sqs:SendMessage" in str(policies[world.extras].document)
    assert "sqs:*" in str(policies[world.boundary].document)
    assert policies[world.extras].default_version_id == "v1"


def test_baseline_aws_policy_document_is_not_fetched(snapshot: Snapshot) -> None:
    # Given the ECS agent's managed policy (baseline by identity) attached / Then no document
    agent = snapshot.iam.managed_policies[ECS_AGENT_POLICY_ARN]
    assert agent.document is None
    # ... while a non-baseline AWS managed policy is read
    assert "s3:Get" in str(snapshot.iam.managed_policies[S3_READ_ONLY_POLICY_ARN].document)


def test_snapshot_holds_ecs_clusters_hosts_services_and_definitions(
    world: SimpleNamespace, snapshot: Snapshot
) -> None:
    assert snapshot.clusters == (world.cluster,)
    assert snapshot.container_instances == {
        world.container: ContainerInstance(world.container, world.cluster, world.host)
    }
    assert snapshot.services == {
        world.service: Service(world.service, "orders", world.cluster, world.orders_td, "EC2")
    }
    definition = snapshot.task_definitions[world.orders_td]
    assert (definition.family, definition.revision, definition.network_mode) == (
        "orders-api",
        1,
        "bridge",
    )
    assert definition.task_role_arn is None


def test_snapshot_holds_running_tasks_with_their_overrides(
    world: SimpleNamespace, snapshot: Snapshot
) -> None:
    tasks = snapshot.tasks

    assert set(tasks) == {world.plain_task, world.override_task}
    assert tasks[world.override_task].override_task_role_arn == world.task_role
    assert tasks[world.plain_task].override_task_role_arn is None
    assert snapshot.effective_task_role(tasks[world.override_task]) == world.task_role
    assert snapshot.effective_task_role(tasks[world.plain_task]) is None
    assert snapshot.host_of(tasks[world.plain_task]) == snapshot.instances[world.host]


# --- API calls -----------------------------------------------------------------------------


def test_a_small_account_costs_one_authorization_details_page(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a small account, and no AWS managed policy version cached from earlier reads
    monkeypatch.setattr(iam_reader, "_AWS_POLICY_VERSIONS", {})
    session = boto3.Session(region_name=REGION)
    asked: list[str] = []
    session.events.register(
        "provide-client-params.iam.GetPolicyVersion",
        lambda params, **_: asked.append(params["PolicyArn"]),
    )

    # When its IAM is read
    _snapshot, clients = full_snapshot(session)

    # Then one GetAccountAuthorizationDetails page, one listing of the attached AWS policies
    # (their default versions), and only the instance role's non-baseline AWS managed
    # policy document is fetched (never the ECS agent's, nor a task role's)
    calls = clients.counter.calls
    assert calls[("iam", "GetAccountAuthorizationDetails")] == 1
    assert calls[("iam", "ListPolicies")] == 1
    assert asked == [S3_READ_ONLY_POLICY_ARN]
    assert not [
        op for (service, op) in calls if service == "iam" and op in ("GetRole", "GetPolicy")
    ]


def test_scan_summary_counts_api_calls_per_service(
    world: SimpleNamespace, scan: Callable[..., ScanResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no AWS managed policy version cached from earlier reads
    monkeypatch.setattr(iam_reader, "_AWS_POLICY_VERSIONS", {})

    # When the account is scanned
    summary = scan(world.session).as_json()["summary"]

    # Then the calls are counted per service: STS once; IAM one details page plus the
    # S3 read-only policy and its version; EC2 one page (no awsvpc task needs user data);
    # ECS: list clusters, 6 per cluster, list definitions and describe the one revision
    assert summary["api_calls"] == {"ec2": 1, "ecs": 9, "iam": 3, "sts": 1}
    assert summary["api_calls_total"] == 14


# --- targeted reads ------------------------------------------------------------------------


def test_targeted_instance_read_loads_its_role_and_ecs_context(world: SimpleNamespace) -> None:
    # Given an event about the shop host / When only that instance is read
    snapshot = targeted(world).instances([world.host])

    # Then the snapshot holds it, its profile and role, the tasks it runs, and its
    # cluster's services (what may be placed on it decides whether its IMDS is exposed)
    assert snapshot.targeted is True
    assert set(snapshot.instances) == {world.host}
    assert world.host_role in snapshot.iam.roles
    assert set(snapshot.tasks) == {world.plain_task, world.override_task}
    assert set(snapshot.services) == {world.service}
    # ... and evaluating it gives the full scan's finding
    arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{world.host}"
    rule = ids.ECS_HOST_IMDS_EXPOSED
    expected = scanned_for(world, rule, arn)
    assert len(expected) == 1
    assert findings_for(snapshot, rule, arn) == expected


def test_targeted_instance_read_survives_an_id_that_is_not_visible(
    world: SimpleNamespace,
) -> None:
    # Given an event naming the shop host and an instance EC2 does not show (yet, or any more)
    # When both are read
    snapshot = targeted(world).instances([world.host, "i-0123456789abcdef0"])

    # Then the visible one is read, and the batch did not fail for the other
    assert set(snapshot.instances) == {world.host}
    assert not [e for e in snapshot.errors if e.operation == "ec2:DescribeInstances"]


def test_targeted_role_read_loads_its_instances_and_gives_the_same_finding(
    world: SimpleNamespace,
) -> None:
    snapshot = targeted(world).role("shop-host")

    assert set(snapshot.iam.roles) == {world.host_role}
    assert set(snapshot.instances) == {world.host}
    # ... with every running task and service of its hosts' clusters (the outage guard)
    assert set(snapshot.tasks) == {world.plain_task, world.override_task}
    assert set(snapshot.services) == {world.service}
    rule = ids.INSTANCE_ROLE_APP_PERMISSIONS
    expected = scanned_for(world, rule, world.host_role)
    assert len(expected) == 1
    assert expected[0]["remediation"]["blocked_by"]  # the outage guard needs the ECS context
    assert findings_for(snapshot, rule, world.host_role) == expected


def test_targeted_task_definition_read_gives_the_same_finding(world: SimpleNamespace) -> None:
    snapshot = targeted(world).task_definition(world.orders_td)

    assert set(snapshot.task_definitions) == {world.orders_td}
    rule = ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE
    expected = scanned_for(world, rule, world.orders_td)
    assert len(expected) == 1
    [found] = findings_for(snapshot, rule, world.orders_td)
    assert found["evidence"] == expected[0]["evidence"]
    assert found == expected[0]


def test_targeted_task_read_loads_its_definition_and_host(world: SimpleNamespace) -> None:
    # Given an event about one running task / When only what it needs is read
    clients = AwsClients(world.session)
    reader = TargetedReader(clients, REGION, ACCOUNT, "aws", context().skip_document)
    snapshot = reader.task("shop", world.plain_task)

    # Then its host comes from its own container instance, not a listing of the cluster
    ecs_calls = {op for (service, op) in clients.counter.calls if service == "ecs"}
    assert ecs_calls == {"DescribeTasks", "DescribeContainerInstances", "DescribeTaskDefinition"}
    # And the snapshot gives the same finding as the full scan

    assert set(snapshot.tasks) == {world.plain_task}
    assert set(snapshot.task_definitions) == {world.orders_td}
    assert set(snapshot.instances) == {world.host}
    assert world.host_role in snapshot.iam.roles
    rule = ids.ECS_TASK_WITHOUT_TASK_ROLE
    expected = scanned_for(world, rule, world.plain_task)
    assert len(expected) == 1
    assert expected[0]["severity"] == "critical"
    assert findings_for(snapshot, rule, world.plain_task) == expected


def test_every_rule_runs_on_the_full_scan(world: SimpleNamespace) -> None:
    assert world.full.rules == list(RULE_IDS)
    assert world.full.errors == []
