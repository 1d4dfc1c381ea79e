"""task-role-is-execution-role: one test per numbered Scenario of the rule's docstring."""

from __future__ import annotations

import pytest
from snapshots import (
    ACCOUNT,
    add_task_definition,
    empty_snapshot,
    evaluate,
    only_evaluation,
    only_finding,
    remediating,
)

from rolewarden.rules.model import Compliance, Severity

RULE = "task-role-is-execution-role"
SHARED = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
APP = f"arn:aws:iam::{ACCOUNT}:role/web-task"


def test_scenario_1_same_task_and_execution_role_is_medium() -> None:
    # Given an ACTIVE revision whose task role is its execution role, rule in remediate mode
    snapshot = empty_snapshot()
    definition = add_task_definition(
        snapshot, "web", 7, task_role_arn=SHARED, execution_role_arn=SHARED
    )

    # When the rule runs
    run = evaluate(RULE, snapshot, remediating(RULE))

    # Then a medium finding proposes a new revision with a separate task role, by a person
    assert only_evaluation(run, definition.arn).compliance is Compliance.NON_COMPLIANT
    finding = only_finding(run)
    assert finding.severity is Severity.MEDIUM
    assert finding.resource_type == "AWS::ECS::TaskDefinition"
    assert finding.resource_id == definition.arn
    assert finding.title == (
        "Task definition web:7 uses ecsTaskExecutionRole as both task role and execution role"
    )
    assert finding.evidence == {"role": SHARED, "family": "web", "revision": 7}
    assert finding.remediation is not None
    assert finding.remediation.action == "register-task-definition-with-task-role"
    assert dict(finding.remediation.params) == {
        "task_definition_arn": definition.arn,
        "task_role_arn": None,
    }
    assert finding.remediation.automatic is False
    assert finding.remediation.blocked_by == ("a person creates the separate task role",)


@pytest.mark.parametrize(
    ("task_role", "execution_role"),
    [(APP, SHARED), (None, SHARED), (APP, None), (None, None)],
    ids=["differ", "no-task-role", "no-execution-role", "neither"],
)
def test_scenario_2_different_or_absent_roles_are_compliant(
    task_role: str | None, execution_role: str | None
) -> None:
    # Given an ACTIVE revision whose roles differ or are missing
    snapshot = empty_snapshot()
    definition = add_task_definition(
        snapshot, task_role_arn=task_role, execution_role_arn=execution_role
    )

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then it is compliant
    evaluation = only_evaluation(run, definition.arn)
    assert evaluation.compliance is Compliance.COMPLIANT
    assert evaluation.annotation == "task and execution roles differ"
    assert run.findings == []


def test_scenario_3_inactive_revision_is_not_applicable() -> None:
    # Given an INACTIVE revision that shares one role
    snapshot = empty_snapshot()
    definition = add_task_definition(
        snapshot, status="INACTIVE", task_role_arn=SHARED, execution_role_arn=SHARED
    )

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then it is not applicable
    evaluation = only_evaluation(run, definition.arn)
    assert evaluation.compliance is Compliance.NOT_APPLICABLE
    assert evaluation.annotation == "revision is INACTIVE"
    assert run.findings == []


def test_scenario_1_same_role_written_as_name_and_as_arn_is_non_compliant() -> None:
    # Given a revision whose task role is given by name and execution role by ARN
    snapshot = empty_snapshot()
    definition = add_task_definition(
        snapshot,
        "billing",
        task_role_arn="billing-shared",
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/billing-shared",
    )

    # When the rule runs
    evaluation = only_evaluation(evaluate(RULE, snapshot), definition.arn)

    # Then it is the same identity
    assert evaluation.compliance is Compliance.NON_COMPLIANT
