"""In the stack, the event, sweep and Config rule functions keep the alerts' state only in
the stack's own findings table (triggers/wiring.py Wiring.findings_table, triggers/stack_tables).

The findings table decides which alerts are new: pointed at another table, a setting
could silence them. The functions run here as Lambda runs them in the stack
(AWS_LAMBDA_FUNCTION_NAME), in a moto stack holding them and the FindingsTable; moto's
DescribeStackResources is taught to find a stack by PhysicalResourceId
(functional.moto_stacks).

Scenarios:
  1. ROLEWARDEN_FINDINGS_TABLE names a table outside the stack -> start-up fails naming
     the variable and the stack's table; nothing is read, announced or written there.
  2. It names the stack's own table -> findings are recorded there; CloudFormation is
     asked once per container.
  3. CloudFormation cannot be read -> detection goes on, every finding announced, no
     state written, an error logged and counted; the next invocation asks again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.responses import CloudFormationResponse

from functional.events import INSTANCE_ID, Invoker, load_event
from functional.moto_stacks import stacks_found_by_physical_id
from rolewarden.demo.builders import seed_demo_account
from rolewarden.handlers import config_rule, events, sweep
from rolewarden.settings import SettingsError

STACK = "rolewarden"
OWN_TABLE = "rolewarden-FindingsTable-1A2B3C"
FOREIGN_TABLE = "quiet-findings"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# logical id -> (the function's name, its handler)
FUNCTIONS: dict[str, tuple[str, Callable[..., Any]]] = {
    "EventFunction": ("rolewarden-EventFunction-4D5E6F", events.handler),
    "SweepFunction": ("rolewarden-sweep", sweep.handler),
    "ConfigRuleFunction": ("rolewarden-ConfigRuleFunction-7G8H9I", config_rule.handler),
}
DESCRIBE = "cloudformation:DescribeStackResources"
UNREAD = "findings table not used: cannot tell whether it is the stack's"


def findings_table(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "finding_id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "finding_id", "KeyType": "HASH"}],
    }


def stack_template() -> dict[str, Any]:
    """The three detection functions and the FindingsTable, as template.yaml has them."""
    resources: dict[str, Any] = {
        "FunctionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": TRUST},
        },
        "FindingsTable": {"Type": "AWS::DynamoDB::Table", "Properties": findings_table(OWN_TABLE)},
    }
    for logical_id, (name, _handler) in FUNCTIONS.items():
        resources[logical_id] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": name,
                "Runtime": "python3.13",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context): pass"},
            },
        }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoker:
    return Invoker(monkeypatch, capsys)


@pytest.fixture
def stack(mock_aws: boto3.Session) -> Iterator[SimpleNamespace]:
    """The demo account, the stack, and a table outside it that a setting could name."""
    account = seed_demo_account(mock_aws)
    with stacks_found_by_physical_id():
        mock_aws.client("cloudformation").create_stack(
            StackName=STACK,
            TemplateBody=json.dumps(stack_template()),
            Capabilities=["CAPABILITY_IAM"],
        )
        dynamodb = mock_aws.client("dynamodb")
        dynamodb.create_table(**findings_table(FOREIGN_TABLE))
        yield SimpleNamespace(account=account, dynamodb=dynamodb)


def trigger(function: str, stack: SimpleNamespace, event_id: str = "e-1") -> dict[str, Any]:
    """What starts each function: a launch of a bare instance, the schedule, Config."""
    bare = {INSTANCE_ID: stack.account.legacy_batch_instance_id}
    if function == "EventFunction":
        return {**load_event("cloudtrail-run-instances", **bare), "id": event_id}
    if function == "SweepFunction":
        return load_event("schedule-sweep")
    return load_event("config-instance-changed", **bare)


def findings_of(function: str, result: dict[str, Any]) -> list[str]:
    return list(result["new_findings" if function == "SweepFunction" else "findings"])


def kept_in(stack: SimpleNamespace, table: str) -> set[str]:
    items = stack.dynamodb.scan(TableName=table)["Items"]
    return {item["finding_id"]["S"] for item in items}


def in_the_stack(monkeypatch: pytest.MonkeyPatch, function: str) -> Callable[..., Any]:
    """The function as Lambda runs it in the stack: its name set by Lambda."""
    name, handler = FUNCTIONS[function]
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", name)
    return handler


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_findings_table_outside_the_stack_stops_start_up(
    function: str, stack: SimpleNamespace, invoke: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function in its stack, its findings table setting pointed at another table
    handler = in_the_stack(monkeypatch, function)

    # When it is triggered
    with pytest.raises(SettingsError) as refused:
        invoke(handler, trigger(function, stack), findings_table=FOREIGN_TABLE)

    # Then start-up fails naming the setting and the stack's own table
    assert str(refused.value) == (
        f"invalid setting: ROLEWARDEN_FINDINGS_TABLE={FOREIGN_TABLE} is not this stack's "
        f"FindingsTable ({OWN_TABLE}): refused, nothing is changed"
    )
    # And nothing was evaluated, announced or written: the other table holds nothing
    assert invoke.calls.operations == [DESCRIBE]
    assert kept_in(stack, FOREIGN_TABLE) == set()


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_the_stacks_own_findings_table_keeps_the_findings_and_is_checked_once(
    function: str, stack: SimpleNamespace, invoke: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function in its stack, with the stack's own findings table
    handler = in_the_stack(monkeypatch, function)

    # When it is triggered twice in one container
    first = invoke(handler, trigger(function, stack), findings_table=OWN_TABLE)
    second = invoke(handler, trigger(function, stack, "e-2"), findings_table=OWN_TABLE)

    # Then its findings are kept in the stack's table
    assert first.result.get("status", "evaluated") == "evaluated", first.result
    found = findings_of(function, first.result)
    assert found
    assert set(found) <= kept_in(stack, OWN_TABLE)
    # And CloudFormation was asked once, by the function's own name, not per invocation
    assert first.params_of("DescribeStackResources") == [
        {"PhysicalResourceId": FUNCTIONS[function][0]}
    ]
    assert DESCRIBE not in second.operations


@pytest.fixture
def cloudformation_denied(stack: SimpleNamespace) -> Iterator[None]:
    """DescribeStackResources answers AccessDenied (a role that may not read the stack)."""

    def denied(self: Any) -> Any:
        raise CloudFormationError(
            "AccessDenied", "not authorized to perform DescribeStackResources"
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CloudFormationResponse, "describe_stack_resources", denied)
        yield


@pytest.mark.usefixtures("cloudformation_denied")
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_when_cloudformation_cannot_be_read_detection_goes_on_without_the_table(
    function: str, stack: SimpleNamespace, invoke: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function in its stack, CloudFormation refusing to say what the stack holds
    handler = in_the_stack(monkeypatch, function)

    # When it is triggered
    done = invoke(handler, trigger(function, stack), findings_table=OWN_TABLE)

    # Then it still evaluates and reports its findings (each counts as new)
    assert done.result.get("status", "evaluated") == "evaluated", done.result
    assert findings_of(function, done.result)
    # But keeps no state in a table it could not verify, and says why
    assert kept_in(stack, OWN_TABLE) == set()
    assert not [op for op in done.operations if op.startswith("dynamodb:")]
    (logged,) = done.logs(UNREAD)
    assert logged["level"] == "ERROR"
    assert logged["table"] == OWN_TABLE
    assert "AccessDenied" in logged["reason"]
    assert done.metrics["StackReadErrors"] == 1
    # And a failed answer is not kept: the next invocation asks again
    again = invoke(handler, trigger(function, stack, "e-2"), findings_table=OWN_TABLE)
    assert again.operations.count(DESCRIBE) == 1
