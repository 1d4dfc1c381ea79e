"""In the stack, the remediate function uses only the stack's own journal, key and findings
table (triggers/stack_tables.py).

moto's DescribeStackResources ignores PhysicalResourceId (the call this needs), so
CloudFormation's answers are botocore Stubber responses here.

Scenarios:
  1. Every setting names the stack's resource (a key by ARN or id) -> nothing refused.
  2. A setting names another table or key, or is unset while the stack has one -> refused,
     naming the variable, the value and the stack's resource.
  3. The function is in no stack -> nothing to compare; CloudFormation fails -> an error.
  4. Asked about some settings only (the detection functions: the findings table) -> only
     those are compared.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from rolewarden.settings import Settings
from rolewarden.triggers.stack_tables import (
    StackReadError,
    foreign_settings,
    stack_resources,
)

FUNCTION = "prod-remediate"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"
OWN = {
    "JournalTable": "prod-JournalTable-1A2B3C",
    "JournalKey": KEY_ID,
    "FindingsTable": "prod-FindingsTable-4D5E6F",
}


def answered(response: dict[str, object] | None = None, error: str | None = None) -> Stubber:
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    expected = {"PhysicalResourceId": FUNCTION}
    if error:
        stubber.add_client_error(
            "describe_stack_resources", "ValidationError", error, expected_params=expected
        )
    else:
        stubber.add_response("describe_stack_resources", response or {}, expected)
    stubber.activate()
    return stubber


def test_the_stacks_resources_are_read_by_the_functions_own_name() -> None:
    resources = [
        {
            "LogicalResourceId": logical,
            "PhysicalResourceId": physical,
            "ResourceType": "AWS::DynamoDB::Table",
            "Timestamp": "2030-01-01T00:00:00Z",
            "ResourceStatus": "CREATE_COMPLETE",
        }
        for logical, physical in OWN.items()
    ]
    stubber = answered({"StackResources": resources})
    assert stack_resources(stubber.client, FUNCTION) == OWN
    stubber.assert_no_pending_responses()


def test_every_setting_naming_the_stacks_own_is_accepted() -> None:
    settings = Settings(
        journal_table=OWN["JournalTable"], journal_key=KEY_ARN, findings_table=OWN["FindingsTable"]
    )
    assert foreign_settings(settings, OWN) == []
    assert foreign_settings(settings.model_copy(update={"journal_key": KEY_ID}), OWN) == []


def test_a_journal_table_setting_pointing_elsewhere_is_refused() -> None:
    settings = Settings(
        journal_table="attacker-journal", journal_key=KEY_ARN, findings_table="quiet-findings"
    )
    assert foreign_settings(settings, OWN) == [
        "ROLEWARDEN_JOURNAL_TABLE=attacker-journal is not this stack's JournalTable "
        "(prod-JournalTable-1A2B3C): refused, nothing is changed",
        "ROLEWARDEN_FINDINGS_TABLE=quiet-findings is not this stack's FindingsTable "
        "(prod-FindingsTable-4D5E6F): refused, nothing is changed",
    ]


def test_another_key_or_no_key_is_refused() -> None:
    other = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab"
    base = Settings(journal_table=OWN["JournalTable"], findings_table=OWN["FindingsTable"])
    assert foreign_settings(base.model_copy(update={"journal_key": other}), OWN) == [
        f"ROLEWARDEN_JOURNAL_KEY={other} is not this stack's JournalKey ({KEY_ID}): "
        "refused, nothing is changed"
    ]
    assert foreign_settings(base, OWN) == [
        f"ROLEWARDEN_JOURNAL_KEY=(unset) is not this stack's JournalKey ({KEY_ID}): "
        "refused, nothing is changed"
    ]


def test_outside_a_stack_there_is_nothing_to_compare() -> None:
    stubber = answered(error=f"Stack for {FUNCTION} does not exist")
    assert stack_resources(stubber.client, FUNCTION) == {}
    assert foreign_settings(Settings(journal_table="mine"), {}) == []


def test_cloudformation_failing_is_an_error_not_a_pass() -> None:
    stubber = answered(error="Rate exceeded")
    with pytest.raises(StackReadError, match="DescribeStackResources"):
        stack_resources(stubber.client, FUNCTION)


def test_the_detection_functions_compare_the_findings_table_alone() -> None:
    # Given settings whose journal is another's, but whose findings table is the stack's
    settings = Settings(journal_table="elsewhere", findings_table=OWN["FindingsTable"])
    # Then, asked about the findings table only, nothing is foreign; another table is
    assert foreign_settings(settings, OWN, fields=["findings_table"]) == []
    other = settings.model_copy(update={"findings_table": "quiet-findings"})
    assert foreign_settings(other, OWN, fields=["findings_table"]) == [
        "ROLEWARDEN_FINDINGS_TABLE=quiet-findings is not this stack's FindingsTable "
        "(prod-FindingsTable-4D5E6F): refused, nothing is changed"
    ]
