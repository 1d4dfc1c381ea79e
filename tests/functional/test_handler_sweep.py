"""The scheduled sweep, invoked in-process with events/schedule-sweep.json over the demo account."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from functional.events import Invoker, load_event
from rolewarden.demo.builders import seed_demo_account
from rolewarden.handlers.sweep import handler
from rolewarden.rules import ids

# What the demo account breaks (DemoAccount's comments): nine resources, one rule each.
BROKEN_BY_RULE = {
    ids.EC2_INSTANCE_WITHOUT_PROFILE: 2,  # legacy-batch, the expired exemption
    ids.ECS_HOST_IMDS_EXPOSED: 1,
    ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE: 2,  # orders-api, reports
    ids.ECS_TASK_WITHOUT_TASK_ROLE: 1,
    ids.INSTANCE_PROFILE_WITHOUT_ROLE: 1,
    ids.INSTANCE_ROLE_APP_PERMISSIONS: 1,
    ids.TASK_ROLE_IS_EXECUTION_ROLE: 1,
}


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoker:
    return Invoker(monkeypatch, capsys)


@pytest.fixture(scope="module")
def demo(moto_account: Any) -> Iterator[SimpleNamespace]:
    with moto_account() as session:
        # Exemptions dated from today: the sweep judges them against today's date.
        yield SimpleNamespace(session=session, account=seed_demo_account(session))


def test_sweep_reports_what_the_demo_account_breaks(demo: SimpleNamespace, invoke: Invoker) -> None:
    # Given the seeded demo account
    event = load_event("schedule-sweep")

    # When the EventBridge schedule invokes the sweep
    done = invoke(handler, event)

    # Then the summary counts the nine findings, by rule, and lists the valid exemption
    summary = done.result
    assert summary["account"] == "123456789012"
    assert summary["regions"] == ["us-east-1"]
    assert summary["findings"] == 9
    assert summary["findings_by_rule"] == dict(sorted(BROKEN_BY_RULE.items()))
    assert summary["scan_errors"] == []
    assert [item["resource_arn"].rsplit("/", 1)[-1] for item in summary["exempt"]] == [
        demo.account.exempt_instance_id
    ]
    # ... made read calls only, and emits the heartbeat and the finding counts
    assert done.writes == []
    metrics = done.metrics
    assert metrics["SweepCompleted"] == 1
    assert metrics["Findings"] == 9
    assert {rule: metrics[f"Findings.{rule}"] for rule in BROKEN_BY_RULE} == BROKEN_BY_RULE
    assert {
        severity: metrics.get(f"Findings.{severity}", 0)
        for severity in summary["findings_by_severity"]
    } == summary["findings_by_severity"]
    assert metrics["EvaluationErrors"] == 0
    assert metrics["ApiCalls.ec2"] == summary["api_calls"]["ec2"]


def test_sweep_covers_each_region_configured(demo: SimpleNamespace, invoke: Invoker) -> None:
    # Given ROLEWARDEN_REGIONS naming a second, empty region
    event = load_event("schedule-sweep")

    # When the sweep runs
    done = invoke(handler, event, regions="us-east-1,eu-west-1")

    # Then both regions are read, and the empty one adds no finding
    assert done.result["regions"] == ["us-east-1", "eu-west-1"]
    assert done.regions_of("ec2:DescribeInstances") == {"us-east-1", "eu-west-1"}
    assert done.result["findings"] == 9


def test_rule_turned_off_is_not_swept(demo: SimpleNamespace, invoke: Invoker) -> None:
    # Given ec2-instance-without-profile turned off
    event = load_event("schedule-sweep")

    # When the sweep runs
    done = invoke(handler, event, rule_modes=f"{ids.EC2_INSTANCE_WITHOUT_PROFILE}=off")

    # Then its two findings are gone, and the heartbeat still beats
    assert ids.EC2_INSTANCE_WITHOUT_PROFILE not in done.result["rules"]
    assert done.result["findings"] == 7
    assert done.metrics["SweepCompleted"] == 1


def test_a_person_can_start_a_sweep_by_hand(demo: SimpleNamespace, invoke: Invoker) -> None:
    # Given the manual invocation sample (aws lambda invoke --payload ...)
    event = load_event("sweep-manual")

    # When the sweep runs / Then it sweeps exactly as the schedule does
    done = invoke(handler, event)
    assert done.result["findings"] == 9
    assert done.metrics["SweepCompleted"] == 1
