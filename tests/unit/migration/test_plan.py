"""The migration planner: one test per numbered Scenario of migration/plan.py's docstring."""

from __future__ import annotations

from typing import Any

import pytest

from rolewarden.inventory.snapshot import Role, Snapshot
from rolewarden.migration.documents import trust_policy
from rolewarden.migration.plan import (
    MigrationPlan,
    MigrationRefusedError,
    find_host_role,
    plan_migration,
    proposed_role_names,
)
from unit.rules.snapshots import (
    ACCOUNT,
    ECS_AGENT_POLICY_ARN,
    MIXED,
    S3_READ,
    add_ecs_host,
    add_instance,
    add_managed_policy,
    add_role,
    add_service,
    add_task,
    add_task_definition,
    allow,
    context,
    empty_snapshot,
    profile_of,
)

BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/task-boundary"
NO_PUT = {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}


def host_role(snapshot: Snapshot, **role: Any) -> Role:
    """`ecs-host`: the agent's policy and an S3 read, as the rule tests' host role."""
    role.setdefault("inline", {"orders-read": S3_READ})
    role.setdefault("attached", (ECS_AGENT_POLICY_ARN,))
    return add_role(snapshot, "ecs-host", **role)


def plan(snapshot: Snapshot, role: Role, **options: Any) -> MigrationPlan:
    options.setdefault("existing_roles", frozenset())
    return plan_migration(snapshot, context(), role, **options)


def test_scenario_1_a_family_on_the_host_role_gets_a_task_role_of_its_own() -> None:
    # Given a host role with a Deny, on an IMDSv1 host running web:1 (a task) and web:2
    # (service "web"), both without a task role
    snapshot = empty_snapshot()
    deny = {"Version": "2012-10-17", "Statement": [NO_PUT]}
    role = host_role(snapshot, inline={"orders-read": S3_READ, "no-put": deny})
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    first = add_task_definition(snapshot, "web", 1)
    second = add_task_definition(snapshot, "web", 2)
    task = add_task(snapshot, first, container)
    service = add_service(snapshot, "web", second)

    # When the migration is planned with a boundary
    result = plan(snapshot, role, boundary_arn=BOUNDARY)

    # Then one role for "web", under /rolewarden/, tagged with the host role, holding the
    # S3 read and the Deny, trusted by ECS tasks of this account only
    (family,) = result.families
    assert family.refusal is None
    assert family.role_name == "web-task"
    assert family.role_arn == f"arn:aws:iam::{ACCOUNT}:role/rolewarden/web-task"
    assert family.tags == {"rolewarden:migrated-from": role.arn, "rolewarden:family": "web"}
    assert family.policy_document["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::orders/*"]},
        {"Effect": "Deny", "Action": ["s3:PutObject"], "Resource": ["*"]},
    ]
    (trust,) = family.trust_policy["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:*"},
    }
    assert family.boundary_arn == BOUNDARY
    # And the new revision derives from the highest in use; web:1 is left to replace
    assert family.derives_from == second.arn
    assert family.also_running == (first.arn,)
    assert family.services == (service.arn,)
    assert family.tasks == (task.arn,)


def test_scenario_1_without_the_setting_the_host_roles_boundary_is_kept() -> None:
    # Given a host role with a permissions boundary and a task falling back to it
    snapshot = empty_snapshot()
    boundary = add_managed_policy(snapshot, "host-boundary", allow("*"))
    role = host_role(snapshot)
    role = snapshot.iam.roles[role.arn] = Role(**{**role.__dict__, "boundary_arn": boundary.arn})
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    add_task(snapshot, add_task_definition(snapshot, "web"), container)

    # When planned without ROLEWARDEN_TASK_ROLE_BOUNDARY_ARN
    (family,) = plan(snapshot, role).families

    # Then the task role gets the host role's boundary: it can grant no more
    assert family.boundary_arn == boundary.arn


def test_scenario_1_a_mixed_statement_moves_only_its_application_actions() -> None:
    # Given a host role whose customer managed policy grants ecs:Poll and s3:GetObject
    # in one statement, and a task in host network mode
    snapshot = empty_snapshot()
    mixed = add_managed_policy(snapshot, "host-mixed", MIXED)
    role = add_role(snapshot, "ecs-host", attached=(ECS_AGENT_POLICY_ARN, mixed.arn))
    _, container = add_ecs_host(snapshot, role)
    add_task(snapshot, add_task_definition(snapshot, "web", network_mode="host"), container)

    # When the migration is planned
    (family,) = plan(snapshot, role).families

    # Then the task role gets s3:GetObject, not the agent's ecs:Poll
    assert family.policy_document["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}
    ]


