"""Notices on the SNS topic, as a subscriber receives them: read back from SQS queues.

Scenarios:
  1. A finding notice arrives with its Subject, its JSON message, and the message
     attributes kind, rule, severity, account, region, action.
  2. A subscription whose filter policy asks for digests receives only digests.
  3. A message too large for SNS keeps the finding and drops the evidence's detail.
  4. A topic that does not exist: a NotifyError naming the call, and the other channels
     still get the notice (the notifier goes on).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from rolewarden.inventory.aws import AwsClients
from rolewarden.notify.channel import NotifyError
from rolewarden.notify.findings_state import Due
from rolewarden.notify.messages import digest_notice, finding_notice
from rolewarden.notify.notice import Notice
from rolewarden.notify.notifier import Notifier
from rolewarden.notify.sns import MESSAGE_LIMIT, SnsChannel, fit
from rolewarden.rules.model import Blockers, Finding, Remediation, Severity

ARN = "arn:aws:iam::123456789012:role/shop-ecs-host"


def a_finding(evidence: dict[str, Any] | None = None) -> Finding:
    return Finding(
        rule="instance-role-app-permissions",
        severity=Severity.CRITICAL,
        account="123456789012",
        region="us-east-1",
        resource_type="AWS::IAM::Role",
        resource_id="AROAEXAMPLE",
        resource_arn=ARN,
        title="ECS host role shop-ecs-host grants application permissions (dynamodb, s3)",
        evidence=evidence or {"offending_policies": [{"name": "orders-table"}]},
        remediation=Remediation(
            "remove-application-policies",
            False,
            {"role_name": "shop-ecs-host", "steps": []},
            Blockers(force=("outage guard: service orders",)),
        ),
    )


def subscribe(session: boto3.Session, topic: str, name: str, **attributes: str) -> str:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    session.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes
    )
    return url


def received(session: boto3.Session, url: str) -> list[dict[str, Any]]:
    messages = session.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def test_a_finding_arrives_with_its_subject_message_and_attributes(
    mock_aws: boto3.Session,
) -> None:
    # Given the alert topic with a queue subscribed
    topic = mock_aws.client("sns").create_topic(Name="alerts")["TopicArn"]
    queue = subscribe(mock_aws, topic, "everything")
    notice = finding_notice(a_finding(), trigger="event:e-1")

    # When RoleWarden publishes a finding notice
    SnsChannel(AwsClients(mock_aws), topic).send(notice)

    # Then the subscriber reads the subject, the JSON message and every attribute
    (envelope,) = received(mock_aws, queue)
    assert envelope["Subject"] == (
        "RoleWarden CRITICAL: ECS host role shop-ecs-host grants application permissions "
        "(dynamodb, s3)"
    )
    message = json.loads(envelope["Message"])
    assert message == json.loads(json.dumps(notice.message))
    assert message["command"] == (
        f"rolewarden remediate {a_finding().finding_id} --region us-east-1"
    )
    assert {name: value["Value"] for name, value in envelope["MessageAttributes"].items()} == {
        "kind": "finding",
        "rule": "instance-role-app-permissions",
        "severity": "critical",
        "account": "123456789012",
        "region": "us-east-1",
        "action": "remove-application-policies",
    }


def test_a_filter_policy_on_kind_receives_only_digests(mock_aws: boto3.Session) -> None:
    # Given one subscription for everything, one for digests only
    topic = mock_aws.client("sns").create_topic(Name="alerts")["TopicArn"]
    everything = subscribe(mock_aws, topic, "everything")
    digests = subscribe(mock_aws, topic, "digests", FilterPolicy=json.dumps({"kind": ["digest"]}))
    summary = {
        "account": "123456789012",
        "regions": ["us-east-1"],
        "findings": 1,
        "findings_by_severity": {"critical": 1, "high": 0, "medium": 0, "low": 0},
    }
    channel = SnsChannel(AwsClients(mock_aws), topic)

    # When a finding and a digest are published
    channel.send(finding_notice(a_finding(), trigger="sweep"))
    channel.send(digest_notice(summary, Due(new=[a_finding()]), []))

    # Then the digest subscriber received the digest alone
    assert [json.loads(m["Message"])["kind"] for m in received(mock_aws, digests)] == ["digest"]
    assert len(received(mock_aws, everything)) == 2


def test_a_message_too_large_for_sns_keeps_the_finding_not_its_evidence() -> None:
    huge = {"offending_policies": [{"actions": ["s3:GetObject" * 10] * 3000}]}
    notice = finding_notice(a_finding(huge), trigger="sweep")
    text = fit(notice.message)
    assert len(text.encode()) <= MESSAGE_LIMIT
    finding = json.loads(text)["finding"]
    assert finding["finding_id"] == a_finding().finding_id
    assert finding["evidence"]["keys"] == ["offending_policies"]


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    def send(self, notice: Notice) -> None:
        self.sent.append(notice)


def test_a_failing_topic_does_not_stop_the_other_channels(
    mock_aws: boto3.Session, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a topic that does not exist, then another channel
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    other = Recording()
    notifier = Notifier([SnsChannel(AwsClients(mock_aws), missing), other])

    # When a notice is sent
    delivered = notifier.send([finding_notice(a_finding(), trigger="sweep")])

    # Then the other channel got it; SNS's failure is a clear error, counted
    assert (delivered, len(other.sent)) == (1, 1)
    with pytest.raises(NotifyError, match="sns:Publish: NotFound"):
        SnsChannel(AwsClients(mock_aws), missing).send(other.sent[0])
