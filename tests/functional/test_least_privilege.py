"""Least privilege, proven: each function's role grants exactly the AWS calls its code makes.

Every sample in events/ is sent to the function that serves it, against an account with
something for every code path to read; each AWS operation is recorded (botocore events)
per function and compared with what template.yaml grants that function's role. The
remediate function also runs every action and its restore, and the event and sweep
functions hand a finding over to it (a rule in remediate mode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from cfn_template import actions, load_template, statements
from functional import events as samples
from rolewarden.demo.alerts import SlackStandIn
from rolewarden.demo.builders import (
    SSM_CORE_POLICY_ARN,
    DemoAccount,
    create_instance_profile,
    create_role,
    default_security_group,
    default_subnet,
    launch_instance,
    register_task_definition,
    run_task,
    seed_demo_account,
)
from rolewarden.handlers import config_rule, events, remediate, sweep
from rolewarden.inventory import iam as iam_reader
from rolewarden.remediation.journal import Journal, create_table

# Permissions no API call of our code shows: what Lambda and the runtime do for a function.
NOT_CALLED_BY_CODE = {
    "logs:CreateLogStream",  # Lambda writes the function's logs
    "logs:PutLogEvents",
    "xray:PutTraceSegments",  # the X-Ray daemon sends the Tracer's segments
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",  # Lambda sends failed async invocations to the dead-letter queue
    # Powertools idempotency deletes the in-progress record of an invocation that raised.
    "dynamodb:DeleteItem",
    # Associating an instance profile passes its role to EC2: a permission, not a call.
    "iam:PassRole",
    # SNS encrypts a message with the topic's KMS key on the publisher's behalf.
    "kms:GenerateDataKey*",
    "kms:Decrypt",
}
# botocore operation -> the IAM action that allows it, where the names differ.
IAM_ACTION_OF = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "sns:PublishBatch": "sns:Publish",
    "dynamodb:TransactWriteItems": "dynamodb:UpdateItem",
}
BASELINE = "rolewarden-baseline"
# Every function runs as deployed: journal, idempotency, hand-over to the remediate
# function, and a rule whose findings RoleWarden may fix on its own.
DEPLOYED = {
    "regions": "us-east-1,eu-west-1",
    "journal_table": "journal",
    "idempotency_table": "idempotency",
    "remediate_function": "rolewarden-remediate",
    "baseline_instance_profile": BASELINE,
    "rule_modes": "ec2-instance-without-profile=remediate",
    "findings_table": "findings",
    "topic_arn": "arn:aws:sns:us-east-1:123456789012:rolewarden-alerts",
    "slack_secret_name": "rolewarden/slack",
}

FUNCTIONS: dict[str, tuple[Callable[..., Any], str]] = {
    "ConfigRuleFunction": (config_rule.handler, "config-"),
    "EventFunction": (events.handler, "cloudtrail-|ecs-"),
    "SweepFunction": (sweep.handler, "schedule-|sweep-"),
    "RemediateFunction": (remediate.handler, "remediate-"),
}


def granted(function: str) -> set[str]:
    """The actions template.yaml grants the function's role."""
    resources = load_template()["Resources"]
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return {
        action
        for policy in resources[role]["Properties"]["Policies"]
        for statement in statements(policy["PolicyDocument"])
        for action in actions(statement)
    }


