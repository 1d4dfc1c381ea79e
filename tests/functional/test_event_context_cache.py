"""What a warm event container remembers cannot hide a change from the outage guard.

The container's `ContextCache` keeps where each host was registered; a host that moved
since (deregistered, registered in another cluster) is looked for in every cluster again,
and the tasks it runs there guard its role's fix.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import boto3

from functional.accounts import ACCOUNT
from functional.conftest import REGION
from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    allow,
    create_cluster,
    create_instance_profile,
    create_role,
    launch_instance,
    policy_document,
    register_container_instance,
    register_task_definition,
    run_task,
)
from rolewarden.evaluation.scope import Scope
from rolewarden.evaluation.targets import TargetedResult, Targets, evaluate_targets
from rolewarden.inventory.context_cache import ContextCache
from rolewarden.rules import ids
from rolewarden.settings import Settings

ROLE = "shop-ecs-host"


def role_event(session: boto3.Session, cache: ContextCache) -> tuple[TargetedResult, Counter[str]]:
    """An IAM event on the role, decided with this container's cache; and its calls."""
    clients = AwsClients(session)
    result = evaluate_targets(
        clients,
        Targets(role_names=frozenset({ROLE})),
        Scope(ACCOUNT, "aws", REGION, (REGION,)),
        Settings().rule_context(),
        [ids.INSTANCE_ROLE_APP_PERMISSIONS],
        cache,
    )
    return result, Counter(
        f"{s}:{op}" for (s, op), n in clients.counter.calls.items() for _ in range(n)
    )


def shop(session: boto3.Session) -> SimpleNamespace:
    """A host role with application permissions; its host (IMDSv1 allowed) registered in
    cluster blue, which runs nothing yet; cluster green beside it."""
    iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
    create_role(
        iam,
        ROLE,
        managed_policy_arns=(ECS_AGENT_POLICY_ARN,),
        inline_policies={"app": policy_document(allow(["s3:GetObject"]))},
    )
    profile = create_instance_profile(iam, ROLE, ROLE)
    world = SimpleNamespace(ecs=ecs, ec2=ec2)
    world.blue, world.green = create_cluster(ecs, "blue"), create_cluster(ecs, "green")
    world.host = launch_instance(ec2, profile_arn=profile, http_tokens="optional")
    world.blue_container = register_container_instance(ecs, ec2, world.blue, world.host)
    world.web = register_task_definition(ecs, "web")  # no task role
    return world


def guard_reasons(result: TargetedResult) -> list[str]:
    (finding,) = result.findings
    assert finding.remediation is not None
    return [reason for reason in finding.remediation.blocked_by if "outage guard" in reason]


def test_a_host_moved_to_another_cluster_is_found_there_by_a_warm_container(
    mock_aws: boto3.Session,
) -> None:
    # Given a container that decided an event on the role while its host ran nothing
    world = shop(mock_aws)
    cache = ContextCache()
    first, _ = role_event(mock_aws, cache)
    assert guard_reasons(first) == []

    # When the host moves to cluster green and runs a task without a task role there
    world.ecs.deregister_container_instance(
        cluster=world.blue, containerInstance=world.blue_container
    )
    green_container = register_container_instance(world.ecs, world.ec2, world.green, world.host)
    task = run_task(world.ecs, world.green, world.web, container_instance_arn=green_container)
    second, calls = role_event(mock_aws, cache)

    # Then the remembered cluster is not trusted: every cluster is listed again, and the
    # outage guard names the task that uses the role's permissions from green
    assert calls["ecs:ListContainerInstances"] == 2
    (reason,) = guard_reasons(second)
    assert task.rsplit("/", 1)[-1] in reason


def test_a_host_still_connected_where_it_was_is_not_looked_for_elsewhere(
    mock_aws: boto3.Session,
) -> None:
    # Given a container that decided an event on the role
    world = shop(mock_aws)
    cache = ContextCache()
    _, cold = role_event(mock_aws, cache)

    # When a task without a task role starts on the host, and the role changes again
    task = run_task(world.ecs, world.blue, world.web, container_instance_arn=world.blue_container)
    second, warm = role_event(mock_aws, cache)

    # Then the host's registration is confirmed with one call instead of listing each
    # cluster, and its new task is still seen (tasks are listed afresh every time)
    assert (cold["ecs:ListClusters"], cold["ecs:ListContainerInstances"]) == (1, 2)
    assert (warm["ecs:ListClusters"], warm["ecs:ListContainerInstances"]) == (0, 0)
    assert warm["ecs:DescribeContainerInstances"] == 1
    (reason,) = guard_reasons(second)
    assert task.rsplit("/", 1)[-1] in reason
