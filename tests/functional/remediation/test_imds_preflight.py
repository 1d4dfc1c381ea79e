"""enforce-imdsv2's pre-flight, in moto: the instance's MetadataNoToken metric decides.

Scenarios:
  1. IMDSv1 calls in the lookback window -> refused for RoleWarden on its own and for a
     person without --force, saying how many and when the last was; forced, applied and
     journaled with that reason. One GetMetricData call per request, none more to apply.
  2. Only zeros in the window -> applied, nothing forced; calls older than the window
     (ROLEWARDEN_IMDS_LOOKBACK_DAYS) do not count.
  3. The metric cannot be read (AccessDenied), or has no data -> unknown: refused
     automatically and without --force, saying so; a person forcing it may proceed.
  4. A host that already requires IMDSv2 (only its hop limit changes) reads no metric.
  5. The hop limit applied is the one the finding chose: 2 on a host whose bridge task
     has no task role (forced past the outage guard), and the plan says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functional.accounts import REGION, instance_arn, make_host, short
from functional.events import AwsCalls, recorded_session
from functional.journals import create_table, signed_journal
from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import create_cluster, register_task_definition, run_task
from rolewarden.remediation.journal import Status
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.remediation.request import Request
from rolewarden.remediation.service import RemediationService
from rolewarden.rules import ids
from rolewarden.settings import Settings

RULE = ids.ECS_HOST_IMDS_EXPOSED
PERSON = Request(actor="alice@example.com", apply=True)
PERSON_FORCING = Request(actor="alice@example.com", apply=True, force=True)
AUTOMATIC = Request(actor="sweep", apply=True, automatic=True)
REMEDIATE = {"rule_modes": {RULE: "remediate"}}
UNKNOWN_SUFFIX = "; requiring IMDSv2 would break anything on {0} that still uses IMDSv1"


@pytest.fixture
def aws(mock_aws: boto3.Session) -> Iterator[SimpleNamespace]:
    calls = AwsCalls()
    session = recorded_session(calls)
    create_table(session.client("dynamodb"), "journal")
    create_cluster(session.client("ecs"), "web")
    yield SimpleNamespace(
        session=session,
        calls=calls,
        journal=signed_journal(session.client("dynamodb"), "journal"),
    )


def host(aws: SimpleNamespace, name: str = "web-host") -> str:
    """An ECS host allowing IMDSv1, nothing running on it: only the metric stands in the way."""
    made = make_host(
        aws.session, name, cluster="web", http_tokens="optional", metadata_no_token=None
    )
    return made.instance_id


def no_token_calls(aws: SimpleNamespace, instance_id: str, *points: tuple[datetime, float]) -> None:
    aws.session.client("cloudwatch").put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "MetadataNoToken",
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                "Timestamp": when,
                "Value": value,
            }
            for when, value in points
        ],
    )


def remediate(aws: SimpleNamespace, instance_id: str, request: Request, **settings: Any) -> Outcome:
    clients = AwsClients(aws.session, home_region=REGION)
    service = RemediationService(clients, Settings(**settings), [REGION], aws.journal, cli=True)
    return service.by_resource(RULE, instance_arn(instance_id), request)


def tokens(aws: SimpleNamespace, instance_id: str) -> tuple[str, int]:
    ec2 = aws.session.client("ec2")
    [reservation] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    options = reservation["Instances"][0]["MetadataOptions"]
    return options["HttpTokens"], options["HttpPutResponseHopLimit"]


def metric_reads(aws: SimpleNamespace) -> int:
    return sum(1 for call in aws.calls.calls if call.operation == "GetMetricData")


def deny_metric_reads(aws: SimpleNamespace) -> None:
    """CloudWatch says AccessDenied (moto does not enforce IAM)."""

    def denied(model: Any, **_: Any) -> Any:
        if model.name != "GetMetricData":
            return None
        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
        return SimpleNamespace(status_code=400, headers={}), error

    aws.session.events.register("before-call.cloudwatch.GetMetricData", denied)


def test_scenario_1_imdsv1_calls_in_the_window_leave_it_to_a_person(aws: SimpleNamespace) -> None:
    # Given a host that answered 3 and then 4 IMDSv1 calls in the last two days
    instance = host(aws)
    now = datetime.now(UTC)
    last = now - timedelta(hours=26)
    no_token_calls(aws, instance, (now - timedelta(days=2), 3), (last, 4), (now, 0))

    # When RoleWarden enforces IMDSv2 on its own, and a person without --force
    automatic = remediate(aws, instance, AUTOMATIC, **REMEDIATE)
    person = remediate(aws, instance, PERSON)

    # Then both are refused, saying how many calls and when the last one was
    assert automatic.status is OutcomeStatus.REFUSED
    (reason,) = automatic.reasons
    pattern = (
        rf"not automatic: IMDSv1 in use: {instance} answered 7 IMDSv1 calls \(CloudWatch "
        r"MetadataNoToken\) in the last 14 days, the last in the hour from "
        r"(\d{4}-\d\d-\d\d \d\d:\d\d) UTC; requiring IMDSv2 would break what makes them: "
        r"move it to IMDSv2 \(a current AWS SDK or CLI\) first"
    )
    found = re.fullmatch(pattern, reason)
    assert found, reason
    shown = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert timedelta(0) <= last - shown < timedelta(hours=1, minutes=1)  # the hour it fell in
    assert person.status is OutcomeStatus.REFUSED
    assert person.reasons == [
        "blocked unless forced (--force): " + reason.removeprefix("not automatic: ")
    ]
    # And nothing changed, one metric read per request
    assert tokens(aws, instance) == ("optional", 1)
    assert aws.journal.entries() == []
    assert metric_reads(aws) == 2

    # When the person forces it / Then IMDSv2 is required, the reason journaled as forced,
    # and applying read the metric no more
    aws.calls.clear()
    forced = remediate(aws, instance, PERSON_FORCING)
    assert forced.status is OutcomeStatus.APPLIED, forced.reasons
    assert tokens(aws, instance) == ("required", 1)
    (entry,) = aws.journal.entries()
    assert (entry.status, entry.forced) == (
        Status.VERIFIED,
        [reason.removeprefix("not automatic: ")],
    )
    assert metric_reads(aws) == 1


def test_scenario_2_no_imdsv1_call_in_the_window_lets_it_through(aws: SimpleNamespace) -> None:
    # Given a host with 9 IMDSv1 calls 10 days ago and none since, a lookback of 7 days
    instance = host(aws)
    now = datetime.now(UTC)
    no_token_calls(aws, instance, (now - timedelta(days=10), 9), (now - timedelta(hours=2), 0))

    # When RoleWarden enforces IMDSv2 on its own
    outcome = remediate(aws, instance, AUTOMATIC, imds_lookback_days=7, **REMEDIATE)

    # Then it is applied, nothing forced
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert tokens(aws, instance) == ("required", 1)
    assert [entry.forced for entry in aws.journal.entries()] == [[]]
    assert metric_reads(aws) == 1


def test_scenario_2_the_default_window_sees_the_older_calls(aws: SimpleNamespace) -> None:
    instance = host(aws)
    now = datetime.now(UTC)
    no_token_calls(aws, instance, (now - timedelta(days=10), 9), (now - timedelta(hours=2), 0))

    outcome = remediate(aws, instance, AUTOMATIC, **REMEDIATE)

    assert outcome.status is OutcomeStatus.REFUSED
    assert "answered 9 IMDSv1 calls" in outcome.reasons[0]
    assert tokens(aws, instance) == ("optional", 1)


def test_scenario_3_an_unreadable_metric_is_unknown_and_only_a_person_proceeds(
    aws: SimpleNamespace,
) -> None:
    # Given a host whose MetadataNoToken metric RoleWarden may not read
    instance = host(aws)
    deny_metric_reads(aws)
    unknown = (
        "IMDSv1 use unknown: MetadataNoToken could not be read (cloudwatch:GetMetricData: "
        "AccessDenied: not authorized)" + UNKNOWN_SUFFIX.format(instance)
    )

    # When RoleWarden enforces IMDSv2 on its own, and a person without --force
    automatic = remediate(aws, instance, AUTOMATIC, **REMEDIATE)
    person = remediate(aws, instance, PERSON)

    # Then both are refused, saying the metric could not be read
    assert (automatic.status, automatic.reasons) == (
        OutcomeStatus.REFUSED,
        [f"not automatic: {unknown}"],
    )
    assert person.reasons == [f"blocked unless forced (--force): {unknown}"]
    assert tokens(aws, instance) == ("optional", 1)

    # When the person forces it / Then it is applied, and the journal says what was forced
    forced = remediate(aws, instance, PERSON_FORCING)
    assert forced.status is OutcomeStatus.APPLIED, forced.reasons
    assert [entry.forced for entry in aws.journal.entries()] == [[unknown]]


def test_scenario_3_no_data_at_all_is_unknown(aws: SimpleNamespace) -> None:
    instance = host(aws)

    outcome = remediate(aws, instance, AUTOMATIC, **REMEDIATE)

    assert outcome.reasons == [
        f"not automatic: IMDSv1 use unknown: CloudWatch has no MetadataNoToken data for "
        f"{instance} in the last 14 days (a new or stopped instance, or metrics not published)"
        + UNKNOWN_SUFFIX.format(instance)
    ]
    assert tokens(aws, instance) == ("optional", 1)


def test_scenario_4_a_host_requiring_imdsv2_already_reads_no_metric(aws: SimpleNamespace) -> None:
    # Given a host requiring IMDSv2 with hop limit 3
    instance = make_host(aws.session, "hop-host", cluster="web", hop_limit=3).instance_id

    # When RoleWarden enforces IMDSv2 (hop limit 1) on its own
    outcome = remediate(aws, instance, AUTOMATIC, **REMEDIATE)

    # Then it is applied without reading CloudWatch: no IMDSv1 call can break
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert tokens(aws, instance) == ("required", 1)
    assert metric_reads(aws) == 0


def test_scenario_5_a_bridge_task_without_a_task_role_keeps_hop_limit_2(
    aws: SimpleNamespace,
) -> None:
    # Given an IMDSv1 host running a bridge task without a task role, no IMDSv1 call
    made = make_host(aws.session, "legacy-host", cluster="web", http_tokens="optional")
    ecs = aws.session.client("ecs")
    definition = register_task_definition(ecs, "legacy")
    task = run_task(ecs, "web", definition, container_instance_arn=made.container_instance_arn)
    no_token_calls(aws, made.instance_id, (datetime.now(UTC) - timedelta(hours=1), 0))

    # When a person forces past the outage guard
    outcome = remediate(aws, made.instance_id, PERSON_FORCING)

    # Then IMDSv2 is required with hop limit 2, and the plan says why
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert tokens(aws, made.instance_id) == ("required", 2)
    (change,) = outcome.plan
    assert change.summary == (
        f"require IMDSv2 with hop limit 2 on {made.instance_id} (was HttpTokens=optional, hop "
        f"limit 1); hop limit 2, not 1: task {short(task)} (legacy:1) without a task role get "
        "the host's credentials from IMDS, one hop away from their container (bridge mode, "
        "or a task definition not read); give them a task role, then enforce again for hop "
        "limit 1"
    )
