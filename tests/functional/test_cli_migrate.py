"""`rolewarden migrate <host role>`, run in-process (`cli.main`) in moto on the demo account.

The demo's host role `shop-ecs-host` carries the ECS agent's policy (baseline), AWS's
AmazonS3FullAccess and an inline `orders-table` policy (application); the family
`orders-api` (service `orders`, one task on the IMDSv1 host) runs without a task role.

Scenarios:
  1. The plan proposes one task role for orders-api: under /rolewarden/, tagged with the
     host role, holding exactly the host role's application statements, trusted by ECS
     tasks of the account only; the new revision derives from the one the service runs;
     the service and the task move; the agent's policy stays on the host role. The table
     shows the same plan. Nothing is created or registered.
  2. ROLEWARDEN_TASK_ROLE_BOUNDARY_ARN puts that boundary on the proposed role; a value
     that is not an IAM policy ARN is a settings error (exit 2).
  3. Refusals are one line on stderr (exit 2): a role that is not an ECS host role, a host
     role with no application permission, a role the account does not hold.
  4. A role of the proposed name exists already: that family is refused (exit 3).
  5. Three families on one host role: see test_cli_migrate_families.py (an account of
     its own).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from functional.cli_runs import run_cli
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    ECS_TASKS_SERVICE,
    S3_FULL_ACCESS_POLICY_ARN,
    create_role,
    seed_demo_account,
)

HOST_ROLE = "shop-ecs-host"
BOUNDARY = "arn:aws:iam::aws:policy/PowerUserAccess"


@pytest.fixture(scope="module")
def demo(moto_account: Any) -> Iterator[SimpleNamespace]:
    with moto_account() as session:
        account = seed_demo_account(session)
        yield SimpleNamespace(session=session, account=account, iam=session.client("iam"))


def migrate(*args: str, **settings: str) -> tuple[int, str, str]:
    return run_cli(["migrate", *args], settings)


def json_plan(*args: str, **settings: str) -> dict[str, Any]:
    code, out, err = migrate(HOST_ROLE, "--output", "json", *args, **settings)
    assert (code, err) == (0, ""), err
    plan: dict[str, Any] = json.loads(out)
    return plan


def statements_of(iam: Any, policy_arn: str) -> list[dict[str, Any]]:
    """A managed policy's statements at its default version, as IAM holds them."""
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)
    return list(document["PolicyVersion"]["Document"]["Statement"])


