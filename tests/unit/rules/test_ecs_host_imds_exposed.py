"""ecs-host-imds-exposed: one test per numbered Scenario of the rule's docstring."""

from __future__ import annotations

import pytest
from snapshots import (
    CLUSTER_ARN,
    REGION,
    add_ecs_host,
    add_instance,
    add_role,
    add_task,
    add_task_definition,
    empty_snapshot,
    evaluate,
    only_evaluation,
    only_finding,
    remediating,
)

from rolewarden.inventory.snapshot import ScanError
from rolewarden.rules.model import Compliance, Severity

RULE = "ecs-host-imds-exposed"


def test_scenario_1_imdsv1_allowed_on_container_instance_is_medium() -> None:
    # Given an ECS host allowing IMDSv1 (hop limit 1), no tasks, rule in remediate mode
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host")
    host, _ = add_ecs_host(snapshot, role, "i-0v1", http_tokens="optional")

    # When the rule runs
    run = evaluate(RULE, snapshot, remediating(RULE))

    # Then a medium finding proposes enforcing IMDSv2, automatically
    assert only_evaluation(run, host.arn).compliance is Compliance.NON_COMPLIANT
    finding = only_finding(run)
    assert finding.severity is Severity.MEDIUM
    assert finding.title == "ECS host i-0v1 allows IMDSv1"
    assert finding.evidence == {
        "metadata_options": {"http_tokens": "optional", "hop_limit": 1, "endpoint": "enabled"},
        "problems": ["allows IMDSv1"],
        "clusters": [CLUSTER_ARN],
    }
    assert finding.remediation is not None
    assert finding.remediation.action == "enforce-imdsv2"
    assert dict(finding.remediation.params) == {
        "instance_id": "i-0v1",
        "http_tokens": "required",
        "hop_limit": 1,
        "previous": {"http_tokens": "optional", "hop_limit": 1, "endpoint": "enabled"},
    }
    assert finding.remediation.automatic is True
    assert finding.remediation.blocked_by == ()


def test_scenario_1_dry_run_is_not_automatic() -> None:
    # Given the same host, remediate mode, but the dry-run kill switch
    snapshot = empty_snapshot()
    add_ecs_host(snapshot, add_role(snapshot, "ecs-host"), http_tokens="optional")

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE, dry_run=True)))

    # Then nothing is changed automatically
    assert finding.remediation is not None
    assert finding.remediation.automatic is False


def test_scenario_2_hop_limit_above_one_is_non_compliant() -> None:
    # Given an ECS host requiring IMDSv2 but with hop limit 2 (containers can reach it)
    snapshot = empty_snapshot()
    add_ecs_host(snapshot, add_role(snapshot, "ecs-host"), "i-0hop", hop_limit=2)

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then the hop limit is the problem
    assert finding.severity is Severity.MEDIUM
    assert finding.title == "ECS host i-0hop has IMDS hop limit 2"
    assert finding.evidence["problems"] == ["has IMDS hop limit 2"]


def test_scenario_2_both_problems_are_named() -> None:
    # Given IMDSv1 allowed and hop limit 3, launched by an Auto Scaling group
    snapshot = empty_snapshot()
    add_ecs_host(
        snapshot,
        add_role(snapshot, "ecs-host"),
        "i-0both",
        http_tokens="optional",
        hop_limit=3,
        tags={"aws:autoscaling:groupName": "ecs-asg"},
    )

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then both problems and the root cause are in the finding
    assert finding.title == "ECS host i-0both allows IMDSv1 and has IMDS hop limit 3"
    assert finding.evidence["root_cause"] == {"auto_scaling_group": "ecs-asg"}


@pytest.mark.parametrize(
    ("http_tokens", "hop_limit", "endpoint"),
    [("required", 1, "enabled"), ("optional", 2, "disabled")],
    ids=["imdsv2-hop-1", "endpoint-disabled"],
)
def test_scenario_3_imdsv2_hop_1_or_endpoint_disabled_is_compliant(
    http_tokens: str, hop_limit: int, endpoint: str
) -> None:
    # Given an ECS host with IMDSv2 required and hop limit 1, or IMDS turned off
    snapshot = empty_snapshot()
    host, _ = add_ecs_host(
        snapshot,
        add_role(snapshot, "ecs-host"),
        http_tokens=http_tokens,
        hop_limit=hop_limit,
        endpoint=endpoint,
    )

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then it is compliant
    evaluation = only_evaluation(run, host.arn)
    assert evaluation.compliance is Compliance.COMPLIANT
    assert evaluation.annotation == "IMDSv2 required with hop limit 1"
    assert run.findings == []


