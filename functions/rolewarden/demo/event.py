"""The demo's second act: a change arrives as a CloudTrail event, and the event evaluator
(the Lambda handler itself, called in-process: moto's EventBridge does not invoke Lambda)
judges only what the call touched."""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ATTACHED_POLICY = "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"


@dataclass(frozen=True)
class DemoLambdaContext:
    function_name: str = "rolewarden-demo-events"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:rolewarden-demo"
    aws_request_id: str = "demo"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        """What Powertools' idempotency asks of a Lambda context."""
        return 900_000


def attach_role_policy_event(account: str, role_name: str, policy_arn: str) -> dict[str, Any]:
    """What EventBridge delivers for an IAM AttachRolePolicy call (trimmed to the essentials)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": account,
        "time": now,
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventSource": "iam.amazonaws.com",
            "eventName": "AttachRolePolicy",
            "awsRegion": "us-east-1",
            "eventID": str(uuid.uuid4()),
            "eventTime": now,
            "userIdentity": {"arn": f"arn:aws:sts::{account}:assumed-role/platform-admin/demo"},
            "requestParameters": {"roleName": role_name, "policyArn": policy_arn},
            "responseElements": None,
        },
    }


def evaluate_event(event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the event evaluator as Lambda would, its logs and metrics kept quiet."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    from rolewarden.handlers.events import handler  # noqa: PLC0415 - after the quiet settings

    with contextlib.redirect_stdout(io.StringIO()):  # the metrics Lambda would ship
        result: dict[str, Any] = handler(event, DemoLambdaContext())
    return result
