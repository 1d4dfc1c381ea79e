"""`rolewarden migrate` names the CloudFormation stack that manages a family's revision, in
moto (an account of its own): a change made only in the account goes back at the stack's
next deploy. moto is taught to find a stack by PhysicalResourceId (functional.moto_stacks).

Scenarios (test_cli_migrate.py's numbering):
  6. A family whose task definition a stack created: the plan names the stack, for the
     revision, in JSON and in the table; a family no stack manages names none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from functional.cli_runs import run_cli
from functional.moto_stacks import stacks_found_by_physical_id
from rolewarden.demo.builders import run_task, seed_demo_account

STACK = "batch-jobs"


@pytest.fixture(scope="module")
def account(moto_account: Any) -> Iterator[SimpleNamespace]:
    """The demo account, and a stack's task definition "nightly-report" (bridge, no task
    role) running on the IMDSv1 shop host."""
    with moto_account() as session, stacks_found_by_physical_id():
        demo = seed_demo_account(session)
        template = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {
                "Report": {
                    "Type": "AWS::ECS::TaskDefinition",
                    "Properties": {
                        "Family": "nightly-report",
                        "NetworkMode": "bridge",
                        "ContainerDefinitions": [
                            {"Name": "report", "Image": "report:1", "Memory": 128}
                        ],
                    },
                }
            },
        }
        cloudformation = session.client("cloudformation")
        cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(template))
        resources = cloudformation.describe_stack_resources(StackName=STACK)["StackResources"]
        revision = resources[0]["PhysicalResourceId"]
        run_task(
            session.client("ecs"),
            "shop",
            revision,
            container_instance_arn=demo.shop_host_imdsv1_container_instance_arn,
        )
        yield SimpleNamespace(revision=revision)


def test_scenario_6_the_plan_names_the_stack_that_manages_a_revision(
    account: SimpleNamespace,
) -> None:
    code, out, err = run_cli(["migrate", "shop-ecs-host", "--output", "json"], {})
    assert (code, err) == (0, "")
    families = {family["family"]: family for family in json.loads(out)["families"]}
    assert families["nightly-report"]["owned_by"] == {account.revision: STACK}
    assert families["orders-api"]["owned_by"] == {}

    code, out, _err = run_cli(["migrate", "shop-ecs-host"], {})
    assert code == 0
    assert (
        f"  managed by CloudFormation stack {STACK}: nightly-report:1 (set "
        "TaskRoleArn in the stack too, or its next deploy puts the old one back)"
    ) in out.splitlines()
