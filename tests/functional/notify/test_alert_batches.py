"""A sweep's announcements, end to end in moto: the SNS topic read back from an SQS queue,
and the findings table.

Scenarios:
  1. 30 findings due: three PublishBatch calls and one transaction; every message
     arrives with its attributes, and every finding is marked announced.
  2. SNS refuses one entry of a batch: that finding stays due (not marked announced);
     the others of the batch, and of the next batches, are announced.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functional.events import AwsCalls, recorded_session
from rolewarden.aws.clients import AwsClients
from rolewarden.notify.alerts import AlertSink
from rolewarden.notify.findings_state import FindingsState
from rolewarden.notify.notifier import Notifier
from rolewarden.notify.sns import SnsChannel
from sample_findings import a_finding

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
# SNS refuses a message longer than 256 KiB: how the test makes it refuse one entry.
TOO_LONG = "x" * (256 * 1024 + 1)


FINDINGS = [a_finding(f"i-{n:02}") for n in range(30)]


class Account:
    """The alert topic with a queue subscribed, the findings table, and an alert sink on
    them whose AWS calls are recorded."""

    def __init__(self, session: boto3.Session) -> None:
        self.calls = AwsCalls()
        self.recorded = recorded = recorded_session(self.calls)  # RoleWarden's calls
        sqs, sns = session.client("sqs"), session.client("sns")
        self.queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        self.dynamodb = session.client("dynamodb")
        self.dynamodb.create_table(
            TableName="findings",
            AttributeDefinitions=[{"AttributeName": "finding_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "finding_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.state = FindingsState(recorded.client("dynamodb"), "findings")
        notifier = Notifier([SnsChannel(AwsClients(recorded), topic)])
        self.sink = AlertSink(notifier, self.state, dedup_hours=24, now=lambda: T0)
        self.session = session

    def inbox(self) -> list[dict[str, Any]]:
        """Every message that arrived: its attributes and its JSON message."""
        sqs = self.session.client("sqs")
        arrived = []
        while messages := sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = envelope["MessageAttributes"]
                arrived.append(
                    {
                        "attributes": {name: value["Value"] for name, value in attributes.items()},
                        "message": json.loads(envelope["Message"]),
                    }
                )
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return arrived

    def announced(self) -> set[str]:
        """The findings the table says were announced."""
        items = self.dynamodb.scan(TableName="findings")["Items"]
        return {item["finding_id"]["S"] for item in items if "last_announced" in item}


@pytest.fixture
def account(mock_aws: boto3.Session) -> Account:
    return Account(mock_aws)


def test_thirty_findings_take_three_publish_batches_and_one_transaction(
    account: Account,
) -> None:
    # When a sweep announces 30 new findings
    account.sink.findings(FINDINGS, trigger="sweep")

    # Then SNS got three PublishBatch calls, and the table one transaction marking them
    alerts = [op for op in account.calls.operations if op.startswith("sns:")]
    assert alerts == ["sns:PublishBatch"] * 3
    assert account.calls.operations.count("dynamodb:TransactWriteItems") == 1
    assert "dynamodb:UpdateItem" not in account.calls.operations
    # And the subscriber read all 30, each with its attributes
    arrived = account.inbox()
    assert sorted(alert["message"]["finding"]["resource_id"] for alert in arrived) == [
        finding.resource_id for finding in FINDINGS
    ]
    assert {json.dumps(alert["attributes"], sort_keys=True) for alert in arrived} == {
        json.dumps(
            {
                "account": "123456789012",
                "kind": "finding",
                "region": "us-east-1",
                "rule": "ec2-instance-without-profile",
                "severity": "medium",
            },
            sort_keys=True,
        )
    }
    # And all 30 are marked announced: the next sweep within the quiet period sends none
    assert account.announced() == {finding.finding_id for finding in FINDINGS}
    later = T0 + timedelta(hours=1)
    assert account.state.record(FINDINGS, later, dedup_hours=24).all == []


def test_an_entry_sns_refuses_stays_due_and_the_others_are_announced(
    account: Account,
) -> None:
    # Given SNS refuses the entry of one finding (its message too long), in the first batch
    refused = FINDINGS[4]

    def sabotage(params: dict[str, Any], **_: Any) -> None:
        for entry in params["PublishBatchRequestEntries"]:
            if refused.finding_id in entry["Message"]:
                entry["Message"] = TOO_LONG

    account.recorded.events.register("before-parameter-build.sns.PublishBatch", sabotage)

    # When the 30 findings are announced
    account.sink.findings(FINDINGS, trigger="sweep")

    # Then the batches went on after the refusal, and 29 messages arrived
    alerts = [op for op in account.calls.operations if op.startswith("sns:")]
    assert alerts == ["sns:PublishBatch"] * 3
    arrived = {alert["message"]["finding"]["finding_id"] for alert in account.inbox()}
    assert arrived == {finding.finding_id for finding in FINDINGS} - {refused.finding_id}
    # And the refused finding alone is not marked announced: it is due again next time
    assert account.announced() == arrived
    later = T0 + timedelta(minutes=5)
    assert account.state.record(FINDINGS, later, dedup_hours=24).all == [refused]
