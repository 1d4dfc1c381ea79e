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
    """The JSON text; a finding whose evidence would not fit keeps its evidence's keys only."""
    text = json.dumps(message, default=str)
    if len(text.encode()) <= MESSAGE_LIMIT:
        return text
    trimmed = json.loads(text)
    finding = trimmed.get("finding") or {}
    if "evidence" in finding:
        finding["evidence"] = {
            "truncated": "too large for SNS; `rolewarden scan --output json` has it all",
            "keys": sorted(finding["evidence"]),
        }
    text = json.dumps(trimmed, default=str)
    return text if len(text.encode()) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT // 4]
