"""ecs-host-imds-exposed: one test per numbered Scenario of the rule's docstring."""

from __future__ import annotations

import pytest
from snapshots import (
    ACCOUNT,
    CLUSTER_ARN,
    REGION,
    add_ecs_host,
    add_instance,
    add_role,
    add_service,
    add_task,
    add_task_definition,
    assert_proposes,
    empty_snapshot,
    evaluate,
    only_evaluation,
    only_finding,
    only_non_compliant_finding,
    remediating,
)

from rolewarden.inventory.snapshot import (
    ContainerInstance,
    Instance,
    ScanError,
    Service,
    Snapshot,
)
from rolewarden.rules.model import Compliance, Severity

RULE = "ecs-host-imds-exposed"
BRIDGE_FIX = "HttpTokens=required with hop limit 1 on the host (enforce-imdsv2)"
HOP_LIMIT_1 = (
    "hop limit 1: no bridge-mode task or service without a task role runs or may run here, "
    "so no container needs the host's IMDS"
)
TASK_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/orders-task"


def test_scenario_1_imdsv1_allowed_on_container_instance_is_medium() -> None:
    # Given an ECS host allowing IMDSv1 (hop limit 1), no tasks, rule in remediate mode
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host")
    host, _ = add_ecs_host(snapshot, role, "i-0v1", http_tokens="optional")

    # When the rule runs
    run = evaluate(RULE, snapshot, remediating(RULE))

    # Then a medium finding names the exposure, what closes it, and proposes enforcing
    # IMDSv2, automatically
    finding = only_non_compliant_finding(run, host.arn)
    assert finding.severity is Severity.MEDIUM
    assert finding.title == "ECS host i-0v1 allows IMDSv1"
    assert finding.evidence == {
        "metadata_options": {"http_tokens": "optional", "hop_limit": 1, "endpoint": "enabled"},
        "problems": ["allows IMDSv1"],
        "exposures": [
            {
                "network_mode": "bridge",
                "reason": "bridge: host allows IMDSv1 with hop limit 1",
                "tasks": [],
                "services": [],
                "closed_by": BRIDGE_FIX,
            }
        ],
        "clusters": [CLUSTER_ARN],
    }
    assert_proposes(
        finding,
        "enforce-imdsv2",
        {
            "instance_id": "i-0v1",
            "http_tokens": "required",
            "hop_limit": 1,
            "hop_limit_reason": HOP_LIMIT_1,
            "previous": {"http_tokens": "optional", "hop_limit": 1, "endpoint": "enabled"},
        },
        automatic=True,
        blocked_by=(),
    )


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


# --- awsvpc and host-network tasks (scenarios 6 to 9) ---------------------------------------

AWSVPC_FIX = (
    "ECS_AWSVPC_BLOCK_IMDS=true in the ECS agent's /etc/ecs/ecs.config (the launch "
    "template's user data), then restart the agent; IMDSv2 and the hop limit do not "
    "stop awsvpc tasks"
)
HOST_FIX = (
    "no setting of the host: host-network tasks share its network, where the ECS agent "
    "needs IMDS (ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST only gives them their task "
    "role); move these task definitions to awsvpc mode (with ECS_AWSVPC_BLOCK_IMDS=true) "
    "or bridge mode (with IMDSv2 and hop limit 1)"
)
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/api-task"
STRICT = {"http_tokens": "required", "hop_limit": 1}


def strict_host(
    snapshot: Snapshot, settings: dict[str, str] | None = None
) -> tuple[Instance, ContainerInstance]:
    """An ECS host requiring IMDSv2 with hop limit 1, with the agent settings given."""
    return add_ecs_host(
        snapshot, add_role(snapshot, "ecs-host"), "i-0vpc", ecs_agent_settings=settings, **STRICT
    )


