"""Events malformed by size or emptiness, at the event and Config rule handlers (moto).

A 2,000-deep `requestParameters`, a 20,000-deep `invokingEvent` and an empty resource id
are rejected as malformed with the reason, counted, and acknowledged: never a
RecursionError (a crash Lambda would retry) nor a PutEvaluations that Config refuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from functional.events import Invoker, load_event
from rolewarden.handlers import config_rule, events

REGIONS = "us-east-1,eu-west-1"


@pytest.fixture(scope="module")
def account(moto_account: Any) -> Iterator[Any]:
    with moto_account() as session:
        yield session


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoker:
    return Invoker(monkeypatch, capsys)


def nested(depth: int) -> dict[str, Any]:
    """{"a": {"a": ... {} }} with `depth` objects."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def cloudtrail(**parameters: Any) -> dict[str, Any]:
    event = load_event("cloudtrail-attach-role-policy")
    event["detail"]["requestParameters"] |= parameters
    return event


def config_item(**item: Any) -> dict[str, Any]:
    event = load_event("config-instance-changed")
    invoking = json.loads(event["invokingEvent"])
    invoking["configurationItem"] |= item
    return event | {"invokingEvent": json.dumps(invoking)}


EVENTS = {
    "2,000-deep requestParameters": (
        cloudtrail(filter=nested(2000)),
        "AWS API Call via CloudTrail.detail: Value error, the call's detail nests deeper "
        "than 64 levels",
    ),
    "empty role name": (
        cloudtrail(roleName=""),
        "AWS API Call via CloudTrail.detail: Value error, empty resource id: roleName",
    ),
    "task state change of an empty task ARN": (
        load_event("ecs-task-state-change-running")
        | {
            "detail": {
                "taskArn": "",
                "lastStatus": "RUNNING",
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/shop",
            }
        },
        "ECS Task State Change.detail.taskArn: String should have at least 1 character",
    ),
}


@pytest.mark.parametrize(("event", "reason"), EVENTS.values(), ids=EVENTS.keys())
def test_an_event_malformed_by_size_or_emptiness_is_rejected_saying_why(
    account: Any, invoke: Invoker, event: dict[str, Any], reason: str
) -> None:
    # Given such an event / When EventBridge invokes the event evaluator
    done = invoke(events.handler, event, regions=REGIONS)

    # Then it is rejected with the reason, counted, and no AWS call is made
    assert done.result == {"status": "rejected", "reason": f"malformed EventBridge event: {reason}"}
    assert done.metrics == {"MalformedEvents": 1}
    assert done.operations == []


def test_a_deep_identity_document_does_not_stop_the_registration_s_evaluation(
    account: Any, invoke: Invoker
) -> None:
    # Given a RegisterContainerInstance whose identity document (JSON text) is 20,000 deep
    event = load_event("cloudtrail-register-container-instance")
    event["detail"]["requestParameters"]["instanceIdentityDocument"] = (
        '{"a":' * 20_000 + "1" + "}" * 20_000
    )
    # When the event evaluator handles it
    done = invoke(events.handler, event, regions=REGIONS)
    # Then the document is not read, and the instance the response names is evaluated
    assert done.result["status"] == "evaluated"


CONFIG = {
    "20,000-deep invokingEvent": (
        load_event("config-instance-changed")
        | {"invokingEvent": '{"a":' * 20_000 + "1" + "}" * 20_000},
        "invokingEvent: Value error, JSON text nests deeper than 64 levels",
    ),
    "invokingEvent of 2 MB": (
        load_event("config-instance-changed")
        | {"invokingEvent": json.dumps({"padding": "x" * 2_000_000})},
        "invokingEvent: Value error, JSON text is 2000015 characters, more than 1048576",
    ),
    "empty resource id": (
        config_item(resourceId=""),
        "invokingEvent.ConfigurationItemChangeNotification.configurationItem.resourceId: "
        "Value error, empty: the item names no resource",
    ),
    "blank resource type": (
        config_item(resourceType=" "),
        "invokingEvent.ConfigurationItemChangeNotification.configurationItem.resourceType: "
        "Value error, empty: the item names no resource",
    ),
}


@pytest.mark.parametrize(("event", "reason"), CONFIG.values(), ids=CONFIG.keys())
def test_a_config_invocation_malformed_by_size_or_emptiness_is_rejected_saying_why(
    account: Any, invoke: Invoker, event: dict[str, Any], reason: str
) -> None:
    # Given such an invocation / When Config invokes the rule evaluator
    done = invoke(config_rule.handler, event)

    # Then it is rejected with the reason, counted, and nothing is sent to Config
    assert done.result == {
        "status": "rejected",
        "reason": f"malformed config rule invocation: {reason}",
    }
    assert done.metrics == {"MalformedEvents": 1}
    assert done.operations == []
