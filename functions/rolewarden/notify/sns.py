"""Notices to the SNS topic: the JSON message, a readable Subject, and message attributes
(`kind`, `rule`, `severity`, `account`, `region`, `action`) for subscription filters."""

from __future__ import annotations

import json
from typing import Any

from rolewarden.inventory.aws import AwsClients
from rolewarden.notify.channel import NotifyError
from rolewarden.notify.notice import Notice
from rolewarden.remediation.change import ActionError, aws_call

# SNS takes 256 KiB per message, attributes included; keep room for them.
MESSAGE_LIMIT = 240 * 1024
TRUNCATED = "too large for SNS; `rolewarden scan --output json` or the journal has it all"


class SnsChannel:
    name = "sns"

    def __init__(self, clients: AwsClients, topic_arn: str) -> None:
        self.clients = clients
        self.topic_arn = topic_arn

    def send(self, notice: Notice) -> None:
        sns = self.clients.client("sns", self.topic_arn.split(":")[3])
        try:
            aws_call(
                "sns:Publish",
                sns.publish,
                TopicArn=self.topic_arn,
                Subject=notice.subject,
                Message=fit(notice.message),
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in notice.attributes().items()
                },
            )
        except ActionError as error:
            raise NotifyError(str(error)) from error


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
