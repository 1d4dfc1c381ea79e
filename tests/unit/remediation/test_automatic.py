"""What the event and sweep paths hand over to remediation, and what they hold back."""

from __future__ import annotations

import dataclasses
from typing import Any

from rolewarden.remediation.automatic import remediate_automatically
from rolewarden.remediation.change import ActionError
from rolewarden.rules.model import Blockers, Finding, Remediation
from rolewarden.settings import Settings
from sample_findings import a_finding

RULE = "ec2-instance-without-profile"


def finding(instance: str, *blocked: str) -> Finding:
    return dataclasses.replace(
        a_finding(instance),
        remediation=Remediation(
            "associate-instance-profile", False, {}, Blockers(manual=tuple(blocked))
        ),
    )


class FakeDispatcher:
    """Records the hand-overs; fails for the instances it is told to."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.handed: list[str] = []
        self.caused_by: list[str] = []
        self.failing = failing or set()

    def dispatch(
        self, found: Finding, actor: str, event_id: str | None, caused_by: str
    ) -> dict[str, Any]:
        if found.resource_id in self.failing:
            raise ActionError("lambda:InvokeFunction: TooManyRequestsException: rate")
        self.handed.append(found.resource_id)
        self.caused_by.append(caused_by)
        return {"status": "requested", "finding_id": found.finding_id}


def test_only_rules_in_remediate_mode_are_handed_over() -> None:
    dispatcher = FakeDispatcher()
    results = remediate_automatically([finding("i-1")], Settings(), dispatcher, "event:e")
    assert (results, dispatcher.handed) == ([], [])


def test_a_guarded_finding_is_held_back_with_its_reason() -> None:
    dispatcher = FakeDispatcher()
    settings = Settings(rule_modes={RULE: "remediate"})
    results = remediate_automatically(
        [finding("i-1", "managed by CloudFormation stack web")], settings, dispatcher, "sweep:1"
    )
    assert dispatcher.handed == []
    assert results[0]["reasons"] == ["not automatic: managed by CloudFormation stack web"]


def test_the_kill_switch_hands_nothing_over_and_says_so() -> None:
    dispatcher = FakeDispatcher()
    settings = Settings(rule_modes={RULE: "remediate"}, dry_run=True)
    results = remediate_automatically([finding("i-1")], settings, dispatcher, "sweep:1")
    assert dispatcher.handed == []
    assert results[0]["status"] == "refused"
    assert results[0]["reasons"][0].startswith("ROLEWARDEN_DRY_RUN=true")


def test_the_cap_per_run_holds_back_the_rest() -> None:
    dispatcher = FakeDispatcher()
    settings = Settings(rule_modes={RULE: "remediate"}, max_remediations_per_run=2)
    found = [finding(f"i-{n}") for n in range(4)]
    results = remediate_automatically(found, settings, dispatcher, "sweep:1")
    assert dispatcher.handed == ["i-0", "i-1"]
    assert [r["status"] for r in results] == ["requested", "requested", "refused", "refused"]


def test_one_failed_hand_over_does_not_stop_the_others() -> None:
    dispatcher = FakeDispatcher(failing={"i-0"})
    settings = Settings(rule_modes={RULE: "remediate"})
    results = remediate_automatically(
        [finding("i-0"), finding("i-1")], settings, dispatcher, "sweep:1"
    )
    assert dispatcher.handed == ["i-1"]
    assert results[0]["status"] == "failed"
    assert "TooManyRequestsException" in results[0]["reasons"][0]


def test_the_hand_over_names_who_caused_the_change() -> None:
    # Given an event's finding, caused by a CloudTrail caller, and a sweep's
    dispatcher = FakeDispatcher()
    settings = Settings(rule_modes={RULE: "remediate"})
    causer = "arn:aws:sts::123456789012:assumed-role/deployer/ci"
    remediate_automatically([finding("i-1")], settings, dispatcher, "event:e", "e", causer)
    remediate_automatically([finding("i-2")], settings, dispatcher, "sweep:1")
    # Then each hand-over carries it: the caller, or the sweep
    assert dispatcher.caused_by == [causer, "sweep"]
