"""Notices on the SNS topic, as a subscriber receives them: read back from SQS queues.

Scenarios:
  1. A finding notice arrives with its Subject, its JSON message, and the message
     attributes kind, rule, severity, account, region, action.
  2. A subscription whose filter policy asks for digests receives only digests.
  3. A message too large for SNS keeps the finding and drops the evidence's detail.
  4. A topic that does not exist: a NotifyError naming the call, and the other channels
     still get the notice (the notifier goes on); no second call is made to that topic.
  5. Many notices go in PublishBatch calls of at most 10 entries and 256 KiB together:
     large ones are split into more calls, and each arrives as a Publish would.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functional.events import AwsCalls, recorded_session
from rolewarden.aws.clients import AwsClients
from rolewarden.notify.channel import NotifyError
from rolewarden.notify.findings_state import Due
from rolewarden.notify.messages import digest_notice, finding_notice
from rolewarden.notify.notice import Notice
from rolewarden.notify.notifier import Notifier
from rolewarden.notify.sns import MESSAGE_LIMIT, SnsChannel, fit, payload_size
from rolewarden.rules.model import Blockers, Finding, Remediation, Severity
from sample_findings import a_host_role_finding


def a_finding(evidence: dict[str, Any] | None = None) -> Finding:
    return a_host_role_finding(
        Severity.CRITICAL,
        "ECS host role shop-ecs-host grants application permissions (dynamodb, s3)",
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
    """Every message that arrived since the last look (SNS's envelope, as JSON)."""
    sqs = session.client("sqs")
    arrived = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            arrived.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return arrived


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


def test_a_failing_topic_is_called_once_for_many_notices(mock_aws: boto3.Session) -> None:
    # Given a topic that does not exist, then another channel
    calls, other = AwsCalls(), Recording()
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    notifier = Notifier([SnsChannel(AwsClients(recorded_session(calls)), missing), other])

    # When 25 notices are delivered (three PublishBatch calls, were the topic there)
    notices = [finding_notice(a_finding(), trigger=f"event:{n}") for n in range(25)]
    delivered = notifier.deliver(notices)

    # Then SNS was called once, and the other channel received every notice
    assert calls.operations == ["sns:PublishBatch"]
    assert delivered == [True] * 25
    assert len(other.sent) == 25
    assert Notifier([SnsChannel(AwsClients(mock_aws), missing)]).deliver(notices) == [False] * 25


def test_notices_too_large_for_one_batch_are_split_under_sns_aggregate_limit(
    mock_aws: boto3.Session,
) -> None:
    # Given the alert topic with a queue subscribed, and ten notices of about 31 KiB each
    # (one PublishBatch of ten would carry about 310 KiB; SNS takes 256 KiB)
    topic = mock_aws.client("sns").create_topic(Name="alerts")["TopicArn"]
    queue = subscribe(mock_aws, topic, "everything")
    notices = [
        finding_notice(a_finding({"detail": str(n) * 30_000}), trigger=f"event:{n}")
        for n in range(10)
    ]
    calls = AwsCalls()

    # When they are delivered
    channel = SnsChannel(AwsClients(recorded_session(calls)), topic)
    assert Notifier([channel]).deliver(notices) == [True] * 10

    # Then they went in two calls, each within the limit, the first as full as it could be
    assert calls.operations == ["sns:PublishBatch"] * 2
    batches = [call["PublishBatchRequestEntries"] for call in calls.of("PublishBatch")]
    assert [len(batch) for batch in batches] == [8, 2]
    sizes = [sum(payload_size(each) for each in batch) for batch in batches]
    assert max(sizes) <= 256 * 1024 < sizes[0] + payload_size(batches[1][0])
    # And each arrived whole, with its attributes, as a subscriber reads it
    arrived = received(mock_aws, queue)
    assert sorted(json.loads(envelope["Message"])["trigger"] for envelope in arrived) == sorted(
        notice.message["trigger"] for notice in notices
    )
    assert {envelope["MessageAttributes"]["kind"]["Value"] for envelope in arrived} == {"finding"}