def test_scenario_4_plain_instance_is_not_applicable() -> None:
    # Given an instance allowing IMDSv1 that is not an ECS container instance
    snapshot = empty_snapshot()
    instance = add_instance(snapshot, "i-0plain", http_tokens="optional", hop_limit=2)

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then the rule does not apply to it
    evaluation = only_evaluation(run, instance.arn)
    assert evaluation.compliance is Compliance.NOT_APPLICABLE
    assert evaluation.annotation == "not an ECS container instance"
    assert run.findings == []


def test_scenario_5_bridge_task_without_role_blocks_enforcing_imdsv2() -> None:
    # Given an exposed host running a bridge-mode task without a task role,
    # and an awsvpc task without one (not cut off by IMDSv2), rule in remediate mode
    snapshot = empty_snapshot()
    _, container = add_ecs_host(snapshot, add_role(snapshot, "ecs-host"), http_tokens="optional")
    bridge = add_task_definition(snapshot, "legacy", 3, network_mode="bridge")
    awsvpc = add_task_definition(snapshot, "api", 1, network_mode="awsvpc")
    add_task(snapshot, bridge, container, "task-bridge")
    add_task(snapshot, awsvpc, container, "task-awsvpc")

    # When the rule runs
    remediation = only_finding(evaluate(RULE, snapshot, remediating(RULE))).remediation

    # Then the outage guard blocks it, naming only the bridge task
    assert remediation is not None
    assert remediation.automatic is False
    assert remediation.blocked_by == (
        "outage guard: bridge-mode tasks without a task role use this host's credentials: "
        "task task-bridge (legacy:3); give their task definitions a task role first",
    )


def test_scenario_5_bridge_task_with_override_role_does_not_block() -> None:
    # Given the bridge task gets its task role from the run's override
    snapshot = empty_snapshot()
    _, container = add_ecs_host(snapshot, add_role(snapshot, "ecs-host"), http_tokens="optional")
    bridge = add_task_definition(snapshot, "legacy", 3, network_mode="bridge")
    add_task(snapshot, bridge, container, override_task_role_arn="arn:aws:iam::1:role/legacy")

    # When the rule runs
    remediation = only_finding(evaluate(RULE, snapshot, remediating(RULE))).remediation

    # Then nothing blocks enforcing IMDSv2
    assert remediation is not None
    assert remediation.blocked_by == ()
    assert remediation.automatic is True


def test_scenario_4_plain_instance_gets_no_verdict_when_ecs_membership_is_unknown() -> None:
    # Given an instance allowing IMDSv1, and the cluster's container instances could not be read
    snapshot = empty_snapshot()
    instance = add_instance(snapshot, "i-0maybe", http_tokens="optional")
    snapshot.errors.append(
        ScanError(REGION, "ecs:DescribeContainerInstances", CLUSTER_ARN, "AccessDenied")
    )

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then it is neither called out of scope nor compliant: the scan error stands instead
    assert [e for e in run.evaluations if e.resource.arn == instance.arn] == []


def test_scenario_5_unreadable_tasks_block_enforcing_imdsv2() -> None:
    # Given an exposed host whose cluster's tasks could not be read, rule in remediate mode
    snapshot = empty_snapshot()
    add_ecs_host(snapshot, add_role(snapshot, "ecs-host"), http_tokens="optional")
    snapshot.errors.append(ScanError(REGION, "ecs:DescribeTasks", CLUSTER_ARN, "AccessDenied"))

    # When the rule runs
    remediation = only_finding(evaluate(RULE, snapshot, remediating(RULE))).remediation

    # Then enforcing IMDSv2 waits for a person: the tasks it could cut off are unknown
    assert remediation is not None
    assert remediation.automatic is False
    assert remediation.blocked_by == (
        "outage guard: the tasks on this host could not be read (prod)",
    )