def test_scenario_6_awsvpc_task_with_a_task_role_on_a_strict_host_is_exposed() -> None:
    # Given a host requiring IMDSv2 with hop limit 1 whose user data was read and does not
    # set ECS_AWSVPC_BLOCK_IMDS, running an awsvpc task that has a task role
    snapshot = empty_snapshot()
    host, container = strict_host(snapshot, settings={})
    api = add_task_definition(snapshot, "api", 2, network_mode="awsvpc", task_role_arn=TASK_ROLE)
    add_task(snapshot, api, container, "task-api")

    # When the rule runs in remediate mode
    run = evaluate(RULE, snapshot, remediating(RULE))

    # Then the host is exposed through that task, the setting that closes it is named, and
    # enforcing IMDSv2 is not proposed: it would change nothing the task uses
    finding = only_non_compliant_finding(run, host.arn)
    assert finding.title == "ECS host i-0vpc lets awsvpc tasks reach IMDS"
    assert finding.evidence["problems"] == ["lets awsvpc tasks reach IMDS"]
    assert finding.evidence["exposures"] == [
        {
            "network_mode": "awsvpc",
            "reason": "awsvpc without ECS_AWSVPC_BLOCK_IMDS=true on the host",
            "tasks": ["task task-api (api:2)"],
            "services": [],
            "closed_by": AWSVPC_FIX,
        }
    ]
    assert finding.remediation is None


def test_scenario_6_block_imds_in_user_data_makes_the_host_compliant() -> None:
    # Given the same host and task, its user data setting ECS_AWSVPC_BLOCK_IMDS=true
    snapshot = empty_snapshot()
    host, container = strict_host(snapshot, settings={"ECS_AWSVPC_BLOCK_IMDS": "true"})
    api = add_task_definition(snapshot, "api", 2, network_mode="awsvpc", task_role_arn=TASK_ROLE)
    add_task(snapshot, api, container)

    # When the rule runs / Then it is compliant
    run = evaluate(RULE, snapshot)
    assert only_evaluation(run, host.arn).compliance is Compliance.COMPLIANT
    assert run.findings == []


def test_scenario_6_unread_user_data_is_assumed_not_to_block_and_says_so() -> None:
    # Given the awsvpc task's host, whose user data could not be read
    snapshot = empty_snapshot()
    _, container = strict_host(snapshot, settings=None)
    add_task(snapshot, add_task_definition(snapshot, "api", 2, network_mode="awsvpc"), container)

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then the worst is assumed, and the title and evidence say it is an assumption
    assert finding.title == "ECS host i-0vpc may let awsvpc tasks reach IMDS"
    assert finding.evidence["exposures"][0]["reason"] == (
        "awsvpc: the host's ECS agent settings could not be read; assuming reachable"
    )


@pytest.mark.parametrize("launch_type", ["EC2", None], ids=["ec2", "capacity-provider"])
def test_scenario_6_an_awsvpc_service_that_ecs_may_place_on_the_host_counts(
    launch_type: str | None,
) -> None:
    # Given a strict host running nothing yet, and an awsvpc service of its cluster on EC2
    # (or on a capacity provider strategy that is not Fargate-only)
    snapshot = empty_snapshot()
    host, _ = strict_host(snapshot, settings={})
    api = add_task_definition(snapshot, "api", 3, network_mode="awsvpc", task_role_arn=TASK_ROLE)
    add_service(snapshot, "api", api, launch_type=launch_type)

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then the host may run its tasks, and is exposed through them
    assert finding.resource_arn == host.arn
    assert finding.evidence["exposures"][0]["services"] == ["service api (api:3)"]
    assert finding.evidence["exposures"][0]["tasks"] == []


@pytest.mark.parametrize(
    ("launch_type", "compatibilities"),
    [("FARGATE", ("EC2", "FARGATE")), ("EXTERNAL", ("EXTERNAL",)), (None, ("FARGATE",))],
    ids=["fargate-service", "external-service", "fargate-only-definition"],
)
def test_scenario_6_a_service_that_cannot_land_on_the_host_does_not_count(
    launch_type: str | None, compatibilities: tuple[str, ...]
) -> None:
    # Given a strict host, and an awsvpc service of its cluster that Fargate (or external
    # instances) runs
    snapshot = empty_snapshot()
    host, _ = strict_host(snapshot, settings={})
    api = add_task_definition(
        snapshot, "api", 1, network_mode="awsvpc", compatibilities=compatibilities
    )
    add_service(snapshot, "api", api, launch_type=launch_type)

    # When the rule runs / Then the host is compliant
    assert only_evaluation(evaluate(RULE, snapshot), host.arn).compliance is (Compliance.COMPLIANT)


def test_scenario_6_a_service_of_another_cluster_does_not_count() -> None:
    # Given a strict host in cluster prod, and an awsvpc EC2 service of cluster batch
    snapshot = empty_snapshot()
    host, _ = strict_host(snapshot, settings={})
    api = add_task_definition(snapshot, "api", 1, network_mode="awsvpc")
    other = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/batch"
    service = Service(f"{other}/api", "api", other, api.arn, "EC2")
    snapshot.services[service.arn] = service

    # When the rule runs / Then ECS cannot place it on this host: compliant
    assert only_evaluation(evaluate(RULE, snapshot), host.arn).compliance is (Compliance.COMPLIANT)


