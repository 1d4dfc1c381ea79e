"""ecs-task-without-task-role: one test per numbered Scenario of the rule's docstring."""

from __future__ import annotations

from typing import Any

from snapshots import (
    ACCOUNT,
    ECS_AGENT_POLICY_ARN,
    S3_READ,
    add_ecs_host,
    add_role,
    add_task,
    add_task_definition,
    assert_proposes_new_revision_with_task_role,
    assert_severity_and_resource,
    empty_snapshot,
    evaluate,
    only_evaluation,
    only_finding,
    only_non_compliant_finding,
    remediating,
)

from rolewarden.inventory.snapshot import ContainerInstance, Snapshot
from rolewarden.rules.model import Compliance, Severity

RULE = "ecs-task-without-task-role"
MANUAL = "a person chooses the task role and redeploys the task"


def host_with_app_role(snapshot: Snapshot, **instance_options: Any) -> ContainerInstance:
    """An ECS host whose role grants s3:GetObject besides the agent's policy."""
    role = add_role(
        snapshot, "ecs-host", inline={"orders-read": S3_READ}, attached=(ECS_AGENT_POLICY_ARN,)
    )
    _, container = add_ecs_host(snapshot, role, "i-0host", **instance_options)
    return container


def test_scenario_1_host_network_task_reaching_application_role_is_critical() -> None:
    # Given a host-network task without task role on a host whose role grants S3,
    # even with IMDSv2 and hop limit 1 (host mode shares the host's network)
    snapshot = empty_snapshot()
    container = host_with_app_role(snapshot)
    definition = add_task_definition(snapshot, "legacy", 2, network_mode="host")
    task = add_task(snapshot, definition, container, "t-legacy", group="service:legacy")

    # When the rule runs, even in remediate mode
    run = evaluate(RULE, snapshot, remediating(RULE))

    # Then it is critical, the title names the fallback role, the evidence the permissions
    finding = only_non_compliant_finding(run, task.arn)
    assert_severity_and_resource(finding, Severity.CRITICAL, "AWS::ECS::Task", task.arn)
    assert finding.title == (
        "Task t-legacy (legacy:2) has no task role and falls back to host role ecs-host"
    )
    evidence = finding.evidence
    assert evidence["cluster"] == "prod"
    assert evidence["task_definition"] == definition.arn
    assert evidence["launch_type"] == "EC2"
    assert evidence["network_mode"] == "host"
    assert evidence["group"] == "service:legacy"
    assert evidence["imds_reachable"] is True
    assert evidence["imds_reason"] == "host network mode shares the host's network"
    assert evidence["host"] == {
        "instance_id": "i-0host",
        "metadata_options": {"http_tokens": "required", "hop_limit": 1, "endpoint": "enabled"},
        "role": f"arn:aws:iam::{ACCOUNT}:role/ecs-host",
    }
    reachable = evidence["reachable_application_permissions"]
    assert reachable["services"] == ["s3"]
    assert reachable["application_action_count"] == 1
    assert reachable["critical"] == []
    assert_proposes_new_revision_with_task_role(finding, definition, MANUAL)


def test_scenario_1_bridge_task_on_imdsv1_host_is_critical() -> None:
    # Given a bridge task without task role on a host allowing IMDSv1
    snapshot = empty_snapshot()
    container = host_with_app_role(snapshot, http_tokens="optional")
    add_task(snapshot, add_task_definition(snapshot, "web", 1), container, "t-web")

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it is critical: IMDS is reachable and the host role grants S3
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence["imds_reason"] == "bridge: host allows IMDSv1 with hop limit 1"


def test_scenario_1_awsvpc_with_unread_agent_settings_assumes_reachable() -> None:
    # Given an awsvpc task whose host's ECS agent settings could not be read
    snapshot = empty_snapshot()
    container = host_with_app_role(snapshot, ecs_agent_settings=None)
    definition = add_task_definition(snapshot, "api", 1, network_mode="awsvpc")
    add_task(snapshot, definition, container, "t-api")

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it assumes reachable, says so, and is critical
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence["imds_reachable"] is True
    assert finding.evidence["imds_reason"] == (
        "awsvpc: the host's ECS agent settings could not be read; assuming reachable"
    )


def test_scenario_2_bridge_task_on_imdsv2_hop_1_host_is_high() -> None:
    # Given a bridge task without task role on a host with IMDSv2 required and hop limit 1
    snapshot = empty_snapshot()
    container = host_with_app_role(snapshot, http_tokens="required", hop_limit=1)
    add_task(snapshot, add_task_definition(snapshot, "web", 1), container, "t-web")

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then IMDS is not reachable: high, no fallback in the title, no permissions listed
    assert finding.severity is Severity.HIGH
    assert finding.title == "Task t-web (web:1) has no task role"
    assert finding.evidence["imds_reachable"] is False
    assert finding.evidence["imds_reason"] == "bridge: host requires IMDSv2 with hop limit 1"
    assert "reachable_application_permissions" not in finding.evidence