@pytest.mark.parametrize(
    "case",
    ["task role", "override", "imds blocked", "fargate service"],
)
def test_scenario_2_what_does_not_use_the_host_role_is_not_planned(case: str) -> None:
    # Given a host role and, on its IMDSv2 hop-1 host, one workload that does not use it
    snapshot = empty_snapshot()
    role = host_role(snapshot)
    _, container = add_ecs_host(snapshot, role)
    task_role = f"arn:aws:iam::{ACCOUNT}:role/web-task"
    if case == "task role":
        definition = add_task_definition(
            snapshot, "web", network_mode="host", task_role_arn=task_role
        )
        add_task(snapshot, definition, container)
    elif case == "override":
        definition = add_task_definition(snapshot, "web", network_mode="host")
        add_task(snapshot, definition, container, override_task_role_arn=task_role)
    elif case == "imds blocked":  # bridge on a host requiring IMDSv2 with hop limit 1
        add_task(snapshot, add_task_definition(snapshot, "web"), container)
    else:
        add_service(snapshot, "web", add_task_definition(snapshot, "web"), launch_type="FARGATE")

    # When the migration is planned
    result = plan(snapshot, role)

    # Then there is no family to move
    assert result.families == ()


def test_scenario_3_the_host_role_keeps_its_baseline() -> None:
    # Given the agent's policy, an application inline policy and a mixed customer policy
    snapshot = empty_snapshot()
    mixed = add_managed_policy(snapshot, "host-mixed", MIXED)
    role = host_role(snapshot, attached=(ECS_AGENT_POLICY_ARN, mixed.arn))
    add_ecs_host(snapshot, role)

    # When the migration is planned
    after = {policy.name: policy for policy in plan(snapshot, role).host_role_after}

    # Then the agent's policy stays, the S3 read leaves, the mixed one keeps ecs:Poll
    assert after["AmazonEC2ContainerServiceforEC2Role"].outcome == "kept"
    assert after["orders-read"].outcome == "removed"
    assert after["host-mixed"].outcome.startswith("split")
    assert after["host-mixed"].document == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ecs:Poll"], "Resource": ["*"]}],
    }


def test_scenario_4_a_role_that_is_not_an_ecs_host_role_is_refused() -> None:
    # Given an instance role with S3 access on an instance that is no container instance
    snapshot = empty_snapshot()
    role = add_role(snapshot, "app-server", inline={"orders-read": S3_READ})
    add_instance(snapshot, profile_arn=profile_of(role))

    # When / Then the plan is refused
    with pytest.raises(MigrationRefusedError, match="app-server is not an ECS host role"):
        plan(snapshot, role)


def test_scenario_4_a_baseline_only_role_is_refused() -> None:
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host", attached=(ECS_AGENT_POLICY_ARN,))
    add_ecs_host(snapshot, role)

    with pytest.raises(MigrationRefusedError, match="grants no application permission"):
        plan(snapshot, role)


def test_scenario_4_a_role_with_an_unreadable_policy_is_refused() -> None:
    # Given a host role whose customer managed policy could not be read
    snapshot = empty_snapshot()
    unread = add_managed_policy(snapshot, "unread", None)
    role = host_role(snapshot, attached=(ECS_AGENT_POLICY_ARN, unread.arn))
    add_ecs_host(snapshot, role)

    with pytest.raises(MigrationRefusedError, match="not every policy could be evaluated"):
        plan(snapshot, role)


def test_scenario_4_a_host_role_under_another_boundary_than_the_settings_is_refused() -> None:
    # Given a host role with its own boundary, and a task falling back to it
    snapshot = empty_snapshot()
    own = add_managed_policy(snapshot, "host-boundary", allow("*"))
    role = host_role(snapshot)
    role = snapshot.iam.roles[role.arn] = Role(**{**role.__dict__, "boundary_arn": own.arn})
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    add_task(snapshot, add_task_definition(snapshot, "web"), container)

    # When / Then planning under another boundary is refused
    with pytest.raises(MigrationRefusedError, match=f"has the permissions boundary {own.arn}"):
        plan(snapshot, role, boundary_arn=BOUNDARY)


def test_scenario_4_a_role_the_account_does_not_hold_is_refused() -> None:
    with pytest.raises(MigrationRefusedError, match=f"no role nobody in account {ACCOUNT}"):
        find_host_role(empty_snapshot(), "nobody")


