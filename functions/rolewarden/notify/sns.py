"""Notices to the SNS topic: the JSON message, a readable Subject, and message attributes
(`kind`, `rule`, `severity`, `account`, `region`, `action`) for subscription filters.

Several notices go out in PublishBatch calls: at most 10 entries and 256 KiB of messages
and attributes per call. A lone notice is one Publish. Both need `sns:Publish`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from rolewarden.aws.arn import Arn
from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import AwsError, call
from rolewarden.notify.channel import Call, NotifyError
from rolewarden.notify.notice import Notice

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef

# SNS takes 256 KiB per message, attributes included; keep room for them.
MESSAGE_LIMIT = 240 * 1024
TRUNCATED = "too large for SNS; `rolewarden scan --output json` or the journal has it all"
# PublishBatch: entries per call, and bytes of all its messages and attributes together.
BATCH_ENTRIES, BATCH_LIMIT = 10, 256 * 1024


class SnsError(NotifyError, AwsError):
    """SNS failed or refused a publish call."""


class SnsChannel:
    name = "sns"

    def __init__(self, clients: AwsClients, topic_arn: str) -> None:
        self.clients = clients
        self.topic_arn = topic_arn

    def send(self, notice: Notice) -> None:
        self._publish(entry(notice))

    def calls(self, notices: Sequence[Notice]) -> list[Call]:
        """The notices in order, as many to a call as SNS takes; the entry `Id` is the
        notice's position."""
        entries = [entry(notice, str(position)) for position, notice in enumerate(notices)]
        calls = []
        for group in batches([payload_size(each) for each in entries]):
            if len(group) == 1:
                make = partial(self._publish, entries[group[0]])
            else:
                make = partial(self._publish_batch, [entries[position] for position in group])
            calls.append(Call(group, make))
        return calls

    def _publish(self, entry: PublishBatchRequestEntryTypeDef) -> dict[int, str]:
        call(
            SnsError,
            "sns:Publish",
            self._sns().publish,
            TopicArn=self.topic_arn,
            Subject=entry["Subject"],
            Message=entry["Message"],
            MessageAttributes=entry["MessageAttributes"],
        )
        return {}

    def _publish_batch(self, entries: list[PublishBatchRequestEntryTypeDef]) -> dict[int, str]:
        """The entries SNS did not take, by position, with SNS's reason."""
        answer = call(
            SnsError,
            "sns:PublishBatch",
            self._sns().publish_batch,
            TopicArn=self.topic_arn,
            PublishBatchRequestEntries=entries,
        )
        taken = {each["Id"] for each in answer.get("Successful", [])}
        reasons = {
            each["Id"]: f"sns:PublishBatch: {each.get('Code', '')}: {each.get('Message', '')}"
            for each in answer.get("Failed", [])
        }
        return {
            int(each["Id"]): reasons.get(each["Id"], "sns:PublishBatch: not in SNS's answer")
            for each in entries
            if each["Id"] not in taken
        }

    def _sns(self) -> SNSClient:
        return self.clients.client("sns", Arn.parse(self.topic_arn).region)


def entry(notice: Notice, id_: str = "0") -> PublishBatchRequestEntryTypeDef:
    """What SNS is given for one notice (a PublishBatch entry; Publish takes the same
    fields but the `Id`)."""
    return {
        "Id": id_,
        "Subject": notice.subject,
        "Message": fit(notice.message),
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value}
            for name, value in notice.attributes().items()
        },
    }


def payload_size(entry: PublishBatchRequestEntryTypeDef) -> int:
    """The bytes an entry counts towards SNS's limits: message, subject and attributes."""
    attributes = sum(
        len(name.encode()) + len(value["DataType"]) + len(value["StringValue"].encode())
        for name, value in entry["MessageAttributes"].items()
    )
    return len(entry["Message"].encode()) + len(entry["Subject"].encode()) + attributes


def batches(sizes: Sequence[int]) -> list[list[int]]:
    """Positions grouped in order: at most BATCH_ENTRIES and BATCH_LIMIT bytes a group (an
    entry too large on its own goes alone, as it would in a Publish)."""
    groups: list[list[int]] = []
    total = 0
    for position, size in enumerate(sizes):
        if not groups or len(groups[-1]) == BATCH_ENTRIES or total + size > BATCH_LIMIT:
            groups.append([])
            total = 0
        groups[-1].append(position)
        total += size
    return groups


def fit(message: dict[str, Any]) -> str:
    """The JSON text, within SNS's size: the biggest parts give way to a note, never to
    invalid JSON (a finding's evidence, then any long list or nested part)."""
    text = json.dumps(message, default=str)
    if len(text.encode()) <= MESSAGE_LIMIT:
        return text
    trimmed = json.loads(text)
    finding = trimmed.get("finding") or {}
    if "evidence" in finding:
        finding["evidence"] = {"truncated": TRUNCATED, "keys": sorted(finding["evidence"])}
    for holder in (trimmed.get("summary") or {}, trimmed.get("outcome") or {}, trimmed):
        for key, value in holder.items():
            if len(json.dumps(value, default=str).encode()) > MESSAGE_LIMIT // 8:
                holder[key] = {"truncated": TRUNCATED, "size": len(value)}
    text = json.dumps(trimmed, default=str)
    if len(text.encode()) <= MESSAGE_LIMIT:
        return text
    return json.dumps({"kind": message.get("kind"), "truncated": TRUNCATED})