def test_scenario_7_host_network_tasks_and_services_expose_even_a_blocking_strict_host() -> None:
    # Given a strict host that blocks IMDS for awsvpc tasks, running a host-network task with
    # a task role, its cluster also running a host-network service
    snapshot = empty_snapshot()
    host, container = strict_host(snapshot, settings={"ECS_AWSVPC_BLOCK_IMDS": "true"})
    agent = add_task_definition(snapshot, "agent", 4, network_mode="host", task_role_arn=TASK_ROLE)
    add_task(snapshot, agent, container, "task-agent")
    add_service(
        snapshot, "metrics", add_task_definition(snapshot, "metrics", 1, network_mode="host")
    )

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then both are named, no host setting is claimed to close it, and nothing is proposed
    assert finding.resource_arn == host.arn
    assert finding.title == "ECS host i-0vpc lets host-network tasks reach IMDS"
    assert finding.evidence["exposures"] == [
        {
            "network_mode": "host",
            "reason": "host network mode shares the host's network",
            "tasks": ["task task-agent (agent:4)"],
            "services": ["service metrics (metrics:1)"],
            "closed_by": HOST_FIX,
        }
    ]
    assert finding.remediation is None


def test_scenario_8_enforcing_imdsv2_says_what_it_leaves_open() -> None:
    # Given a host allowing IMDSv1 with hop limit 2, running a bridge task, an awsvpc task
    # (user data without the setting) and a host-network task, all with task roles
    snapshot = empty_snapshot()
    _, container = add_ecs_host(
        snapshot,
        add_role(snapshot, "ecs-host"),
        "i-0all",
        http_tokens="optional",
        hop_limit=2,
        ecs_agent_settings={},
    )
    for family, mode in (("web", "bridge"), ("api", "awsvpc"), ("agent", "host")):
        definition = add_task_definition(
            snapshot, family, 1, network_mode=mode, task_role_arn=TASK_ROLE
        )
        add_task(snapshot, definition, container, f"task-{family}")

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then every exposure is in one readable title, each with its own fix
    assert finding.title == (
        "ECS host i-0all allows IMDSv1, has IMDS hop limit 2, lets awsvpc tasks reach IMDS "
        "and lets host-network tasks reach IMDS"
    )
    assert [
        (e["network_mode"], e["tasks"], e["closed_by"]) for e in finding.evidence["exposures"]
    ] == [
        ("bridge", ["task task-web (web:1)"], BRIDGE_FIX),
        ("awsvpc", ["task task-api (api:1)"], AWSVPC_FIX),
        ("host", ["task task-agent (agent:1)"], HOST_FIX),
    ]
    # ... and enforce-imdsv2 fixes the metadata options, saying what remains
    remediation = finding.remediation
    assert remediation is not None
    assert remediation.action == "enforce-imdsv2"
    assert remediation.automatic is True
    assert remediation.params["leaves_open"] == (
        "awsvpc tasks and host-network tasks still reach IMDS"
    )


def test_scenario_9_an_unread_task_definition_on_a_strict_host_gets_no_verdict() -> None:
    # Given a strict host running a task whose task definition could not be read
    snapshot = empty_snapshot()
    host, container = strict_host(snapshot, settings={})
    unread = add_task_definition(snapshot, "api", 1, network_mode="awsvpc")
    add_task(snapshot, unread, container)
    del snapshot.task_definitions[unread.arn]

    # When the rule runs / Then it is not called compliant: its network mode is unknown
    assert [e for e in evaluate(RULE, snapshot).evaluations if e.resource.arn == host.arn] == []


def test_scenario_9_unreadable_services_on_a_strict_host_get_no_verdict() -> None:
    # Given a strict host whose cluster's services could not be read
    snapshot = empty_snapshot()
    host, _ = strict_host(snapshot, settings={})
    snapshot.errors.append(ScanError(REGION, "ecs:DescribeServices", CLUSTER_ARN, "AccessDenied"))

    # When the rule runs / Then what may be placed on it is unknown: no verdict
    assert [e for e in evaluate(RULE, snapshot).evaluations if e.resource.arn == host.arn] == []


