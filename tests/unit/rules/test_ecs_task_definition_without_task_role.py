"""ecs-task-definition-without-task-role: one test per numbered Scenario of the docstring."""

from __future__ import annotations

import pytest
from snapshots import (
    ACCOUNT,
    add_service,
    add_task_definition,
    assert_proposes_new_revision_with_task_role,
    empty_snapshot,
    evaluate,
    only_evaluation,
    only_finding,
    only_non_compliant_finding,
    remediating,
)

from rolewarden.rules.model import Compliance, Severity

RULE = "ecs-task-definition-without-task-role"
EXECUTION = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"


@pytest.mark.parametrize(
    ("compatibilities", "shown"),
    [(("EC2",), ["EC2"]), ((), ["EC2 (default)"]), (("EC2", "FARGATE"), ["EC2", "FARGATE"])],
    ids=["ec2", "no-requires-compatibilities", "ec2-and-fargate"],
)
def test_scenario_1_revision_that_can_run_on_ec2_without_task_role_is_high(
    compatibilities: tuple[str, ...], shown: list[str]
) -> None:
    # Given an ACTIVE revision without task role that can run on EC2, used by a service
    snapshot = empty_snapshot()
    definition = add_task_definition(
        snapshot,
        "web",
        4,
        compatibilities=compatibilities,
        execution_role_arn=EXECUTION,
    )
    add_service(snapshot, "web-svc", definition)

    # When the rule runs, even in remediate mode
    run = evaluate(RULE, snapshot, remediating(RULE))

    # Then a high finding says the containers would use the host's credentials
    finding = only_non_compliant_finding(run, definition.arn)
    assert finding.severity is Severity.HIGH
    assert finding.title == (
        "Task definition web:4 has no task role "
        "(on EC2 its containers would use the host's credentials)"
    )
    assert finding.evidence == {
        "family": "web",
        "revision": 4,
        "compatibilities": shown,
        "network_mode": "bridge",
        "execution_role": EXECUTION,
        "services": ["web-svc"],
    }
    assert_proposes_new_revision_with_task_role(
        finding, definition, "a person chooses the task role"
    )


def test_scenario_2_fargate_only_revision_without_task_role_is_medium() -> None:
    # Given a Fargate-only ACTIVE revision without task role
    snapshot = empty_snapshot()
    add_task_definition(snapshot, "batch", 2, network_mode="awsvpc", compatibilities=("FARGATE",))

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it is medium, and the title does not mention host credentials
    assert finding.severity is Severity.MEDIUM
    assert finding.title == "Task definition batch:2 has no task role"
    assert finding.evidence["compatibilities"] == ["FARGATE"]


def test_scenario_3_revision_with_task_role_is_compliant() -> None:
    # Given an ACTIVE revision with a task role
    snapshot = empty_snapshot()
    definition = add_task_definition(snapshot, task_role_arn=f"arn:aws:iam::{ACCOUNT}:role/web")

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then it is compliant
    evaluation = only_evaluation(run, definition.arn)
    assert evaluation.compliance is Compliance.COMPLIANT
    assert evaluation.annotation == "has a task role"
    assert run.findings == []


def test_scenario_4_inactive_revision_is_not_applicable() -> None:
    # Given an INACTIVE revision without task role
    snapshot = empty_snapshot()
    definition = add_task_definition(snapshot, status="INACTIVE")

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then it is not applicable
    evaluation = only_evaluation(run, definition.arn)
    assert evaluation.compliance is Compliance.NOT_APPLICABLE
    assert evaluation.annotation == "revision is INACTIVE"
    assert run.findings == []


def test_scenario_1_cloudformation_definition_names_the_stack() -> None:
    # Given a revision registered by a CloudFormation stack
    snapshot = empty_snapshot()
    add_task_definition(snapshot, tags={"aws:cloudformation:stack-name": "web-stack"})

    # When the rule runs
    remediation = only_finding(evaluate(RULE, snapshot)).remediation

    # Then both reasons for a person to act are given
    assert remediation is not None
    assert remediation.blocked_by == (
        "managed by CloudFormation stack web-stack: fix the template, or the stack puts it back",
        "a person chooses the task role",
    )
