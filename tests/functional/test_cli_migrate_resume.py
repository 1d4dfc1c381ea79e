"""`rolewarden migrate --apply` interrupted, then run again, in moto (an account of its own).

Scenarios (migration/apply.py's numbering):
  2. The first run stops at a failed step (the first family's revision): its role is
     journaled and kept. Run again, the role is not created twice, the plan does not call
     it taken, and the new steps join the first run's migration, which restores as one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from functional.cli_runs import run_cli
from functional.journals import create_table, with_journal_key
from rolewarden.demo.builders import seed_demo_account
from rolewarden.remediation.actions.register_task_definition_with_task_role import (
    RegisterTaskDefinitionWithTaskRole,
)
from rolewarden.remediation.change import ActionError, Change

TABLE = "resume-journal"
SETTINGS = {"journal_table": TABLE}


@pytest.fixture(scope="module")
def account(moto_account: Any) -> Iterator[SimpleNamespace]:
    with moto_account() as session:
        seed_demo_account(session)
        create_table(session.client("dynamodb"), TABLE)
        yield SimpleNamespace(iam=session.client("iam"), ecs=session.client("ecs"))


def migrate(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli(
        ["migrate", "shop-ecs-host", "--apply", "--output", "json", *args],
        with_journal_key(SETTINGS),
    )
    assert err == ""
    return code, json.loads(out)


def task_roles(account: SimpleNamespace) -> list[str]:
    roles = account.iam.list_roles(PathPrefix="/rolewarden/")["Roles"]
    return sorted(role["RoleName"] for role in roles)


def test_scenario_2_an_interrupted_migration_resumes_as_the_same_migration(
    account: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first run whose revision step fails (ECS refused it)
    def refuse(_self: object, _clients: object, _change: Change) -> Change:
        raise ActionError("ecs:RegisterTaskDefinition: ServerException: try again")

    with monkeypatch.context() as patched:
        patched.setattr(RegisterTaskDefinitionWithTaskRole, "apply", refuse)
        code, first = migrate()
    assert code == 2
    assert first["migration"]["status"] == "failed"
    roles_after_first = task_roles(account)
    assert roles_after_first == ["orders-api-task"]

    # When it runs again
    code, second = migrate("--update-services")

    # Then the role is kept, not created again, and the revision step joins the migration
    assert code == 0
    migration = second["migration"]
    assert (migration["status"], migration["migration_id"]) == (
        "applied",
        first["migration"]["migration_id"],
    )
    assert [step["action"] for step in migration["journal"]] == [
        "register-task-definition-with-task-role"
    ]
    assert task_roles(account) == roles_after_first

    # And restoring the migration undoes both runs' steps
    code, out, _err = run_cli(
        ["restore", migration["migration_id"], "--apply", "--output", "json"],
        with_journal_key(SETTINGS),
    )
    assert code == 0, out
    assert task_roles(account) == []