def test_scenario_9_an_exposed_host_lists_what_could_not_be_read() -> None:
    # Given a host allowing IMDSv1 running a task whose task definition was not read
    snapshot = empty_snapshot()
    _, container = add_ecs_host(snapshot, add_role(snapshot, "ecs-host"), http_tokens="optional")
    unread = add_task_definition(snapshot, "api", 1)
    add_task(snapshot, unread, container, "task-api")
    del snapshot.task_definitions[unread.arn]

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then the evidence names it, and the outage guard counts it as a bridge task: it may be
    assert finding.evidence["not_read"] == ["task task-api (api:1): task definition not read"]
    assert finding.remediation is not None
    assert finding.remediation.blockers.force == (
        "outage guard: bridge-mode tasks without a task role use this host's credentials: "
        "task task-api (api:1); give their task definitions a task role first",
    )


def test_scenario_9_a_disabled_endpoint_is_compliant_whatever_could_not_be_read() -> None:
    # Given a host with its metadata endpoint disabled, whose cluster's services could not
    # be read
    snapshot = empty_snapshot()
    host, _ = add_ecs_host(snapshot, add_role(snapshot, "ecs-host"), endpoint="disabled")
    snapshot.errors.append(ScanError(REGION, "ecs:DescribeServices", CLUSTER_ARN, "AccessDenied"))

    # When the rule runs / Then nothing can reach its IMDS: compliant
    assert only_evaluation(evaluate(RULE, snapshot), host.arn).compliance is (Compliance.COMPLIANT)


def test_scenario_10_a_bridge_task_without_a_task_role_gets_hop_limit_2_and_the_reason() -> None:
    # Given an IMDSv1 host with hop limit 3 running a bridge task without a task role, an
    # awsvpc one without one too, and a bridge task with a task role
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host")
    _, container = add_ecs_host(snapshot, role, http_tokens="optional", hop_limit=3)
    legacy = add_task_definition(snapshot, "legacy", 3)
    api = add_task_definition(snapshot, "api", 1, network_mode="awsvpc")
    web = add_task_definition(snapshot, "web", 2, task_role_arn=TASK_ROLE_ARN)
    add_task(snapshot, legacy, container, "task-legacy")
    add_task(snapshot, api, container, "task-api")
    add_task(snapshot, web, container, "task-web")

    # When the rule runs
    remediation = only_finding(evaluate(RULE, snapshot, remediating(RULE))).remediation

    # Then the hop limit proposed is 2 (the legacy task reaches IMDS across the bridge),
    # and the proposal says why, naming only that task
    assert remediation is not None
    assert remediation.params["hop_limit"] == 2
    assert remediation.params["hop_limit_reason"] == (
        "hop limit 2, not 1: task task-legacy (legacy:3) without a task role get the host's "
        "credentials from IMDS, one hop away from their container (bridge mode, or a task "
        "definition not read); give them a task role, then enforce again for hop limit 1"
    )


def test_scenario_10_a_bridge_service_that_may_be_placed_here_counts_too() -> None:
    # Given a host running nothing, whose cluster has a bridge service without a task role
    snapshot = empty_snapshot()
    add_ecs_host(snapshot, add_role(snapshot, "ecs-host"), http_tokens="optional")
    add_service(snapshot, "orders", add_task_definition(snapshot, "orders", 4))

    remediation = only_finding(evaluate(RULE, snapshot, remediating(RULE))).remediation

    # Then ECS may place it here: hop limit 2
    assert remediation is not None
    assert remediation.params["hop_limit"] == 2
    assert "service orders (orders:4)" in remediation.params["hop_limit_reason"]


def test_scenario_10_workloads_with_task_roles_or_awsvpc_get_hop_limit_1() -> None:
    snapshot = empty_snapshot()
    _, container = add_ecs_host(
        snapshot, add_role(snapshot, "ecs-host"), http_tokens="optional", hop_limit=2
    )
    web = add_task_definition(snapshot, "web", 2, task_role_arn=TASK_ROLE_ARN)
    add_task(snapshot, web, container, "task-web")
    add_service(snapshot, "web", web)

    remediation = only_finding(evaluate(RULE, snapshot, remediating(RULE))).remediation

    assert remediation is not None
    assert (remediation.params["hop_limit"], remediation.params["hop_limit_reason"]) == (
        1,
        HOP_LIMIT_1,
    )
