"""task-role-is-execution-role: one test per numbered Scenario of the rule's docstring."""

from __future__ import annotations

import pytest
from snapshots import (
    ACCOUNT,
    add_task_definition,
    assert_proposes_new_revision_with_task_role,
    assert_severity_and_resource,
    empty_snapshot,
    evaluate,
    only_evaluation,
    only_non_compliant_finding,
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
    finding = only_non_compliant_finding(run, definition.arn)
    assert_severity_and_resource(
        finding, Severity.MEDIUM, "AWS::ECS::TaskDefinition", definition.arn
    )
    assert finding.title == (
        "Task definition web:7 uses ecsTaskExecutionRole as both task role and execution role"
    )
    assert finding.evidence == {"role": SHARED, "family": "web", "revision": 7}
    assert_proposes_new_revision_with_task_role(
        finding, definition, "a person creates the separate task role"
    )


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
