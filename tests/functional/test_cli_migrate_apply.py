"""`rolewarden migrate --apply` and `rolewarden restore <migration id>`, in moto: three
families (bridge, awsvpc, host network) share the demo's shop-ecs-host role.

Scenarios (migration/apply.py's):
  1. Applied with --update-services: each family has a role of its own under /rolewarden/
     with exactly the host role's application statements, its trust policy and tags; a
     new revision of each family uses it; each service runs its new revision; every step
     is journaled under one migration id, and the output says how to undo it.
  2. Applied again: nothing is done twice (no second role or revision).
  3. Without a journal, or under the kill switch: nothing changes.
  5. --finish while tasks still run the old revisions: refused, naming them; once they are
     replaced with the new revisions: the host role keeps its baseline policies only, and
     those entries join the migration.
  4. The migration restored as a whole: the roles the running tasks still use are kept
     (named; --force deletes them), and so is the host role's critical application policy
     (a person forces it back); the rest is undone. Once those tasks are gone, restored
     with --force, the account is where it started, resource by resource (roles and their
     policies, the host role's included, revisions, services).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from functional.cli_runs import run_cli
from functional.journals import create_table, with_journal_key
from rolewarden.demo.builders import (
    create_service,
    register_task_definition,
    run_task,
    seed_demo_account,
)

HOST_ROLE = "shop-ecs-host"
TABLE = "migration-journal"
FAMILIES = ("inventory-sync", "metrics-agent", "orders-api")


@pytest.fixture(scope="module")
def account(moto_account: Any) -> Iterator[SimpleNamespace]:
    with moto_account() as session:
        demo = seed_demo_account(session)
        ecs = session.client("ecs")
        awsvpc = register_task_definition(ecs, "inventory-sync", network_mode="awsvpc")
        host = register_task_definition(ecs, "metrics-agent", network_mode="host")
        create_service(ecs, "shop", "inventory-sync", awsvpc)
        run_task(
            ecs, "shop", host, container_instance_arn=demo.shop_host_imdsv1_container_instance_arn
        )
        create_table(session.client("dynamodb"), TABLE)
        yield SimpleNamespace(session=session, demo=demo, iam=session.client("iam"), ecs=ecs)


def migrate(*args: str, **settings: str) -> tuple[int, str, str]:
    return run_cli(["migrate", HOST_ROLE, *args], with_journal_key(settings))


def state_of(account: SimpleNamespace) -> dict[str, Any]:
    """What a person would compare: roles and their policies, each family's ACTIVE
    revisions and their task roles, each service's revision, the host role's policies."""
    iam, ecs = account.iam, account.ecs
    roles = {
        role["RoleName"]: {
            "path": role["Path"],
            "inline": {
                name: iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)[
                    "PolicyDocument"
                ]
                for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
            },
            "attached": sorted(
                p["PolicyArn"]
                for p in iam.list_attached_role_policies(RoleName=role["RoleName"])[
                    "AttachedPolicies"
                ]
            ),
        }
        for role in iam.list_roles()["Roles"]
    }
    revisions = {
        arn: ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"].get("taskRoleArn")
        for family in FAMILIES
        for arn in ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")[
            "taskDefinitionArns"
        ]
    }
    services = {
        service["serviceName"]: service["taskDefinition"]
        for service in ecs.describe_services(
            cluster="shop", services=ecs.list_services(cluster="shop")["serviceArns"]
        )["services"]
    }
    return {"roles": roles, "revisions": revisions, "services": services}


@pytest.fixture(scope="module")
def applied(account: SimpleNamespace) -> SimpleNamespace:
    before = state_of(account)
    plan = json.loads(migrate("--output", "json")[1])
    code, out, err = migrate(
        "--apply", "--update-services", "--output", "json", journal_table=TABLE
    )
    after = state_of(account)
    return SimpleNamespace(
        before=before,
        plan=plan,
        code=code,
        result=json.loads(out),
        err=err,
        after=after,
        after_roles={family["family"]: family["role"]["arn"] for family in plan["families"]},
        new_revisions={
            family: next(
                arn
                for arn in after["revisions"]
                if arn not in before["revisions"] and f"/{family}:" in arn
            )
            for family in FAMILIES
        },
    )


@pytest.mark.parametrize(
    ("settings", "status", "code"),
    [({}, "refused", 1), ({"journal_table": TABLE, "dry_run": "true"}, "planned", 0)],
)
def test_scenario_3_without_a_journal_or_under_the_kill_switch_nothing_changes(
    account: SimpleNamespace, settings: dict[str, str], status: str, code: int
) -> None:
    # (before the migration is applied: the first tests of this module)
    before = state_of(account)
    exit_code, out, _err = migrate("--apply", "--output", "json", **settings)
    assert (exit_code, json.loads(out)["migration"]["status"]) == (code, status)
    assert state_of(account) == before


def test_scenario_1_each_family_has_its_own_role_and_revision_and_its_services_moved(
    account: SimpleNamespace, applied: SimpleNamespace
) -> None:
    assert (applied.code, applied.err) == (0, "")
    migration = applied.result["migration"]
    assert migration["status"] == "applied"
    planned = {family["family"]: family for family in applied.plan["families"]}
    roles, revisions = applied.after["roles"], applied.after["revisions"]
    for family in FAMILIES:
        # Then the role exists under /rolewarden/ with exactly the planned statements
        role_name = planned[family]["role"]["name"]
        assert role_name not in applied.before["roles"]
        assert roles[role_name] == {
            "path": "/rolewarden/",
            "inline": {"application": planned[family]["role"]["policy_document"]},
            "attached": [],
        }
        role = account.iam.get_role(RoleName=role_name)["Role"]
        assert role["AssumeRolePolicyDocument"] == planned[family]["role"]["trust_policy"]
        tags = {tag["Key"]: tag["Value"] for tag in role["Tags"]}
        assert tags.items() >= planned[family]["role"]["tags"].items()
        # And one new ACTIVE revision of the family uses it
        new = [arn for arn in revisions if arn not in applied.before["revisions"]]
        ours = [arn for arn in new if f"/{family}:" in arn]
        assert [revisions[arn] for arn in ours] == [planned[family]["role"]["arn"]]
    # And each service runs its family's new revision
    for service, revision in applied.after["services"].items():
        if service in ("orders-api", "inventory-sync"):
            assert revisions[revision] == planned[service]["role"]["arn"]
    # And every step is journaled under the one migration id, with the command to undo it
    steps = migration["journal"]
    assert len(steps) == 6
    assert {step["migration_id"] for step in steps} == {migration["migration_id"]}
    assert {step["status"] for step in steps} == {"verified"}
    assert migration["migration_id"].startswith("migration-")


def test_scenario_1_the_journal_lists_every_step(applied: SimpleNamespace) -> None:
    code, out, _err = run_cli(["journal"], with_journal_key({"journal_table": TABLE}))
    assert code == 0
    steps = [step["journal_id"] for step in applied.result["migration"]["journal"]]
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert sorted(listed) == sorted(steps)


def test_scenario_2_applied_again_nothing_is_done_twice(
    account: SimpleNamespace, applied: SimpleNamespace
) -> None:
    code, out, err = migrate(
        "--apply", "--update-services", "--output", "json", journal_table=TABLE
    )
    result = json.loads(out)
    assert (code, err) == (3, "")
    assert result["migration"]["status"] == "nothing-to-do"
    assert state_of(account) == applied.after


def test_scenario_5_finish_waits_for_the_tasks_then_leaves_the_baseline_on_the_host_role(
    account: SimpleNamespace, applied: SimpleNamespace
) -> None:
    # Given the services moved, and tasks still on the old revisions
    code, out, err = migrate("--finish", "--apply", "--output", "json", journal_table=TABLE)
    # Then the finish is refused and names what still falls back to the host role
    assert (code, err) == (1, "")
    held = json.loads(out)["held_back_by"]
    # (inventory-sync ran as a service only: it has moved)
    assert sorted(family["family"] for family in held) == ["metrics-agent", "orders-api"]
    assert all(not family["services"] for family in held)
    still = {task for family in held for task in family["tasks"]}
    assert still >= {account.demo.orders_api_task_arn}
    assert state_of(account)["roles"][HOST_ROLE] == applied.after["roles"][HOST_ROLE]

    # When a person replaces those tasks with the new revisions, and finishes
    host = account.demo.shop_host_imdsv1_container_instance_arn
    for task in still:
        account.ecs.stop_task(cluster="shop", task=task)
    for family in ("metrics-agent", "orders-api"):
        run_task(account.ecs, "shop", applied.new_revisions[family], container_instance_arn=host)
    code, out, err = migrate("--finish", "--apply", "--output", "json", journal_table=TABLE)

    # Then only the baseline is left on the host role, as the plan said
    assert (code, err) == (0, ""), out
    finished = json.loads(out)
    assert finished["status"] == "applied"
    kept = {p["policy"] for p in applied.plan["host_role_after"] if p["outcome"] == "kept"}
    host_role = state_of(account)["roles"][HOST_ROLE]
    remaining = set(host_role["inline"]) | {arn.rsplit("/", 1)[-1] for arn in host_role["attached"]}
    assert remaining == kept
    # And its journal entries belong to the migration
    migration_id = applied.result["migration"]["migration_id"]
    assert {entry["migration_id"] for entry in finished["journal"]} == {migration_id}


def test_scenario_4_the_migration_restored_puts_the_account_back(
    account: SimpleNamespace, applied: SimpleNamespace
) -> None:
    # Given the finished migration, its tasks running the new revisions (scenario 5)
    migration_id = applied.result["migration"]["migration_id"]

    # When the migration is restored
    code, out, err = restore(migration_id)

    # Then every step is undone but the roles the running tasks still use (kept, and
    # named) and the host role's application policy (critical: a person forces it back)
    assert (code, err) == (1, "")
    refused = {
        outcome["resource_arn"]: outcome["reasons"][0]
        for outcome in json.loads(out)
        if outcome["status"] == "refused"
    }
    held = [applied.after_roles[family] for family in ("metrics-agent", "orders-api")]
    assert sorted(refused) == sorted([*held, account.demo.shop_host_role_arn])
    assert all("running task(s) use" in refused[role] for role in held)
    assert (
        "would grant what RoleWarden reports critical" in refused[account.demo.shop_host_role_arn]
    )
    restored = state_of(account)
    assert restored["services"] == applied.before["services"]

    # When those tasks are replaced with the old revisions, and the migration restored
    # again by a person who forces the critical grant back
    for task in account.ecs.list_tasks(cluster="shop")["taskArns"]:
        described = account.ecs.describe_tasks(cluster="shop", tasks=[task])["tasks"][0]
        if described["taskDefinitionArn"] in applied.new_revisions.values():
            account.ecs.stop_task(cluster="shop", task=task)
    code, out, err = restore(migration_id, "--force")

    # Then the account is where it started, resource by resource
    assert (code, err) == (0, ""), out
    statuses = [outcome["status"] for outcome in json.loads(out)]
    assert sorted(statuses) == sorted(["restored"] * 3 + ["nothing-to-do"] * (len(statuses) - 3))
    assert state_of(account) == applied.before


def restore(migration_id: str, *flags: str) -> tuple[int, str, str]:
    return run_cli(
        ["restore", migration_id, "--apply", "--output", "json", *flags],
        with_journal_key({"journal_table": TABLE}),
    )
