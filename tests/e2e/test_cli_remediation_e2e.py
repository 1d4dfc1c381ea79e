"""The README's remediation loop, as a user runs it: the installed `rolewarden` script
against the emulator over HTTP.

The module seeds the demo account and a baseline instance profile in one emulator, then
runs each README command as a subprocess of the console script, with the standard AWS
settings pointing at the emulator, and reads the account back through the emulator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import boto3
import pytest

from rolewarden.demo.builders import (
    SSM_CORE_POLICY_ARN,
    DemoAccount,
    create_instance_profile,
    create_role,
    seed_demo_account,
)
from rolewarden.demo.emulator import Emulator
from rolewarden.remediation.journal import create_table
from rolewarden.rules import ids

pytestmark = pytest.mark.e2e

TIMEOUT = 120
JOURNAL = "rolewarden-journal"
BASELINE = "rolewarden-baseline"


def console_script() -> str:
    """The `rolewarden` script installed next to this Python (the venv's), else on PATH."""
    local = Path(sys.executable).with_name("rolewarden")
    found = str(local) if local.exists() else shutil.which("rolewarden")
    assert found, "the rolewarden console script is not installed: pip install -e ."
    return found


def clean_environment() -> dict[str, str]:
    """The caller's environment without any AWS or RoleWarden setting."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "ROLEWARDEN_", "MOTO_"))
    }


def rolewarden(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        running.pin_ecs_tasks_running()
        yield running


@pytest.fixture(scope="module")
def session(emulator: Emulator) -> boto3.Session:
    return emulator.session()


@pytest.fixture(scope="module")
def account(session: boto3.Session) -> DemoAccount:
    demo = seed_demo_account(session)
    iam = session.client("iam")
    create_role(iam, BASELINE, managed_policy_arns=(SSM_CORE_POLICY_ARN,))
    create_instance_profile(iam, BASELINE, BASELINE)
    return demo


def profile_of(session: boto3.Session, instance_id: str) -> str | None:
    associations = session.client("ec2").describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}]
    )["IamInstanceProfileAssociations"]
    live = [a for a in associations if a["State"] in ("associating", "associated")]
    return live[0]["IamInstanceProfile"]["Arn"].rsplit("/", 1)[-1] if live else None


def test_readme_loop_fixes_an_instance_and_restores_it(
    emulator: Emulator, session: boto3.Session, account: DemoAccount
) -> None:
    # Given the demo account behind the emulator, a baseline profile, and a user's shell
    env = clean_environment() | emulator.environment()
    env["ROLEWARDEN_BASELINE_INSTANCE_PROFILE"] = BASELINE
    instance = account.legacy_batch_instance_id
    arn = f"arn:aws:ec2:{account.region}:{account.account_id}:instance/{instance}"

    # When the user creates the journal table
    created = rolewarden("journal", "create-table", JOURNAL, env=env)

    # Then exit 0, a line says how to use it and the key that signs its entries, and one
    # who alone may write it (the emulator's caller)
    assert created.returncode == 0, created.stderr
    line, protection = created.stdout.splitlines()
    identity = session.client("sts").get_caller_identity()
    assert protection.startswith(f"only {identity['Arn']} (aws:userid {identity['UserId']}) ")
    key = line.rsplit("ROLEWARDEN_JOURNAL_KEY=", 1)[-1]
    assert line == (
        f"created journal table {JOURNAL} and its signing key {key}; use them with "
        f"ROLEWARDEN_JOURNAL_TABLE={JOURNAL} ROLEWARDEN_JOURNAL_KEY={key}"
    )
    metadata = session.client("kms").describe_key(KeyId=key)["KeyMetadata"]
    assert (metadata["KeySpec"], metadata["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    env["ROLEWARDEN_JOURNAL_TABLE"] = JOURNAL
    env["ROLEWARDEN_JOURNAL_KEY"] = key

    # When the user finds the instance's finding id with a scan
    scan = rolewarden(
        "scan", "--rules", ids.EC2_INSTANCE_WITHOUT_PROFILE, "--output", "json", env=env
    )
    assert scan.returncode == 1, scan.stderr
    [finding_id] = [
        f["finding_id"] for f in json.loads(scan.stdout)["findings"] if f["resource_arn"] == arn
    ]

    # And applies its fix
    applied = rolewarden("remediate", finding_id, "--apply", env=env)

    # Then exit 0: applied, journaled, with the command to undo it; the instance has the
    # baseline profile
    assert applied.returncode == 0, applied.stderr
    lines = applied.stdout.splitlines()
    assert lines[0] == f"APPLIED  {finding_id}  ec2-instance-without-profile  {arn}"
    assert lines[1].startswith("  journal ")
    assert lines[1].endswith("[verified]")
    assert lines[2].startswith("  to undo: rolewarden restore ")
    journal_id = lines[2].split()[4]
    assert lines[2] == f"  to undo: rolewarden restore {journal_id} --apply"
    assert profile_of(session, instance) == BASELINE

    # When the user reads the journal as JSON
    journal = rolewarden("journal", "--output", "json", env=env)

    # Then it holds the change, with the state before and after and who made it
    assert journal.returncode == 0, journal.stderr
    [entry] = json.loads(journal.stdout)
    assert entry["journal_id"] == journal_id
    assert entry["finding_id"] == finding_id
    assert entry["actor"] == session.client("sts").get_caller_identity()["Arn"]
    assert entry["state_before"] == {"instance_profile_arn": None}
    assert entry["state_after"]["instance_profile_arn"].endswith(f":instance-profile/{BASELINE}")
    assert entry["status"] == "verified"

    # When the user restores it
    restored = rolewarden("restore", journal_id, "--apply", env=env)

    # Then exit 0, restored; the instance has no profile again
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines()[0] == (
        f"RESTORED  {journal_id}  ec2-instance-without-profile  {arn}"
    )
    assert profile_of(session, instance) is None
    assert "Traceback" not in (
        created.stderr + scan.stderr + applied.stderr + journal.stderr + restored.stderr
    )


def test_refused_by_the_outage_guard_exits_1_and_changes_nothing(
    emulator: Emulator, session: boto3.Session, account: DemoAccount
) -> None:
    # Given the shop host role, whose policies a task and a service use through IMDS
    # (and a journal, so that only the guard stands in the way)
    create_table(session.client("dynamodb"), "guard-journal")
    kms = session.client("kms")
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    env = clean_environment() | emulator.environment()
    env["ROLEWARDEN_JOURNAL_TABLE"] = "guard-journal"
    env["ROLEWARDEN_JOURNAL_KEY"] = key
    iam = session.client("iam")
    before = iam.list_role_policies(RoleName="shop-ecs-host")["PolicyNames"]

    # When the user applies its fix without --force
    refused = rolewarden(
        "remediate",
        "--rule",
        ids.INSTANCE_ROLE_APP_PERMISSIONS,
        "--resource",
        account.shop_host_role_arn,
        "--apply",
        env=env,
    )

    # Then exit 1, the reason names the service, and the role keeps its policies
    assert refused.returncode == 1, refused.stderr
    reason = refused.stdout.splitlines()[1]
    assert reason.startswith("  - blocked unless forced (--force): outage guard: ")
    assert "service orders (orders-api:1)" in reason
    assert before == ["orders-table"]
    assert iam.list_role_policies(RoleName="shop-ecs-host")["PolicyNames"] == before