def as_lists(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement with Action and Resource as lists (IAM takes a string or a list)."""
    return {
        key: [value] if key in ("Action", "Resource") and isinstance(value, str) else value
        for key, value in statement.items()
    }


def test_scenario_1_one_task_role_per_family_with_the_application_statements(
    demo: SimpleNamespace,
) -> None:
    # Given the demo account; When the plan is asked for as JSON
    plan = json_plan()

    # Then it is about the host role, and orders-api is the one family to move
    account, iam = demo.account, demo.iam
    assert plan["host_role"] == {"name": HOST_ROLE, "arn": account.shop_host_role_arn}
    (family,) = plan["families"]
    assert family["family"] == "orders-api"
    assert family["refused"] is None
    # And its role sits under /rolewarden/, tagged with the host role it came from
    role = family["role"]
    assert role["name"] == "orders-api-task"
    assert role["path"] == "/rolewarden/"
    assert role["arn"] == f"arn:aws:iam::{account.account_id}:role/rolewarden/orders-api-task"
    assert role["tags"]["rolewarden:migrated-from"] == account.shop_host_role_arn
    assert role["permissions_boundary"] is None
    # And it holds the inline orders-table statement and AmazonS3FullAccess's (the role's
    # inline policies first, as IAM lists them), nothing of the agent's policy
    inline = iam.get_role_policy(RoleName=HOST_ROLE, PolicyName="orders-table")
    expected = inline["PolicyDocument"]["Statement"] + statements_of(iam, S3_FULL_ACCESS_POLICY_ARN)
    assert role["policy_document"]["Statement"] == [as_lists(s) for s in expected]
    granted = {action for s in role["policy_document"]["Statement"] for action in s["Action"]}
    agent = {action for s in statements_of(iam, ECS_AGENT_POLICY_ARN) for action in s["Action"]}
    assert granted.isdisjoint(agent)
    # And only ECS tasks of this account may assume it
    (trust,) = role["trust_policy"]["Statement"]
    assert trust["Principal"] == {"Service": ECS_TASKS_SERVICE}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": account.account_id}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:ecs:{account.region}:{account.account_id}:*"
    }
    # And the new revision derives from the service's, and the service and task move
    assert family["new_revision"] == {
        "derives_from": account.orders_api_task_definition_arn,
        "task_role_arn": role["arn"],
    }
    assert family["services"] == [account.orders_service_arn]
    assert family["tasks"] == [account.orders_api_task_arn]
    # And the host role keeps the agent's policy; the application policies leave it
    after = {policy["policy"]: policy["outcome"] for policy in plan["host_role_after"]}
    assert after == {
        "AmazonEC2ContainerServiceforEC2Role": "kept",
        "AmazonS3FullAccess": "removed",
        "orders-table": "removed",
    }


def test_scenario_1_the_table_shows_the_plan_and_nothing_changes(demo: SimpleNamespace) -> None:
    # Given the account's roles and orders-api's revisions before
    iam, ecs = demo.iam, demo.session.client("ecs")
    roles_before = iam.list_roles()["Roles"]
    revisions_before = ecs.list_task_definitions(familyPrefix="orders-api")["taskDefinitionArns"]

    # When the plan is printed as a table
    code, out, err = migrate(HOST_ROLE)

    # Then it names the role, the revision it derives from, the service, what stays
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"Migration plan for host role {HOST_ROLE} (plan only: nothing changed)"
    assert "family orders-api" in lines
    assert "  services that move: shop/orders" in lines
    assert any(line.startswith("  new revision: orders-api:1 with taskRoleArn ") for line in lines)
    assert "  AmazonEC2ContainerServiceforEC2Role (managed): kept" in lines
    # And nothing was created or registered
    assert iam.list_roles()["Roles"] == roles_before
    assert ecs.list_task_definitions(familyPrefix="orders-api")["taskDefinitionArns"] == (
        revisions_before
    )


def test_scenario_2_the_boundary_setting_is_put_on_the_proposed_role(
    demo: SimpleNamespace,
) -> None:
    plan = json_plan(task_role_boundary_arn=BOUNDARY)

    (family,) = plan["families"]
    assert family["role"]["permissions_boundary"] == BOUNDARY


def test_scenario_2_a_boundary_that_is_not_a_policy_arn_is_a_settings_error(
    demo: SimpleNamespace,
) -> None:
    code, out, err = migrate(HOST_ROLE, task_role_boundary_arn="PowerUserAccess")

    assert (code, out) == (2, "")
    assert err == (
        "rolewarden: invalid setting: ROLEWARDEN_TASK_ROLE_BOUNDARY_ARN: "
        "not an IAM policy ARN: PowerUserAccess\n"
    )


@pytest.mark.parametrize(
    ("role", "reason"),
    [
        ("reporting-app", "rolewarden: reporting-app is not an ECS host role"),
        ("payments-ecs-host", "rolewarden: payments-ecs-host grants no application permission"),
        ("nobody", "rolewarden: no role nobody in account "),
    ],
)
def test_scenario_3_refusals_are_one_line_and_plan_nothing(
    demo: SimpleNamespace, role: str, reason: str
) -> None:
    code, out, err = migrate(role)

    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(reason), err


def test_scenario_3_a_role_given_by_its_arn_is_the_same_role(demo: SimpleNamespace) -> None:
    code, out, err = migrate(demo.account.shop_host_role_arn, "--output", "json")

    assert (code, err) == (0, "")
    assert json.loads(out) == json_plan()


def test_scenario_4_an_existing_role_of_the_proposed_name_refuses_its_family(
    demo: SimpleNamespace,
) -> None:
    # Given a role named orders-api-task (another path: names are unique in the account)
    create_role(demo.iam, "orders-api-task", trust_service=ECS_TASKS_SERVICE)
    try:
        # When the plan is asked for
        code, out, err = migrate(HOST_ROLE, "--output", "json")
    finally:
        demo.iam.delete_role(RoleName="orders-api-task")

    # Then that family is refused, and the command says a plan was refused (exit 3)
    assert (code, err) == (3, "")
    (family,) = json.loads(out)["families"]
    assert family["refused"] == (
        "a role named orders-api-task exists already: RoleWarden creates its own, never reuses one"
    )
