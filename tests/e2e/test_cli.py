"""The `rolewarden` command as a user runs it: a subprocess against the emulator over HTTP.

The module seeds the demo account in one emulator and runs `python -m rolewarden.cli`
with the standard AWS settings pointing at it. `rolewarden demo` runs its own emulator
in its own process; it is started first and collected by its test, so that it runs
alongside the scans.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from rolewarden.demo.builders import EXEMPTION_REASON, DemoAccount, seed_demo_account
from rolewarden.demo.emulator import Emulator
from rolewarden.rules import ids
from rolewarden.rules.ids import RULE_IDS

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "rolewarden.cli"]
TIMEOUT = 120
SUMMARY_KEYS = {
    "account",
    "regions",
    "rules",
    "findings",
    "findings_by_severity",
    "findings_by_rule",
    "resources_examined",
    "exempt",
    "scan_errors",
    "api_calls",
    "api_calls_total",
}


def clean_environment() -> dict[str, str]:
    """The caller's environment without any AWS or RoleWarden setting."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "ROLEWARDEN_", "MOTO_"))
    }


def rolewarden(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=dict(env), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


@pytest.fixture(scope="module")
def demo_process() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [*CLI, "demo"],
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def emulator(demo_process: subprocess.Popen[str]) -> Iterator[Emulator]:
    with Emulator() as running:
        running.pin_ecs_tasks_running()
        yield running


@pytest.fixture(scope="module")
def account(emulator: Emulator) -> DemoAccount:
    return seed_demo_account(emulator.session())


@pytest.fixture(scope="module")
def env(emulator: Emulator, account: DemoAccount) -> dict[str, str]:
    return clean_environment() | emulator.environment()


@pytest.fixture(scope="module")
def json_scan(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return rolewarden("scan", "--output", "json", env=env)


def instance_arn(account: DemoAccount, instance_id: str) -> str:
    return f"arn:aws:ec2:{account.region}:{account.account_id}:instance/{instance_id}"


def broken_by_the_demo(account: DemoAccount) -> set[tuple[str, str]]:
    """(rule, resource ARN) for each resource the DemoAccount docstring says breaks a rule."""
    return {
        (ids.INSTANCE_ROLE_APP_PERMISSIONS, account.shop_host_role_arn),
        (ids.ECS_HOST_IMDS_EXPOSED, instance_arn(account, account.shop_host_imdsv1_instance_id)),
        (ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE, account.orders_api_task_definition_arn),
        (ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE, account.reports_task_definition_arn),
        (ids.TASK_ROLE_IS_EXECUTION_ROLE, account.billing_task_definition_arn),
        (ids.ECS_TASK_WITHOUT_TASK_ROLE, account.orders_api_task_arn),
        (ids.EC2_INSTANCE_WITHOUT_PROFILE, instance_arn(account, account.legacy_batch_instance_id)),
        (
            ids.EC2_INSTANCE_WITHOUT_PROFILE,
            instance_arn(account, account.expired_exemption_instance_id),
        ),
        (
            ids.INSTANCE_PROFILE_WITHOUT_ROLE,
            instance_arn(account, account.orphan_profile_instance_id),
        ),
    }


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rolewarden: ")
    return lines[0]


def test_scan_json_reports_what_the_demo_account_breaks(
    json_scan: subprocess.CompletedProcess[str], account: DemoAccount
) -> None:
    # Given the seeded demo account behind the emulator
    # When a user runs `rolewarden scan --output json`
    # Then it exits 1 (findings) and reports exactly what the account breaks
    assert json_scan.returncode == 1, json_scan.stderr
    report: dict[str, Any] = json.loads(json_scan.stdout)
    found = {(f["rule"], f["resource_arn"]) for f in report["findings"]}
    assert found == broken_by_the_demo(account)
    assert len(report["findings"]) == len(found)
    assert {f["rule"] for f in report["findings"]} == set(RULE_IDS)


def test_scan_json_summary_says_what_was_examined_exempt_and_called(
    json_scan: subprocess.CompletedProcess[str], account: DemoAccount
) -> None:
    summary = json.loads(json_scan.stdout)["summary"]

    assert set(summary) == SUMMARY_KEYS
    assert summary["account"] == account.account_id
    assert summary["regions"] == [account.region]
    assert summary["findings"] == len(broken_by_the_demo(account))
    assert summary["findings_by_severity"] == {"critical": 2, "high": 2, "medium": 5, "low": 0}
    assert summary["scan_errors"] == []
    assert summary["exempt"] == [
        {
            "rule": ids.EC2_INSTANCE_WITHOUT_PROFILE,
            "resource_type": "AWS::EC2::Instance",
            "resource_arn": instance_arn(account, account.exempt_instance_id),
            "until": account.exemption_until,
            "reason": EXEMPTION_REASON,
        }
    ]
    assert set(summary["api_calls"]) == {"ec2", "ecs", "iam", "sts"}
    assert summary["api_calls_total"] == sum(summary["api_calls"].values())


def test_fail_on_critical_exits_1_and_the_table_groups_by_severity(env: dict[str, str]) -> None:
    # Given the demo account (two critical findings)
    # When a user runs the default table output with --fail-on critical
    result = rolewarden("scan", "--fail-on", "critical", env=env)

    # Then it exits 1, and the table has a header per severity and the exempt resource
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "CRITICAL (2)" in lines
    assert "MEDIUM (5)" in lines
    assert "Exempt (accepted risk):" in lines


def test_fail_on_above_the_findings_of_the_rules_asked_exits_0(env: dict[str, str]) -> None:
    # Given only task-role-is-execution-role asked (one medium finding)
    # When the user fails on high
    result = rolewarden(
        "scan",
        "--rules",
        ids.TASK_ROLE_IS_EXECUTION_ROLE,
        "--fail-on",
        "high",
        "--output",
        "json",
        env=env,
    )

    # Then it exits 0 and reports that one finding
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [f["rule"] for f in report["findings"]] == [ids.TASK_ROLE_IS_EXECUTION_ROLE]


def test_unknown_rule_exits_2_with_one_line(env: dict[str, str]) -> None:
    # Given a typo in --rules / When run
    result = rolewarden("scan", "--rules", "nope", env=env)

    # Then exit 2 and one line naming the unknown rule, nothing on stdout
    line = assert_one_line_error(result)
    assert "nope" in line
    assert result.stdout == ""


def test_no_credentials_exits_2_with_one_line(tmp_path: Path, emulator: Emulator) -> None:
    # Given no credentials anywhere: no keys in the environment, empty AWS files, no IMDS
    empty = tmp_path / "empty"
    empty.write_text("")
    env = clean_environment() | {
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
    }

    # When a scan is run
    result = rolewarden("scan", env=env)

    # Then exit 2 and one line that says so
    line = assert_one_line_error(result)
    assert "credentials" in line.lower()


def test_demo_runs_to_completion(demo_process: subprocess.Popen[str]) -> None:
    # Given nothing but the package / When a user runs `rolewarden demo`
    stdout, stderr = demo_process.communicate(timeout=TIMEOUT)

    # Then it exits 0, reporting every rule (the demo breaks all seven) and the exemption
    assert demo_process.returncode == 0, stderr
    for rule in RULE_IDS:
        assert rule in stdout
    assert "Exempt" in stdout
    assert "Traceback" not in stderr
    # And the event act: AttachRolePolicy on the compliant host role is judged critical,
    # by the event evaluator, without a line of its logs or metrics in the way
    event_act = stdout.split("the event evaluator judges that role:", 1)[1].splitlines()
    assert (
        "CRITICAL  ECS host role payments-ecs-host grants application permissions" in (event_act[1])
    )
    assert not any(line.startswith("{") for line in stdout.splitlines())
    # And the alerts: what Slack (the local stand-in) and the topic's queue received
    alerts = stdout.split("What the alert channels received:", 1)[1]
    assert "  Slack: RoleWarden CRITICAL: ECS host role payments-ecs-host" in alerts
    assert "  SNS (read back from the queue): RoleWarden CRITICAL:" in alerts
    assert '"kind": "finding"' in alerts and '"severity": "critical"' in alerts
    # And the remediation act: the guard refuses the host role's fix, naming who depends
    # on it; the instance without a profile is fixed, journaled, then restored
    act = stdout.split("$ rolewarden journal create-table", 1)[1]
    refused = act.split("REFUSED", 1)[1].splitlines()
    assert "outage guard" in refused[1] and "service orders (orders-api:1)" in refused[1]
    assert "\nAPPLIED  " in act
    assert "to undo: rolewarden restore " in act
    assert "is gone" in act
    assert "\nRESTORED  " in act
    assert "is back: the account is as before" in act


@pytest.mark.parametrize("output", ["table", "json"])
def test_a_reader_that_stops_early_ends_the_scan_quietly(env: dict[str, str], output: str) -> None:
    # Given a reader that is gone before the scan prints (`rolewarden scan | head -1`
    # once head has read its line)
    process = subprocess.Popen(
        [*CLI, "scan", "--output", output],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()

    # When the scan ends
    stderr = process.stderr.read()
    process.wait(timeout=TIMEOUT)

    # Then the exit code is the scan's own (the demo's findings: 1), and nothing is said
    # about the pipe: no traceback, no "Exception ignored ... BrokenPipeError"
    assert process.returncode == 1, stderr
    assert stderr == ""