def test_scenario_2_awsvpc_with_block_imds_is_high() -> None:
    # Given an awsvpc task on a host whose agent sets ECS_AWSVPC_BLOCK_IMDS=true
    snapshot = empty_snapshot()
    container = host_with_app_role(
        snapshot, http_tokens="optional", ecs_agent_settings={"ECS_AWSVPC_BLOCK_IMDS": "true"}
    )
    definition = add_task_definition(snapshot, "api", 1, network_mode="awsvpc")
    add_task(snapshot, definition, container, "t-api")

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then IMDS is not reachable from the task: high
    assert finding.severity is Severity.HIGH
    assert finding.evidence["imds_reachable"] is False
    assert finding.evidence["imds_reason"] == "awsvpc with ECS_AWSVPC_BLOCK_IMDS=true on the host"


def test_scenario_2_reachable_host_role_without_application_actions_is_high() -> None:
    # Given a host-network task on a host whose role holds only the agent policy
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host", attached=(ECS_AGENT_POLICY_ARN,))
    _, container = add_ecs_host(snapshot, role)
    add_task(
        snapshot, add_task_definition(snapshot, "legacy", 1, network_mode="host"), container, "t1"
    )

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it is high: it reaches the host role, which grants nothing of the application
    assert finding.severity is Severity.HIGH
    assert (
        finding.title == "Task t1 (legacy:1) has no task role and falls back to host role ecs-host"
    )
    assert finding.evidence["reachable_application_permissions"]["application_action_count"] == 0


def test_scenario_3_fargate_task_without_task_role_is_high() -> None:
    # Given a Fargate task (no container instance) without task role
    snapshot = empty_snapshot()
    definition = add_task_definition(
        snapshot, "batch", 1, network_mode="awsvpc", compatibilities=("FARGATE",)
    )
    add_task(snapshot, definition, None, "t-batch")

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it is high, with no host and no host credentials
    assert finding.severity is Severity.HIGH
    assert finding.title == "Task t-batch (batch:1) has no task role"
    assert finding.evidence["launch_type"] == "FARGATE"
    assert finding.evidence["imds_reachable"] is False
    assert finding.evidence["imds_reason"] == (
        "Fargate: there is no host whose credentials it could use"
    )
    assert "host" not in finding.evidence


def test_scenario_4_task_definition_role_is_compliant() -> None:
    # Given a task whose definition names a task role
    snapshot = empty_snapshot()
    container = host_with_app_role(snapshot, http_tokens="optional")
    definition = add_task_definition(snapshot, task_role_arn=f"arn:aws:iam::{ACCOUNT}:role/web")
    task = add_task(snapshot, definition, container)

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then it is compliant
    evaluation = only_evaluation(run, task.arn)
    assert evaluation.compliance is Compliance.COMPLIANT
    assert evaluation.annotation == "has a task role"
    assert run.findings == []


def test_scenario_4_override_task_role_is_compliant() -> None:
    # Given a task without a role in its definition, run with overrides.taskRoleArn
    snapshot = empty_snapshot()
    container = host_with_app_role(snapshot, http_tokens="optional")
    definition = add_task_definition(snapshot, network_mode="host")
    task = add_task(
        snapshot,
        definition,
        container,
        override_task_role_arn=f"arn:aws:iam::{ACCOUNT}:role/web",
    )

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then the override counts as its task role
    assert only_evaluation(run, task.arn).compliance is Compliance.COMPLIANT
    assert run.findings == []


def test_scenario_2_task_whose_host_could_not_be_read_assumes_reachable() -> None:
    # Given a bridge task without task role on a container instance whose EC2 instance
    # is missing from the snapshot (DescribeInstances failed)
    snapshot = empty_snapshot()
    container = host_with_app_role(snapshot)
    del snapshot.instances["i-0host"]
    add_task(snapshot, add_task_definition(snapshot, "web", 1), container, "t-web")

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then IMDS is assumed reachable (and it says so); without the host role, it stays high
    assert finding.severity is Severity.HIGH
    assert finding.evidence["imds_reachable"] is True
    assert finding.evidence["imds_reason"] == (
        "the task's EC2 host could not be read; assuming reachable"
    )


def test_scenario_1_host_role_that_cannot_be_fully_evaluated_is_assumed_critical() -> None:
    # Given a bridge task without task role on an IMDSv1 host whose role's only other
    # policy is unreadable (malformed), so what it grants is unknown
    snapshot = empty_snapshot()
    role = add_role(
        snapshot, "ecs-host", inline={"broken": "{not json"}, attached=(ECS_AGENT_POLICY_ARN,)
    )
    _, container = add_ecs_host(snapshot, role, "i-0host", http_tokens="optional")
    add_task(snapshot, add_task_definition(snapshot, "web", 1), container, "t-web")

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it is critical, and the evidence says the host role evaluation is incomplete
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence["host_role_evaluation"].startswith("incomplete: broken: ")
