"""The benchmarks' small account, in-process: a scan finds exactly the violations seeded,
and reads the account with the fewest calls AWS's page sizes allow; an IAM role event
reads its context once per container."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from benchmarks.accounts import (
    DEFINITION_WITHOUT_ROLE,
    SHARED_ROLE,
    SIZES,
    SeededAccount,
    seed_account,
)
from benchmarks.aws_pages import minimum_sweep_calls
from benchmarks.events_once import EVENTS_DIR, fixed_ids, fresh, sample_event
from benchmarks.meter import CallMeter
from functional.conftest import TODAY
from functional.events import TASK_DEFINITION_ARN, Invoker, load_event
from rolewarden.demo.builders import EXEMPT_REASON_TAG, EXEMPT_UNTIL_TAG
from rolewarden.evaluation.account import ScanResult
from rolewarden.handlers.events import handler
from rolewarden.inventory import iam as iam_reader
from rolewarden.rules.model import finding_id

READS = ("sts", "iam", "ec2", "ecs")  # a scan's services; the sweep adds its alerts


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoker:
    """The event function in one container of its own (see `Invoker`)."""
    return Invoker(monkeypatch, capsys)


@pytest.fixture(scope="module")
def small(moto_account: Callable[[], Any]) -> Iterator[tuple[boto3.Session, SeededAccount]]:
    with moto_account() as session:
        yield session, seed_account(session, SIZES["small"], seed=6, today=TODAY)


def test_a_scan_reports_exactly_the_violations_seeded(
    small: tuple[boto3.Session, SeededAccount], scan: Callable[..., ScanResult]
) -> None:
    # Given the small benchmark account / When it is scanned
    session, seeded = small
    result = scan(session)

    # Then the findings are the violations planted, no more, no fewer
    assert result.errors == []
    assert {(finding.rule, finding.resource_arn) for finding in result.findings} == (
        seeded.violations
    )
    assert len(seeded.violations) > 30  # every rule is broken somewhere, several times


def test_a_scan_makes_the_fewest_calls_aws_page_sizes_allow(
    small: tuple[boto3.Session, SeededAccount],
    scan: Callable[..., ScanResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the small account, and no AWS managed policy document cached from earlier reads
    session, seeded = small
    monkeypatch.setattr(iam_reader, "_AWS_POLICY_VERSIONS", {})
    counted = boto3.Session(region_name=session.region_name)
    meter = CallMeter().attach(counted)
    page_sizes: dict[str, Any] = {}

    def remember_page_size(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name.startswith(("List", "GetAccount", "DescribeInstances")):
            size = params.get("MaxItems") or params.get("maxResults") or params.get("MaxResults")
            page_sizes[model.name] = size

    counted.events.register("before-parameter-build", remember_page_size)

    # When it is scanned
    scan(counted)

    # Then each service is asked exactly as often as the minimum that can see the account
    minimum = minimum_sweep_calls(seeded.counts, findings=0, announced=0, table_bytes=0)
    assert meter.per_service() == {service: minimum[service] for service in READS}
    # ... and every listing asks for the largest page its API allows
    assert page_sizes == {
        "GetAccountAuthorizationDetails": 1000,
        "ListPolicies": 1000,
        "ListInstanceProfiles": 1000,
        "DescribeInstances": 1000,
        "ListClusters": 100,
        "ListContainerInstances": 100,
        "ListTasks": 100,
        "ListServices": 100,
        "ListTaskDefinitions": 100,
    }


# --- one IAM role event, in a cold container and then a warm one -------------------------


def _role_event(seeded: SeededAccount) -> dict[str, Any]:
    """AttachRolePolicy on the sample role, ecs-host-1 (as `make bench` sends it)."""
    sample = EVENTS_DIR / "cloudtrail-attach-role-policy.json"
    return fresh(sample_event(sample, fixed_ids(seeded.samples)))


def _role_cluster_context(session: boto3.Session, seeded: SeededAccount) -> tuple[set[str], int]:
    """What the outage guard reads in the cluster of the sample role's hosts (cluster 1),
    asked of ECS directly: the revisions its running tasks and services run, and the hosts
    of its awsvpc tasks without a task role (their user data says whether IMDS is blocked)."""
    cluster = seeded.counts.clusters[1]
    ecs = session.client("ecs")
    task_arns = ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=task_arns)["tasks"]
    services = ecs.describe_services(
        cluster=cluster, services=ecs.list_services(cluster=cluster)["serviceArns"]
    )["services"]
    revisions = {task["taskDefinitionArn"] for task in tasks}
    revisions |= {service["taskDefinition"] for service in services}
    described = {
        arn: ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"] for arn in revisions
    }
    user_data_hosts = {
        task["containerInstanceArn"]
        for task in tasks
        if described[task["taskDefinitionArn"]].get("networkMode") == "awsvpc"
        and not described[task["taskDefinitionArn"]].get("taskRoleArn")
        and not (task.get("overrides") or {}).get("taskRoleArn")
    }
    return revisions, len(user_data_hosts)


def test_a_role_event_in_a_warm_container_reads_no_context_twice(
    small: tuple[boto3.Session, SeededAccount], invoke: Invoker
) -> None:
    # Given the small account: the sample role's 6 hosts are registered in one of its 3
    # clusters, whose tasks and services run these revisions
    session, seeded = small
    revisions, user_data_hosts = _role_cluster_context(session, seeded)
    inline_policies = len(
        session.client("iam").list_role_policies(RoleName=seeded.samples["role"])["PolicyNames"]
    )
    event = _role_event(seeded)

    # When a fresh container decides the role event, and then decides it again
    cold = invoke(handler, event)
    warm = invoke(handler, fresh(event))

    # Then the cold one lists every cluster to find the hosts, and reads each revision once
    assert cold.result["status"] == "evaluated" and cold.result["scan_errors"] == []
    role_reads = {
        "iam:GetRole": 1,
        "iam:ListInstanceProfilesForRole": 1,  # with the profiles' roles: no GetInstanceProfile
        "iam:ListRolePolicies": 1,
        "iam:GetRolePolicy": inline_policies,
        "iam:ListAttachedRolePolicies": 1,  # the ECS agent's and SSM's: baseline, not read
        "ec2:DescribeInstances": 1,  # the profile's instances, read whole at once
        "ec2:DescribeInstanceAttribute": user_data_hosts,
    }
    workloads = {
        "ecs:DescribeContainerInstances": 1,
        "ecs:ListTasks": 1,
        "ecs:ListServices": 1,
        "ecs:DescribeTasks": 1,
        "ecs:DescribeServices": 1,
    }
    assert Counter(cold.operations) == Counter(
        {
            **role_reads,
            "sts:GetCallerIdentity": 1,  # the container's own account, asked once
            "ecs:ListClusters": 1,
            "ecs:ListContainerInstances": 3,
            **workloads,
            "ecs:DescribeTaskDefinition": len(revisions),
        }
    )
    # ... and the warm one confirms where the hosts are registered, and reads no revision
    assert Counter(warm.operations) == Counter({**role_reads, **workloads})
    assert warm.result["findings"] == cold.result["findings"]
    assert warm.result["evaluations"] == cold.result["evaluations"] == 1


def test_the_revision_an_event_is_about_is_read_afresh_even_when_remembered(
    small: tuple[boto3.Session, SeededAccount], invoke: Invoker
) -> None:
    # Given a container that read a cluster's revisions as a role event's context, one of
    # them a finding of its own (it shares the execution role, or has no task role)
    session, seeded = small
    invoke(handler, _role_event(seeded))
    revisions, _ = _role_cluster_context(session, seeded)
    judged = sorted(
        (arn, rule)
        for rule, arn in seeded.violations
        if rule in (DEFINITION_WITHOUT_ROLE, SHARED_ROLE) and arn in revisions
    )
    assert judged and all(invoke.cache.revision(seeded.account, arn) for arn, _ in judged)
    arn, rule = judged[0]
    tag_event = load_event("cloudtrail-tag-resource", **{TASK_DEFINITION_ARN: arn})
    before = invoke(handler, fresh(tag_event))

    # When the revision is then exempted, and its TagResource event arrives
    ecs = session.client("ecs")
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    ecs.tag_resource(
        resourceArn=arn,
        tags=[
            {"key": EXEMPT_UNTIL_TAG, "value": until},
            {"key": EXEMPT_REASON_TAG, "value": "benchmark test: accepted risk"},
        ],
    )
    try:
        after = invoke(handler, fresh(tag_event))
    finally:
        ecs.untag_resource(resourceArn=arn, tagKeys=[EXEMPT_UNTIL_TAG, EXEMPT_REASON_TAG])

    # Then both events read the revision with its tags, and the second sees the exemption
    finding = finding_id(rule, arn)
    assert finding in before.result["findings"]
    assert finding not in after.result["findings"]
    for decided in (before, after):
        assert {"taskDefinition": arn, "include": ["TAGS"]} in decided.params_of(
            "DescribeTaskDefinition"
        )
