"""Alerts from the functions, as a subscriber of the topic receives them (an SQS queue).

Scenarios:
  1. An event's new finding is announced once; the same finding from another event
     within ROLEWARDEN_DEDUP_HOURS is not announced again. A launch announces the
     finding of the instance's role too.
  2. A sweep sends one digest plus one message per finding new since the last sweep (ten
     to a PublishBatch, one Scan of the findings table); the next sweep sends the digest
     only; a finding fixed since is listed as resolved.
  3. An exemption added by tag is announced, naming who did it (and the rules it is
     limited to; removing the rules tag alone widens it to every rule).
  4. The remediate function announces the remediation it applied, with the restore command.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functional.events import (
    ACTOR_ARN,
    EXEMPT_REASON,
    EXEMPT_UNTIL,
    INSTANCE_ID,
    ROLE_NAME,
    Invoker,
    load_event,
)
from functional.journals import create_table
from rolewarden.demo.builders import (
    SSM_CORE_POLICY_ARN,
    create_instance_profile,
    create_role,
    seed_demo_account,
)
from rolewarden.handlers import events, remediate, sweep
from rolewarden.rules import ids


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoker:
    return Invoker(monkeypatch, capsys)


@pytest.fixture
def demo(mock_aws: boto3.Session) -> Iterator[SimpleNamespace]:
    account = seed_demo_account(mock_aws)
    dynamodb, sns, sqs = (mock_aws.client(name) for name in ("dynamodb", "sns", "sqs"))
    dynamodb.create_table(
        TableName="findings",
        AttributeDefinitions=[{"AttributeName": "finding_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "finding_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    create_table(dynamodb, "journal")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    yield SimpleNamespace(
        session=mock_aws,
        account=account,
        queue=queue,
        settings={"topic_arn": topic, "findings_table": "findings"},
    )


def inbox(demo: SimpleNamespace) -> list[dict[str, Any]]:
    """Every message that arrived since the last look: subject, attributes, message."""
    sqs = demo.session.client("sqs")
    arrived = []
    while True:
        batch = sqs.receive_message(QueueUrl=demo.queue, MaxNumberOfMessages=10)
        messages = batch.get("Messages", [])
        if not messages:
            return arrived
        for message in messages:
            envelope = json.loads(message["Body"])
            attributes = envelope.get("MessageAttributes", {})
            arrived.append(
                {
                    "subject": envelope["Subject"],
                    "attributes": {name: value["Value"] for name, value in attributes.items()},
                    "message": json.loads(envelope["Message"]),
                }
            )
            sqs.delete_message(QueueUrl=demo.queue, ReceiptHandle=message["ReceiptHandle"])


def test_an_events_new_finding_is_announced_once(demo: SimpleNamespace, invoke: Invoker) -> None:
    # Given IMDSv1 re-enabled on a host (ecs-host-imds-exposed)
    host = demo.account.shop_host_imdsv1_instance_id
    event = load_event("cloudtrail-modify-instance-metadata-options", **{INSTANCE_ID: host})

    # When the event evaluator handles it
    invoke(events.handler, event, **demo.settings)

    # Then the finding is announced, with its attributes
    (alert,) = inbox(demo)
    assert alert["attributes"]["kind"] == "finding"
    assert alert["attributes"]["rule"] == ids.ECS_HOST_IMDS_EXPOSED
    assert alert["message"]["finding"]["resource_id"] == host
    assert alert["message"]["trigger"] == f"event:{event['id']}"

    # And when another event names the same host within the quiet period, nothing is sent
    invoke(events.handler, {**event, "id": "another-event"}, **demo.settings)
    assert inbox(demo) == []


def test_a_launch_announces_the_finding_of_the_instances_role_too(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given RunInstances of an IMDSv1 host whose role holds application permissions
    host = demo.account.shop_host_imdsv1_instance_id
    event = load_event("cloudtrail-run-instances", **{INSTANCE_ID: host})

    # When the event evaluator handles it
    invoke(events.handler, event, **demo.settings)

    # Then the host's finding and its role's are announced, the same way
    announced = {
        (alert["attributes"]["rule"], alert["message"]["finding"]["resource_arn"])
        for alert in inbox(demo)
    }
    assert announced == {
        (ids.ECS_HOST_IMDS_EXPOSED, f"arn:aws:ec2:us-east-1:123456789012:instance/{host}"),
        (ids.INSTANCE_ROLE_APP_PERMISSIONS, demo.account.shop_host_role_arn),
    }


def test_a_sweep_sends_a_digest_and_the_new_findings_only(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # When the sweep runs the first time
    first = invoke(sweep.handler, load_event("schedule-sweep"), **demo.settings)
    arrived = inbox(demo)
    kinds = sorted(alert["attributes"]["kind"] for alert in arrived)
    # Then one digest and one message per finding (all new)
    assert kinds == ["digest"] + ["finding"] * first.result["findings"]
    (digest,) = [a for a in arrived if a["attributes"]["kind"] == "digest"]
    assert len(digest["message"]["new_findings"]) == first.result["findings"]
    # And the findings went ten to a PublishBatch, then the digest; one transaction marked
    # them announced, and the findings table was scanned once
    batches = -(-first.result["findings"] // 10)
    sent = [op for op in first.operations if op.startswith("sns:")]
    assert sent == ["sns:PublishBatch"] * batches + ["sns:Publish"]
    assert first.operations.count("dynamodb:TransactWriteItems") == 1
    assert "dynamodb:UpdateItem" not in first.operations
    assert first.operations.count("dynamodb:Scan") == 1

    # When a finding is fixed and the sweep runs again
    demo.session.client("ec2").terminate_instances(
        InstanceIds=[demo.account.legacy_batch_instance_id]
    )
    second = invoke(sweep.handler, load_event("schedule-sweep"), **demo.settings)
    # Then only the digest arrives, naming nothing new and the fixed finding resolved
    (only,) = inbox(demo)
    assert only["attributes"]["kind"] == "digest"
    assert only["message"]["new_findings"] == []
    assert len(only["message"]["resolved_findings"]) == 1
    assert second.result["resolved_findings"] == only["message"]["resolved_findings"]
    assert second.operations.count("dynamodb:Scan") == 1


def test_an_exemption_added_is_announced_naming_who(demo: SimpleNamespace, invoke: Invoker) -> None:
    host = demo.account.shop_host_imdsv1_instance_id
    invoke(
        events.handler, load_event("cloudtrail-create-tags", **{INSTANCE_ID: host}), **demo.settings
    )
    exemption = [a for a in inbox(demo) if a["attributes"]["kind"] == "exemption"]
    (alert,) = exemption
    assert alert["attributes"]["action"] == "added"
    assert alert["message"]["actor"] == ACTOR_ARN
    assert alert["message"]["reason"] == EXEMPT_REASON


def test_an_exemption_limited_to_rules_is_announced_naming_them(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given CreateTags adding an exemption for ecs-host-imds-exposed only to the IMDSv1 host
    host = demo.account.shop_host_imdsv1_instance_id
    event = load_event("cloudtrail-create-tags", **{INSTANCE_ID: host})
    tags = event["detail"]["requestParameters"]["tagSet"]["items"]
    tags.append({"key": "rolewarden:exempt-rules", "value": ids.ECS_HOST_IMDS_EXPOSED})

    # When the event evaluator handles it
    invoke(events.handler, event, **demo.settings)

    # Then the exemption alert names the rule, the date and who did it
    (alert,) = [a for a in inbox(demo) if a["attributes"]["kind"] == "exemption"]
    assert alert["subject"].startswith(
        f"RoleWarden exemption added on {host} until {EXEMPT_UNTIL} "
        f"for {ids.ECS_HOST_IMDS_EXPOSED} by "
    )
    assert alert["attributes"]["action"] == "added"
    assert {key: alert["message"][key] for key in ("actor", "rules", "reason")} == {
        "actor": ACTOR_ARN,
        "rules": [ids.ECS_HOST_IMDS_EXPOSED],
        "reason": EXEMPT_REASON,
    }


def test_removing_the_rules_tag_alone_is_announced_as_widening(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given UntagRole removing rolewarden:exempt-rules only
    event = load_event("cloudtrail-untag-role")
    event["detail"]["requestParameters"]["tagKeys"] = ["rolewarden:exempt-rules"]

    # When the event evaluator handles it
    invoke(events.handler, event, **demo.settings)

    # Then the alert says the exemption now covers every rule, and who did it
    (alert,) = [a for a in inbox(demo) if a["attributes"]["kind"] == "exemption"]
    assert alert["subject"].startswith(
        f"RoleWarden exemption widened to every rule on {ROLE_NAME} by arn:aws:sts::"
    )
    assert alert["attributes"]["action"] == "removed"
    assert alert["message"]["tags"] == ["rolewarden:exempt-rules"]
    assert alert["message"]["actor"] == ACTOR_ARN


def test_the_remediate_function_announces_what_it_applied(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given an instance without a profile and a baseline profile
    iam = demo.session.client("iam")
    create_role(iam, "baseline", managed_policy_arns=(SSM_CORE_POLICY_ARN,))
    create_instance_profile(iam, "baseline", "baseline")
    bare = demo.account.legacy_batch_instance_id
    payload = {
        "rule": ids.EC2_INSTANCE_WITHOUT_PROFILE,
        "resource_arn": f"arn:aws:ec2:us-east-1:123456789012:instance/{bare}",
        "dry_run": False,
        "requested_by": "jane",
    }
    # When a person has it applied
    done = invoke(
        remediate.handler,
        payload,
        journal_table="journal",
        baseline_instance_profile="baseline",
        **demo.settings,
    )
    # Then the remediation is announced with the command to undo it
    (alert,) = inbox(demo)
    journal_id = done.result["journal"][0]["journal_id"]
    assert alert["attributes"] == {
        "kind": "remediation",
        "rule": ids.EC2_INSTANCE_WITHOUT_PROFILE,
        "account": "123456789012",
        "region": "us-east-1",
        "action": "applied",
    }
    assert alert["message"]["command"] == f"rolewarden restore {journal_id} --apply"


def test_a_finding_fixed_and_back_within_the_quiet_period_is_announced_again(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the IMDSv1 host's finding, announced by an event
    host = demo.account.shop_host_imdsv1_instance_id
    ec2 = demo.session.client("ec2")
    event = load_event("cloudtrail-modify-instance-metadata-options", **{INSTANCE_ID: host})
    invoke(events.handler, event, **demo.settings)
    assert len(inbox(demo)) == 1

    # When a person fixes the host and an event judges it compliant, then breaks it again
    options = {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"}
    ec2.modify_instance_metadata_options(InstanceId=host, **options)
    fixed = invoke(events.handler, {**event, "id": "fixed"}, **demo.settings)
    # (the resources judged compliant are read first: only the open finding is written)
    assert fixed.operations.count("dynamodb:BatchGetItem") == 1
    assert fixed.operations.count("dynamodb:UpdateItem") == 1
    options = {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"}
    ec2.modify_instance_metadata_options(InstanceId=host, **options)
    invoke(events.handler, {**event, "id": "broken-again"}, **demo.settings)

    # Then the finding that returned is announced again, within the quiet period
    (again,) = inbox(demo)
    assert again["message"]["trigger"] == "event:broken-again"
