"""The findings table: what is announced, when again, and what a sweep resolves.

Scenarios:
  1. A new finding is announced; seen again within ROLEWARDEN_DEDUP_HOURS it is not;
     after them it is announced again. Its first-seen time stays.
  2. A sweep that no longer sees an open finding marks it resolved (its rule and region
     only); when it returns it is announced at once, as new.
  3. An item past its TTL that DynamoDB has not deleted yet counts as gone.
  4. Many findings are marked in one transaction per 100; when DynamoDB cancels one (an
     item vanished), each is marked on its own and the vanished one is not recreated.
  5. An event's resolve reads the ids first and writes only the open ones; a sweep
     resolves with one Scan of the table.
  6. What DynamoDB leaves unprocessed (throttled) is asked again, backing off, until none
     is left (on the last round too); six rounds of nothing done fail loudly. A batch done
     at once waits for nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

import rolewarden.notify.findings_state as findings_state
from functional.events import AwsCalls, recorded_session
from rolewarden.notify.findings_state import RETENTION, FindingsState, FindingsStateError
from rolewarden.rules.model import Finding, Severity
from sample_findings import a_finding, a_host_role_finding

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def calls() -> AwsCalls:
    """The calls `state` makes (cleared by the tests once the table is set up)."""
    return AwsCalls()


@pytest.fixture
def state(mock_aws: boto3.Session, calls: AwsCalls) -> FindingsState:
    dynamodb = recorded_session(calls).client("dynamodb")
    dynamodb.create_table(
        TableName="findings",
        AttributeDefinitions=[{"AttributeName": "finding_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "finding_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return FindingsState(dynamodb, "findings")


def item(state: FindingsState, finding: Finding) -> dict[str, Any]:
    key = {"finding_id": {"S": finding.finding_id}}
    found: dict[str, Any] = state.dynamodb.get_item(TableName="findings", Key=key)["Item"]
    return found


def test_an_open_finding_is_announced_once_per_quiet_period(state: FindingsState) -> None:
    bare = a_finding("i-1")
    assert state.record([bare], T0, dedup_hours=24).new == [bare]
    state.announced([bare.finding_id], T0)
    assert state.record([bare], T0 + timedelta(hours=23), dedup_hours=24).all == []
    due = state.record([bare], T0 + timedelta(hours=24), dedup_hours=24)
    assert (due.new, due.reminders) == ([], [bare])
    stored = item(state, bare)
    assert stored["first_seen"]["S"] == T0.isoformat()
    assert stored["last_seen"]["S"] == (T0 + timedelta(hours=24)).isoformat()


def test_a_sweep_resolves_what_it_no_longer_sees_and_a_return_is_new(
    state: FindingsState,
) -> None:
    # Given two open findings in us-east-1 and one in eu-west-1
    gone, kept, elsewhere = a_finding("i-1"), a_finding("i-2"), a_finding("i-3", region="eu-west-1")
    state.record([gone, kept, elsewhere], T0, dedup_hours=24)
    state.announced([f.finding_id for f in (gone, kept, elsewhere)], T0)

    # When a sweep of us-east-1 sees only one of them
    resolved = state.resolve_missing(
        {kept.finding_id}, {"ec2-instance-without-profile": ["us-east-1"]}, T0
    )

    # Then only the us-east-1 finding it did not see is resolved
    assert resolved == [gone.finding_id]
    assert item(state, gone)["resolved_at"]["S"] == T0.isoformat()
    assert "resolved_at" not in item(state, elsewhere)
    # And when it returns an hour later it is announced, first seen anew
    later = T0 + timedelta(hours=1)
    assert state.record([gone, kept], later, dedup_hours=24).all == [gone]
    assert item(state, gone)["first_seen"]["S"] == later.isoformat()
    assert "resolved_at" not in item(state, gone)


def test_a_rule_not_swept_resolves_nothing(state: FindingsState) -> None:
    bare = a_finding("i-1")
    state.record([bare], T0, dedup_hours=24)
    assert state.resolve_missing(set(), {"ecs-host-imds-exposed": ["us-east-1"]}, T0) == []


def test_an_item_past_its_ttl_counts_as_gone(state: FindingsState) -> None:
    bare = a_finding("i-1")
    state.record([bare], T0, dedup_hours=24 * 365)
    # DynamoDB has not deleted it yet, but it expired: the finding is new again
    after_ttl = T0 + RETENTION + timedelta(seconds=1)
    assert state.record([bare], after_ttl, dedup_hours=24 * 365).new == [bare]
    assert item(state, bare)["first_seen"]["S"] == after_ttl.isoformat()


def test_many_findings_are_read_and_written_in_batches(state: FindingsState) -> None:
    findings = [a_finding(f"i-{n}") for n in range(130)]
    assert len(state.record(findings, T0, dedup_hours=24).new) == 130
    state.announced([finding.finding_id for finding in findings], T0)
    assert state.record(findings, T0, dedup_hours=24).all == []


def test_a_finding_nobody_received_is_due_again(state: FindingsState) -> None:
    # Given a finding recorded but never announced (every channel failed)
    bare = a_finding("i-1")
    state.record([bare], T0, dedup_hours=24)
    # Then it is due at the next evaluation, without waiting for the quiet period
    assert state.record([bare], T0 + timedelta(minutes=5), dedup_hours=24).all == [bare]


def test_resolving_an_unknown_or_expired_finding_writes_nothing(state: FindingsState) -> None:
    assert state.resolve(["0000000000000000"], T0) == []
    assert state.dynamodb.scan(TableName="findings")["Items"] == []
    bare = a_finding("i-1")
    state.record([bare], T0, dedup_hours=24)
    after_ttl = T0 + RETENTION + timedelta(seconds=1)
    swept = {"ec2-instance-without-profile": ["us-east-1"]}
    assert state.resolve_missing(set(), swept, after_ttl) == []


def test_findings_announced_together_are_marked_in_one_transaction_per_hundred(
    state: FindingsState, calls: AwsCalls
) -> None:
    # Given 130 findings recorded
    findings = [a_finding(f"i-{n}") for n in range(130)]
    state.record(findings, T0, dedup_hours=24)
    calls.clear()

    # When they are marked announced
    state.announced([finding.finding_id for finding in findings], T0)

    # Then two transactions did it (100, then 30), and each item says when
    assert calls.operations == ["dynamodb:TransactWriteItems"] * 2
    assert [len(call["TransactItems"]) for call in calls.of("TransactWriteItems")] == [100, 30]
    assert {item(state, finding)["last_announced"]["S"] for finding in findings} == {T0.isoformat()}


def test_a_cancelled_transaction_marks_the_others_one_by_one_and_recreates_nothing(
    state: FindingsState, calls: AwsCalls
) -> None:
    # Given three findings recorded, one of whose items is deleted before they are marked
    findings = [a_finding("i-1"), a_finding("i-2"), a_finding("i-3")]
    state.record(findings, T0, dedup_hours=24)
    vanished = {"finding_id": {"S": findings[1].finding_id}}
    state.dynamodb.delete_item(TableName="findings", Key=vanished)
    calls.clear()

    # When all three are marked announced
    state.announced([finding.finding_id for finding in findings], T0)

    # Then DynamoDB cancelled the transaction, and each was then marked on its own
    assert calls.operations == ["dynamodb:TransactWriteItems"] + ["dynamodb:UpdateItem"] * 3
    assert item(state, findings[0])["last_announced"]["S"] == T0.isoformat()
    assert item(state, findings[2])["last_announced"]["S"] == T0.isoformat()
    # And the vanished one was not created as a partial item
    assert "Item" not in state.dynamodb.get_item(TableName="findings", Key=vanished)


def test_an_events_resolve_reads_first_and_writes_only_the_open_findings(
    state: FindingsState, calls: AwsCalls
) -> None:
    # Given two open findings, one expired (not yet deleted by TTL), one already resolved
    open_ = [a_finding("i-1"), a_finding("i-2")]
    expired, resolved_before = a_finding("i-3"), a_finding("i-4")
    state.record([expired], T0 - RETENTION - timedelta(hours=1), dedup_hours=24)
    state.record([*open_, resolved_before], T0, dedup_hours=24)
    assert state.resolve([resolved_before.finding_id], T0) == [resolved_before.finding_id]
    # And 146 more resources judged compliant that never had a finding
    never = [f"{n:016x}" for n in range(146)]
    ids = [finding.finding_id for finding in (*open_, expired, resolved_before)] + never
    calls.clear()

    # When an event judges all 150 compliant an hour later
    later = T0 + timedelta(hours=1)
    resolved = state.resolve(ids, later)

    # Then the two open findings alone are resolved, by two reads and one transaction
    assert resolved == sorted(finding.finding_id for finding in open_)
    assert calls.operations == ["dynamodb:BatchGetItem"] * 2 + ["dynamodb:TransactWriteItems"]
    assert {item(state, finding)["resolved_at"]["S"] for finding in open_} == {later.isoformat()}
    assert item(state, resolved_before)["resolved_at"]["S"] == T0.isoformat()
    assert "resolved_at" not in item(state, expired)
    assert len(state.dynamodb.scan(TableName="findings")["Items"]) == 4  # nothing created


def test_a_sweep_resolves_with_one_scan_and_one_transaction(
    state: FindingsState, calls: AwsCalls
) -> None:
    # Given open findings of a regional rule in two regions, and of a role rule
    east, west = a_finding("i-1"), a_finding("i-2", region="eu-west-1")
    role = a_host_role_finding(
        Severity.HIGH, "ECS host role shop-ecs-host grants application permissions"
    )
    state.record([east, west, role], T0, dedup_hours=24)
    calls.clear()

    # When a sweep that read all of us-east-1 (not eu-west-1) sees none of them
    read = {
        "ec2-instance-without-profile": ["us-east-1"],
        "instance-role-app-permissions": ["us-east-1", "eu-west-1"],
    }
    resolved = state.resolve_missing(set(), read, T0)

    # Then what it read completely is resolved: one Scan, then one transaction
    assert resolved == sorted([east.finding_id, role.finding_id])
    assert calls.operations == ["dynamodb:Scan", "dynamodb:TransactWriteItems"]
    assert "resolved_at" not in item(state, west)


UNPROCESSED = {"BatchWriteItem": "UnprocessedItems", "BatchGetItem": "UnprocessedKeys"}


def leave_unprocessed(state: FindingsState, rounds: int) -> None:
    """The first `rounds` answers to BatchWriteItem and BatchGetItem hand every item back
    unprocessed, as DynamoDB does when it throttles (moto did the work all the same: a
    put or get asked again is the same put or get)."""
    left = {"BatchWriteItem": rounds, "BatchGetItem": rounds}
    asked: dict[str, Any] = {}

    def remember(params: dict[str, Any], **_: Any) -> None:
        asked.update(params)

    def throttle(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if left.get(model.name, 0) > 0:
            left[model.name] -= 1
            parsed[UNPROCESSED[model.name]] = asked["RequestItems"]
            parsed.pop("Responses", None)

    state.dynamodb.meta.events.register("before-parameter-build.dynamodb", remember)
    state.dynamodb.meta.events.register("after-call.dynamodb", throttle)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(findings_state.time, "sleep", slept.append)
    return slept


def test_what_dynamodb_leaves_unprocessed_is_asked_again_until_done(
    state: FindingsState, calls: AwsCalls, sleeps: list[float]
) -> None:
    # Given DynamoDB that hands everything back unprocessed five times in a row
    leave_unprocessed(state, rounds=5)
    bare = a_finding("i-1")
    calls.clear()

    # When a finding is recorded
    due = state.record([bare], T0, dedup_hours=24)

    # Then the sixth round of each call does it, after five waits each, none after it
    assert due.new == [bare]
    assert calls.operations == ["dynamodb:BatchGetItem"] * 6 + ["dynamodb:BatchWriteItem"] * 6
    assert sleeps == [0.1, 0.2, 0.4, 0.8, 1.6] * 2
    assert item(state, bare)["first_seen"]["S"] == T0.isoformat()


def test_a_batch_dynamodb_never_processes_fails_loudly(
    state: FindingsState, sleeps: list[float]
) -> None:
    leave_unprocessed(state, rounds=6)

    with pytest.raises(FindingsStateError, match="kept items unprocessed"):
        state.record([a_finding("i-1")], T0, dedup_hours=24)


def test_a_batch_done_at_once_waits_for_nothing(
    state: FindingsState, calls: AwsCalls, sleeps: list[float]
) -> None:
    calls.clear()
    state.record([a_finding("i-1")], T0, dedup_hours=24)

    assert calls.operations == ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"]
    assert sleeps == []
