"""Least privilege, proven: each function's role grants exactly the AWS calls its code makes.

Every sample in events/ is sent to the function that serves it, against an account with
something for every code path to read; each AWS operation is recorded (botocore events)
per function and compared with what template.yaml grants that function's role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from cfn_template import load_template
from functional import events as samples
from rolewarden.demo.builders import (
    DemoAccount,
    default_security_group,
    default_subnet,
    register_task_definition,
    run_task,
    seed_demo_account,
)
from rolewarden.handlers import config_rule, events, sweep
from rolewarden.inventory import iam as iam_reader

# Permissions no API call of our code shows: what Lambda and the runtime do for a function.
NOT_CALLED_BY_CODE = {
    "logs:CreateLogStream",  # Lambda writes the function's logs
    "logs:PutLogEvents",
    "xray:PutTraceSegments",  # the X-Ray daemon sends the Tracer's segments
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",  # Lambda sends failed async invocations to the dead-letter queue
}

FUNCTIONS: dict[str, tuple[Callable[..., Any], str]] = {
    "ConfigRuleFunction": (config_rule.handler, "config-"),
    "EventFunction": (events.handler, "cloudtrail-|ecs-"),
    "SweepFunction": (sweep.handler, "schedule-|sweep-"),
}


def granted(function: str) -> set[str]:
    """The actions template.yaml grants the function's role."""
    resources = load_template()["Resources"]
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    actions: set[str] = set()
    for policy in resources[role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            listed = statement["Action"]
            actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


@pytest.fixture
def account(mock_aws: boto3.Session) -> tuple[DemoAccount, str]:
    """The demo account, plus an awsvpc task without a task role on the payments host
    (its host's user data decides whether it reaches IMDS, so that read happens too)."""
    demo = seed_demo_account(mock_aws)
    ecs, ec2 = mock_aws.client("ecs"), mock_aws.client("ec2")
    batch = register_task_definition(ecs, "batch", network_mode="awsvpc")
    subnet = default_subnet(ec2)
    task = run_task(
        ecs,
        "payments",
        batch,
        subnet_id=subnet,
        security_group_ids=[default_security_group(ec2, subnet)],
    )
    return demo, task


def replacements(demo: DemoAccount, session: boto3.Session, batch_task: str) -> dict[str, str]:
    """The samples' ids -> this account's. Task events name the awsvpc task without a
    task role, so reading its host's user data is exercised too."""
    role = session.client("iam").get_role(RoleName=samples.ROLE_NAME)["Role"]
    return {
        samples.INSTANCE_ID: demo.shop_host_imdsv1_instance_id,
        samples.ROLE_ID: role["RoleId"],
        samples.INSTANCE_PROFILE_NAME: demo.shop_host_profile_arn.rsplit("/", 1)[-1],
        samples.POLICY_ARN: "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        samples.TASK_ARN: batch_task,
        samples.CLUSTER_ARN: demo.payments_cluster_arn,
        samples.CONTAINER_INSTANCE_ARN: demo.payments_host_container_instance_arn,
    }


@pytest.fixture
def invoke(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[samples.Invoker]:
    yield samples.Invoker(monkeypatch, capsys)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_role_grants_exactly_what_the_code_calls(
    function: str,
    account: tuple[DemoAccount, str],
    mock_aws: boto3.Session,
    invoke: samples.Invoker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given every sample event this function serves, with the account's real ids
    handler, prefixes = FUNCTIONS[function]
    names = [n for p in prefixes.split("|") for n in samples.event_names(p)]
    assert names, f"no sample event for {function}"
    ids = replacements(*account[:1], mock_aws, account[1])
    called: set[str] = set()
    # When each is handled (IAM changes re-evaluated in two regions)
    for name in names:
        text = (samples.EVENTS_DIR / f"{name}.json").read_text()
        event = samples.load_event(name, **{k: v for k, v in ids.items() if k in text})
        # (AWS managed policy versions are cached per process: start each run cold)
        monkeypatch.setattr(iam_reader, "_AWS_POLICY_VERSIONS", {})
        invocation = invoke(handler, event, regions="us-east-1,eu-west-1")
        called |= {_action(call) for call in invocation.calls}
    # Then the role grants every call made, and nothing else but the listed extras
    allowed = granted(function)
    assert called - allowed == set(), f"{function} calls what its role does not grant"
    assert allowed - called - NOT_CALLED_BY_CODE == set(), f"{function} is granted unused calls"


def _action(call: samples.AwsCall) -> str:
    """botocore's service names are the IAM prefixes for every service RoleWarden calls."""
    return f"{call.service}:{call.operation}"
