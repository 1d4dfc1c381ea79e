"""The demo's second act: a change arrives as a CloudTrail event, and the event evaluator
(the one call its Lambda handler makes, in-process: moto's EventBridge does not invoke
Lambda) judges only what the call touched."""

from __future__ import annotations

import contextlib
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from rolewarden.evaluation.cloudtrail import TRIGGER_EVENT
from rolewarden.observability import for_the_command_line, metrics
from rolewarden.triggers import events
from rolewarden.triggers.wiring import Container, Wiring

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


def evaluate_event(session: boto3.Session, event: dict[str, Any]) -> dict[str, Any]:
    """What the event function does with the event, on the demo's session; its logs kept
    quiet, its metrics (which Lambda would ship) dropped."""
    wiring = Wiring.for_detection(Container(session=session))
    with for_the_command_line(), contextlib.redirect_stdout(io.StringIO()):
        result = events.evaluate_event(wiring, TRIGGER_EVENT.validate_python(event))
        metrics.clear_metrics()
    return result