@pytest.fixture
def account(mock_aws: boto3.Session) -> Iterator[tuple[DemoAccount, str]]:
    """The demo account, plus an awsvpc task without a task role on the payments host
    (its host's user data decides whether it reaches IMDS, so that read happens too), and
    the alert channels: the topic, and Slack (a local stand-in, its URL in the secret)."""
    with SlackStandIn() as slack:
        mock_aws.client("secretsmanager").create_secret(
            Name=DEPLOYED["slack_secret_name"], SecretString=slack.url
        )
        demo = seed_demo_account(mock_aws)
        create_role(mock_aws.client("iam"), BASELINE, managed_policy_arns=(SSM_CORE_POLICY_ARN,))
        create_instance_profile(mock_aws.client("iam"), BASELINE, BASELINE)
        dynamodb = mock_aws.client("dynamodb")
        create_table(dynamodb, DEPLOYED["journal_table"])
        dynamodb.create_table(
            TableName=DEPLOYED["idempotency_table"],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName=DEPLOYED["findings_table"],
            AttributeDefinitions=[{"AttributeName": "finding_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "finding_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        mock_aws.client("sns").create_topic(Name="rolewarden-alerts")
        ecs, ec2 = mock_aws.client("ecs"), mock_aws.client("ec2")
        # An instance whose profile was deleted: a whole-account read lists the profiles,
        # then asks for the one it did not list by name.
        iam = mock_aws.client("iam")
        launch_instance(ec2, profile_arn=create_instance_profile(iam, "deleted", None))
        iam.delete_instance_profile(InstanceProfileName="deleted")
        batch = register_task_definition(ecs, "batch", network_mode="awsvpc")
        subnet = default_subnet(ec2)
        task = run_task(
            ecs,
            "payments",
            batch,
            subnet_id=subnet,
            security_group_ids=[default_security_group(ec2, subnet)],
        )
        yield demo, task


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
        if samples.JOURNAL_ID in text:  # restore what the samples changed before
            entries = Journal(mock_aws.client("dynamodb"), "journal").entries()
            deleted = next(e for e in entries if e.action == "delete-inline-policy")
            event = samples.load_event(name, **{samples.JOURNAL_ID: deleted.journal_id})
        invocation = invoke(handler, event, **DEPLOYED)
        called |= {_action(call) for call in invocation.calls}
    # Then the role grants every call made, and nothing else but the listed extras
    called |= {_action(call) for call in _more_paths(function, account[0], invoke).calls}
    allowed = granted(function)
    assert called - allowed == set(), f"{function} calls what its role does not grant"
    assert allowed - called - NOT_CALLED_BY_CODE == set(), f"{function} is granted unused calls"


def _action(call: samples.AwsCall) -> str:
    """botocore's service names are the IAM prefixes for every service RoleWarden calls."""
    operation = f"{call.service}:{call.operation}"
    return IAM_ACTION_OF.get(operation, operation)


def _more_paths(function: str, demo: DemoAccount, invoke: samples.Invoker) -> samples.AwsCalls:
    """What the samples alone do not reach: hand-overs, and every action with its restore."""
    calls = samples.AwsCalls()
    legacy = f"arn:aws:ec2:us-east-1:{demo.account_id}:instance/{demo.legacy_batch_instance_id}"
    if function == "EventFunction":
        event = samples.load_event(
            "cloudtrail-run-instances", **{samples.INSTANCE_ID: demo.legacy_batch_instance_id}
        )
        event["id"] = "another-delivery"  # the samples' id was handled once already
        for _delivery in range(2):  # the repeat is recognised, not evaluated
            calls.calls += invoke(events.handler, event, **DEPLOYED).calls
    if function == "SweepFunction":  # a finding gone since the last sweep is resolved
        boto3.client("ec2").terminate_instances(InstanceIds=[demo.legacy_batch_instance_id])
        calls.calls += invoke(sweep.handler, samples.load_event("schedule-sweep"), **DEPLOYED).calls
    if function != "RemediateFunction":
        return calls
    orphan = f"arn:aws:ec2:us-east-1:{demo.account_id}:instance/{demo.orphan_profile_instance_id}"
    requests = [
        # automatic: the caps counter, then AssociateIamInstanceProfile
        {"rule": "ec2-instance-without-profile", "resource_arn": legacy, "automatic": True},
        # a person replaces a profile without a role
        {"rule": "instance-profile-without-role", "resource_arn": orphan},
        # a person detaches the managed policy only
        {
            "rule": "instance-role-app-permissions",
            "resource_arn": demo.shop_host_role_arn,
            "action": "detach-managed-policy",
            "force": True,
        },
    ]
    for request in requests:
        done = invoke(
            remediate.handler,
            {**request, "dry_run": False, "requested_by": "jane", "event_id": "e-1"},
            **DEPLOYED,
        )
        assert done.result["status"] == "applied", done.result
        calls.calls += done.calls
        (entry,) = done.result["journal"]
        restore = {"restore": entry["journal_id"], "dry_run": False, "requested_by": "jane"}
        restored = invoke(remediate.handler, restore, **DEPLOYED)
        assert restored.result["status"] == "restored", restored.result
        calls.calls += restored.calls
    # a person's plan for a host its Auto Scaling group launched: whose stack is the ASG's
    host_id = demo.shop_host_imdsv1_instance_id
    boto3.client("ec2").modify_instance_metadata_options(  # exposed again, if fixed above
        InstanceId=host_id, HttpTokens="optional", HttpPutResponseHopLimit=2
    )
    host = f"arn:aws:ec2:us-east-1:{demo.account_id}:instance/{host_id}"
    plan = {"rule": "ecs-host-imds-exposed", "resource_arn": host, "requested_by": "jane"}
    planned = invoke(remediate.handler, plan, **DEPLOYED)
    assert planned.result["status"] in ("planned", "refused"), planned.result
    calls.calls += planned.calls
    return calls
