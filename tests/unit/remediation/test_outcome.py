"""What a request came to: its subject, and whether it stopped at the plan it asked for.

Scenarios:
  1. The subject's JSON is the outcome's top level: the fields it has, in one order.
  2. A plan asked for is plan-only (the CLI then says how to apply it); the kill switch's
     plan is not, and its JSON says "planned" either way.
"""

from __future__ import annotations

from rolewarden.cli.remediation import render_outcome
from rolewarden.remediation.outcome import Outcome, OutcomeStatus, Subject
from rolewarden.remediation.request import PLAN_ONLY, Request, gate
from rolewarden.settings import Settings

TO_APPLY = "  to apply: run the same command with --apply"


def test_1_the_subject_is_the_top_of_the_outcome_json() -> None:
    restore = Subject(
        restore="20300101T100000Z-0a1b2c3d", rule="r", resource_arn="arn:aws:iam::1:role/x"
    )
    outcome = Outcome(OutcomeStatus.REFUSED, restore, reasons=["why"])
    assert list(outcome.as_json()) == [
        "status",
        "restore",
        "rule",
        "resource_arn",
        "reasons",
        "plan",
        "journal",
    ]
    asked = Subject(finding_id="0123456789abcdef", requested_by="alice", caused_by="sweep")
    assert asked.as_json() == {
        "finding_id": "0123456789abcdef",
        "requested_by": "alice",
        "caused_by": "sweep",
    }


def test_2_a_plan_asked_for_is_plan_only_and_the_kill_switch_plan_is_not() -> None:
    # Given a request without --apply, and one under the kill switch
    person = Request("alice@example.com")
    for settings, plan_only in ((Settings(), True), (Settings(dry_run=True), False)):
        # When the gate holds it
        held = gate(settings, None, person)
        assert held is not None
        outcome = held.answer(Outcome(OutcomeStatus.APPLIED, Subject(finding_id="f")))

        # Then it is planned; only the plan asked for says how to apply it
        assert outcome.as_json()["status"] == "planned"
        assert outcome.plan_only is plan_only
        assert (TO_APPLY in render_outcome(outcome).splitlines()) is plan_only
        assert (outcome.reasons == [PLAN_ONLY]) is plan_only
