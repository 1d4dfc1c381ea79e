"""The embedded emulator serves the demo account over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from rolewarden.demo.builders import DemoAccount, seed_demo_account
from rolewarden.demo.emulator import Emulator, EmulatorError

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        running.pin_ecs_tasks_running()
        yield running


@pytest.fixture(scope="module")
def account(emulator: Emulator) -> DemoAccount:
    return seed_demo_account(emulator.session())


def test_clients_from_the_session_reach_the_emulator(
    emulator: Emulator, account: DemoAccount
) -> None:
    ec2 = emulator.session().client("ec2")

    assert ec2.meta.endpoint_url == emulator.endpoint_url
    assert emulator.endpoint_url.startswith("http://127.0.0.1:")
    reservations = ec2.describe_instances(InstanceIds=[account.legacy_batch_instance_id])
    assert "IamInstanceProfile" not in reservations["Reservations"][0]["Instances"][0]


def test_seeded_tasks_stay_running_over_http(emulator: Emulator, account: DemoAccount) -> None:
    ecs = emulator.session().client("ecs")

    for _ in range(5):
        task = ecs.describe_tasks(cluster="shop", tasks=[account.orders_api_task_arn])["tasks"][0]

    assert task["lastStatus"] == "RUNNING"
    assert task["containerInstanceArn"] == account.shop_host_imdsv1_container_instance_arn


def test_aws_managed_policies_exist(emulator: Emulator, account: DemoAccount) -> None:
    iam = emulator.session().client("iam")

    attached = iam.list_attached_role_policies(RoleName="shop-ecs-host")["AttachedPolicies"]
    policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")["Policy"]

    assert "AmazonS3FullAccess" in {p["PolicyName"] for p in attached}
    assert policy["AttachmentCount"] == 1


def test_exported_environment_reaches_the_emulator_and_is_restored(emulator: Emulator) -> None:
    before = dict(os.environ)

    with emulator.export_environment() as settings:
        sts = boto3.Session().client("sts")
        assert sts.meta.endpoint_url == settings["AWS_ENDPOINT_URL"]
        assert sts.get_caller_identity()["Account"] == "123456789012"

    assert dict(os.environ) == before


def test_a_second_emulator_in_the_process_is_refused(emulator: Emulator) -> None:
    # moto's backends are process-wide: a second server would share (and reset) them
    with pytest.raises(EmulatorError), Emulator():
        pass
