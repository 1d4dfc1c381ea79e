"""The demo's alerts: a local stand-in for Slack's incoming webhook, and an SQS queue
subscribed to the topic, so the demo can show what a person and a SIEM would receive."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import boto3

Say = Callable[[str], None]
SECRET_NAME = "rolewarden/slack-webhook"  # noqa: S105 - the name of a secret, not one
TOPIC_NAME = "rolewarden-alerts"


class SlackStandIn:
    """An HTTP server on 127.0.0.1 that answers like Slack (200 "ok") and keeps each post."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                posts.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:  # quiet
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/demo"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class AlertSetup:
    topic_arn: str
    queue_url: str
    secret_name: str
    settings: dict[str, str] = field(default_factory=dict)


def set_up_alerts(session: boto3.Session, slack_url: str) -> AlertSetup:
    """A topic with a queue subscribed, and the webhook URL in Secrets Manager."""
    sns, sqs = session.client("sns"), session.client("sqs")
    topic = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue = sqs.create_queue(QueueName="siem-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    session.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=slack_url)
    return AlertSetup(
        topic,
        queue,
        SECRET_NAME,
        {"ROLEWARDEN_TOPIC_ARN": topic, "ROLEWARDEN_SLACK_SECRET_NAME": SECRET_NAME},
    )


def show_alerts(session: boto3.Session, setup: AlertSetup, slack: SlackStandIn, say: Say) -> None:
    say("\nWhat the alert channels received:")
    for post in slack.posts:
        say(f"  Slack: {post.get('text', '')}")
        for block in post.get("blocks", [])[:6]:
            text = (block.get("text") or {}).get("text")
            if text:
                say("    " + text.replace("\n", "\n    "))
    sqs = session.client("sqs")
    while True:
        batch = sqs.receive_message(QueueUrl=setup.queue_url, MaxNumberOfMessages=10)
        if not batch.get("Messages"):
            return
        for message in batch["Messages"]:
            envelope = json.loads(message["Body"])
            attributes = {
                name: value["Value"]
                for name, value in envelope.get("MessageAttributes", {}).items()
            }
            body = json.loads(envelope["Message"])
            say(f"  SNS (read back from the queue): {envelope.get('Subject')}")
            say(f"    attributes: {json.dumps(attributes, sort_keys=True)}")
            say(f"    message: {_summary(body)}")
            sqs.delete_message(QueueUrl=setup.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _summary(body: dict[str, Any]) -> str:
    """The message's top-level keys, and the finding's id and rule when it has one."""
    finding = body.get("finding") or {}
    named = f" (finding {finding['finding_id']}, {finding['rule']})" if finding else ""
    return f"JSON with {', '.join(sorted(body))}{named}; command: {body.get('command')}"
