"""`rolewarden migrate` on a host role that three families share (bridge, awsvpc, host
network), in moto: an account of its own, beside test_cli_migrate.py's demo account.

Scenarios (test_cli_migrate.py's numbering):
  5. Each family gets a role of its own with the same application statements, and moves
     its own service or task.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from functional.cli_runs import run_cli
from rolewarden.demo.builders import (
    create_service,
    register_task_definition,
    run_task,
    seed_demo_account,
)


@pytest.fixture(scope="module")
def three_families(moto_account: Any) -> Iterator[SimpleNamespace]:
    """The demo account plus, on the shop cluster, an awsvpc service "inventory-sync" and
    a host-network task "metrics-agent" on the IMDSv1 host, neither with a task role."""
    with moto_account() as session:
        account = seed_demo_account(session)
        ecs = session.client("ecs")
        awsvpc = register_task_definition(ecs, "inventory-sync", network_mode="awsvpc")
        host = register_task_definition(ecs, "metrics-agent", network_mode="host")
        yield SimpleNamespace(
            account=account,
            awsvpc_service=create_service(ecs, "shop", "inventory-sync", awsvpc),
            host_task=run_task(
                ecs,
                "shop",
                host,
                container_instance_arn=account.shop_host_imdsv1_container_instance_arn,
            ),
        )


def test_scenario_5_each_family_on_the_host_role_gets_a_role_of_its_own(
    three_families: SimpleNamespace,
) -> None:
    # When the plan is asked for on the account with three families on shop-ecs-host
    code, out, err = run_cli(["migrate", "shop-ecs-host", "--output", "json"], {})
    assert (code, err) == (0, "")
    plan = json.loads(out)

    # Then each family has its own role, all with the host role's application statements
    families = {family["family"]: family for family in plan["families"]}
    assert sorted(families) == ["inventory-sync", "metrics-agent", "orders-api"]
    roles = {family["role"]["name"] for family in families.values()}
    assert len(roles) == 3
    documents = [family["role"]["policy_document"] for family in families.values()]
    assert documents[0] == documents[1] == documents[2]
    account = three_families.account
    assert any(account.orders_table_arn in s["Resource"] for s in documents[0]["Statement"])
    # And each moves its own service or task
    assert families["inventory-sync"]["services"] == [three_families.awsvpc_service]
    assert families["metrics-agent"]["tasks"] == [three_families.host_task]
    assert families["orders-api"]["services"] == [account.orders_service_arn]