def test_scenario_5_bad_or_taken_role_names_refuse_their_family_only() -> None:
    # Given three families on the host role: one with a 64-character name, one whose role
    # name exists already (in another case), one that can move
    snapshot = empty_snapshot()
    role = host_role(snapshot)
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    long_family = "f" * 64
    for number, family in enumerate((long_family, "orders", "web")):
        add_task(snapshot, add_task_definition(snapshot, family), container, f"task{number}")
    assert proposed_role_names(snapshot, role) == [f"{long_family}-task", "orders-task", "web-task"]

    # When the migration is planned, IAM holding a role "Orders-Task"
    result = plan(snapshot, role, existing_roles=frozenset({"Orders-Task"}))

    # Then the long and the taken name are refused with their reasons; "web" is planned
    refusals = {family.family: family.refusal for family in result.families}
    assert refusals[long_family] is not None
    assert "would be invalid (IAM allows at most 64 characters" in refusals[long_family]
    assert refusals["orders"] == (
        "a role named orders-task exists already: RoleWarden creates its own, never reuses one"
    )
    assert refusals["web"] is None
    assert [family.family for family in result.refused] == [long_family, "orders"]


def test_scenario_1_statements_of_several_policies_keep_sids_iam_accepts() -> None:
    # Given two application policies whose statements share the Sid "Read"
    snapshot = empty_snapshot()
    orders = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    table = {**orders, "Action": "dynamodb:GetItem"}
    role = host_role(
        snapshot,
        inline={
            "orders": {"Version": "2012-10-17", "Statement": [orders]},
            "table": {"Version": "2012-10-17", "Statement": [table]},
        },
    )
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    add_task(snapshot, add_task_definition(snapshot, "web"), container)

    # When the migration is planned
    (family,) = plan(snapshot, role).families

    # Then both statements move, each with a Sid of its own (IAM wants them unique)
    statements = family.policy_document["Statement"]
    assert [(s["Sid"], s["Action"]) for s in statements] == [
        ("Read", ["s3:GetObject"]),
        ("Read2", ["dynamodb:GetItem"]),
    ]


def test_scenario_1_a_family_in_two_regions_is_trusted_from_the_tasks_of_both() -> None:
    # When the trust policy is made for a family running in two regions
    (statement,) = trust_policy("aws", ACCOUNT, ["us-east-1", "eu-west-1"])["Statement"]

    # Then ECS tasks of the account in either region may assume the role, no others
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {
            "aws:SourceArn": [
                f"arn:aws:ecs:eu-west-1:{ACCOUNT}:*",
                f"arn:aws:ecs:us-east-1:{ACCOUNT}:*",
            ]
        },
    }


def test_scenario_6_a_family_already_given_a_task_role_is_refused() -> None:
    # Given web:2 with a task role, and a task left on web:1 without one
    snapshot = empty_snapshot()
    role = host_role(snapshot)
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    add_task(snapshot, add_task_definition(snapshot, "web", 1), container)
    task_role = f"arn:aws:iam::{ACCOUNT}:role/web-role"
    add_task_definition(snapshot, "web", 2, task_role_arn=task_role)

    # When the migration is planned
    (family,) = plan(snapshot, role).families

    # Then the family is refused: the task is to be replaced with web:2
    assert family.refusal == (
        f"web:2 has a task role already ({task_role}): replace the tasks and services "
        "still on older revisions with it instead"
    )


def test_scenario_7_a_document_over_iams_inline_quota_refuses_every_family() -> None:
    # Given a host role whose application policy names 300 buckets (about 12,000 characters)
    buckets = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::orders-archive-{n:04d}/*" for n in range(300)],
            }
        ],
    }
    snapshot = empty_snapshot()
    role = host_role(snapshot, inline={"archive-read": buckets})
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    add_task(snapshot, add_task_definition(snapshot, "web"), container)

    # When the migration is planned
    (family,) = plan(snapshot, role).families

    # Then the family is refused, saying how long the document would be
    assert family.refusal is not None
    assert family.refusal.startswith("its policy document would be 1")
    assert "over IAM's 10240 for a role's inline policies" in family.refusal


def test_scenario_8_a_protected_revision_refuses_its_family() -> None:
    # Given two families on the host role, web's revision tagged rolewarden:protected
    snapshot = empty_snapshot()
    role = host_role(snapshot)
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    protected = add_task_definition(snapshot, "web", 3, tags={"rolewarden:protected": "true"})
    add_task(snapshot, protected, container, "t-web")
    add_task(snapshot, add_task_definition(snapshot, "api"), container, "t-api")

    # When the migration is planned
    refusals = {family.family: family.refusal for family in plan(snapshot, role).families}

    # Then web is refused, api planned
    assert refusals == {
        "api": None,
        "web": "web:3 is never changed: protected: tagged rolewarden:protected",
    }
