"""The alert sink's promises, with fakes for the findings table and the channels."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rolewarden.evaluation.account import ScanResult
from rolewarden.inventory.snapshot import ScanError
from rolewarden.notify.alerts import AlertSink
from rolewarden.notify.channel import Call, NotifyError
from rolewarden.notify.findings_state import Due
from rolewarden.notify.notice import Notice
from rolewarden.notify.notifier import Notifier
from rolewarden.notify.sns import MESSAGE_LIMIT, fit
from rolewarden.rules.model import Finding, Severity
from sample_findings import a_finding

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class FakeState:
    """Every finding is new; records what the sink marks and resolves."""

    def __init__(self) -> None:
        self.announced_ids: list[str] = []
        self.resolve_calls: list[dict[str, list[str]]] = []

    def record(self, findings: list[Finding], now: datetime, dedup_hours: int) -> Due:
        return Due(new=list(findings))

    def announced(self, ids: list[str], now: datetime) -> None:
        self.announced_ids += ids

    def resolve_missing(
        self, seen: set[str], read: dict[str, list[str]], now: datetime
    ) -> list[str]:
        self.resolve_calls.append({rule: sorted(regions) for rule, regions in read.items()})
        return []


class Channel:
    name = "fake"

    def __init__(self, failing: bool = False) -> None:
        self.failing = failing
        self.sent: list[Notice] = []

    def send(self, notice: Notice) -> None:
        if self.failing:
            raise NotifyError("HTTP 503")
        self.sent.append(notice)


class BatchChannel(Channel):
    """Takes all notices in one call, and refuses the one whose subject names `refuses`."""

    def __init__(self, refuses: str) -> None:
        super().__init__()
        self.refuses = refuses

    def calls(self, notices: list[Notice]) -> list[Call]:
        def make() -> dict[int, str]:
            self.sent += [n for n in notices if self.refuses not in n.subject]
            return {p: "refused" for p, n in enumerate(notices) if self.refuses in n.subject}

        return [Call(list(range(len(notices))), make)]


def sink(channel: Channel, state: FakeState) -> AlertSink:
    return AlertSink(Notifier([channel]), state, 24, now=lambda: NOW)  # type: ignore[arg-type]


def test_only_what_a_channel_received_is_marked_announced() -> None:
    state = FakeState()
    sink(Channel(failing=True), state).findings([a_finding("i-1")], trigger="sweep")
    assert state.announced_ids == []  # due again next time
    state = FakeState()
    sink(Channel(), state).findings([a_finding("i-1")], trigger="sweep")
    assert state.announced_ids == [a_finding("i-1").finding_id]


def test_one_notice_a_channel_refused_stays_due_and_the_others_are_announced() -> None:
    # Given a channel that takes every notice of a call but the one about i-2
    state = FakeState()
    findings = [a_finding("i-1"), a_finding("i-2"), a_finding("i-3")]
    # When the three are announced together
    sink(BatchChannel(refuses="i-2 "), state).findings(findings, trigger="sweep")
    # Then the two it received are marked announced, i-2 is due again next time
    assert state.announced_ids == [findings[0].finding_id, findings[2].finding_id]


def test_without_a_channel_every_finding_counts_as_announced() -> None:
    state = FakeState()
    findings = [a_finding("i-1"), a_finding("i-2")]
    AlertSink(Notifier([]), state, 24, now=lambda: NOW).findings(findings, trigger="sweep")  # type: ignore[arg-type]
    assert state.announced_ids == [finding.finding_id for finding in findings]


def test_the_most_severe_are_sent_first_and_the_cap_holds_the_rest() -> None:
    channel, state = Channel(), FakeState()
    findings = [a_finding("i-1"), a_finding("i-2", Severity.CRITICAL), a_finding("i-3")]
    due = sink(channel, state).findings(findings, trigger="sweep", limit=2)
    assert [n.severity for n in channel.sent] == ["critical", "medium"]
    assert due.held_back == 1


RULES = ["ec2-instance-without-profile", "instance-role-app-permissions"]


def summary(errors: list[dict[str, str]]) -> ScanResult:
    """A sweep of two regions that found nothing, with these read errors."""
    return ScanResult(
        account="123456789012",
        regions=["us-east-1", "eu-west-1"],
        rules=RULES,
        errors=[ScanError(error["region"], error["operation"], "", "") for error in errors],
    )


def test_a_sweep_resolves_only_where_it_read_everything() -> None:
    # Given a sweep of two regions whose eu-west-1 reads failed
    state = FakeState()
    failed = [{"region": "eu-west-1", "operation": "ec2:DescribeInstances"}]
    sink(Channel(), state).digest(summary(failed), Due())
    # Then only us-east-1 is resolved, and role findings (they span regions) not at all
    assert state.resolve_calls == [
        {"ec2-instance-without-profile": ["us-east-1"], "instance-role-app-permissions": []}
    ]


def test_a_complete_sweep_resolves_regional_and_account_wide_rules_in_one_pass() -> None:
    state = FakeState()
    sink(Channel(), state).digest(summary([]), Due())
    # One call: the findings table is scanned once per sweep
    assert state.resolve_calls == [
        {
            "ec2-instance-without-profile": ["eu-west-1", "us-east-1"],
            "instance-role-app-permissions": ["eu-west-1", "us-east-1"],
        }
    ]


def test_any_message_too_large_for_sns_stays_valid_json() -> None:
    huge_summary = {"scan_errors": [{"message": "x" * 500}] * 2000, "account": "1"}
    text = fit({"kind": "digest", "summary": huge_summary, "new_findings": []})
    assert len(text.encode()) <= MESSAGE_LIMIT
    parsed = json.loads(text)
    assert parsed["summary"]["scan_errors"]["truncated"].startswith("too large for SNS")
    assert parsed["summary"]["account"] == "1"
