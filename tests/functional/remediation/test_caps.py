"""The hourly cap under concurrency: racing invocations, an hour boundary, any 60 minutes.

Scenarios:
  1. Ten automatic remediations racing (real threads, each an invocation of its own with
     its own clients) under a cap of 4 apply exactly 4; the others are refused naming
     the cap and their roles keep their policy.
  2. Racers on both sides of a clock hour (11:59:59 and 12:00:00) apply exactly 4 too:
     the cap is per rolling 60 minutes, not per clock hour.
  3. A charge counts for 60 minutes after it, the 60th minute included, not a moment longer.
  4. Lowering the cap counts what was charged under the old one.

moto's DynamoDB is made atomic per request (functional/conftest.py: serialise_moto_dynamodb),
as DynamoDB is; without that, moto lets two racers pass one conditional write.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import boto3
import pytest

from functional.accounts import ACCOUNT, APP_INLINE, REGION, make_role
from functional.journals import create_table, signed_journal
from rolewarden.aws.clients import AwsClients
from rolewarden.evaluation.resource import evaluate_resource
from rolewarden.evaluation.scope import Scope
from rolewarden.remediation.caps import HourlyCap
from rolewarden.remediation.journal import Journal
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.remediation.remediator import HOURLY_CAP, Remediator
from rolewarden.remediation.request import Request
from rolewarden.rules import ids
from rolewarden.rules.model import Finding
from rolewarden.settings import Settings

RULE_APP = ids.INSTANCE_ROLE_APP_PERMISSIONS
AUTOMATIC = Request(actor="sweep", apply=True, automatic=True)
SETTINGS = Settings(max_remediations_per_hour=4, rule_modes={RULE_APP: "remediate"})
CAPPED = [HOURLY_CAP.format(SETTINGS)]
BEFORE_NOON = datetime(2030, 1, 1, 11, 59, 59, tzinfo=UTC)
NOON = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
_names = itertools.count(1)
T = TypeVar("T")


@pytest.fixture(scope="module")
def session(moto_account: Any) -> Iterator[boto3.Session]:
    with moto_account() as session:
        yield session


@pytest.fixture
def table(session: boto3.Session) -> str:
    name = f"caps-journal-{next(_names)}"
    create_table(session.client("dynamodb"), name)
    return name


def host_roles(session: boto3.Session, count: int) -> list[str]:
    """ECS host roles with an application policy, that RoleWarden may remediate."""
    batch = next(_names)
    names = [f"racing-host-{batch}-{number}" for number in range(count)]
    for name in names:
        make_role(session, name, inline=APP_INLINE)
    return names


def finding_of(session: boto3.Session, role: str) -> Finding:
    clients = AwsClients(session, home_region=REGION)
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    verdict = evaluate_resource(
        clients,
        Scope(ACCOUNT, "aws", REGION, (REGION,)),
        SETTINGS.rule_context(),
        RULE_APP,
        arn,
    )
    assert verdict.finding is not None, verdict.reason
    return verdict.finding


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Each call in a thread of its own, released together; their results in order."""
    start = threading.Barrier(len(calls))
    results: dict[int, T] = {}

    def run(index: int) -> None:
        start.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == len(calls), "a racer did not finish"
    return [results[index] for index in range(len(calls))]


def invocation(table: str, now: datetime) -> Remediator:
    """A remediate invocation of its own (its own clients) whose clock reads `now`."""
    clients = AwsClients(boto3.Session(region_name=REGION), home_region=REGION)
    journal = signed_journal(clients.client("dynamodb"), table)
    return Remediator(clients, SETTINGS, journal, ACCOUNT, now=lambda: now)


def race(table: str, findings: list[Finding], clocks: list[datetime]) -> list[Outcome]:
    """Each finding remediated automatically by an invocation of its own, all at once."""
    remediators = [invocation(table, now) for now in clocks]
    return at_once(
        [
            partial(remediator.remediate, finding, AUTOMATIC)
            for remediator, finding in zip(remediators, findings, strict=True)
        ]
    )


def inline_policies(session: boto3.Session, role: str) -> list[str]:
    return list(session.client("iam").list_role_policies(RoleName=role)["PolicyNames"])


@pytest.mark.parametrize(
    "clock",
    [lambda index: NOON, lambda index: BEFORE_NOON if index % 2 else NOON],
    ids=["same-hour", "across-the-hour"],
)
def test_racing_remediations_apply_exactly_the_cap(
    session: boto3.Session, table: str, clock: Callable[[int], datetime]
) -> None:
    # Given ten remediable host roles and ROLEWARDEN_MAX_REMEDIATIONS_PER_HOUR=4
    roles = host_roles(session, 10)
    findings = [finding_of(session, role) for role in roles]

    # When ten invocations remediate them automatically at once (on both sides of noon)
    outcomes = race(table, findings, [clock(index) for index in range(10)])

    # Then exactly four are applied, and the six others are refused naming the cap
    statuses = [outcome.status for outcome in outcomes]
    assert statuses.count(OutcomeStatus.APPLIED) == 4, [o.reasons for o in outcomes]
    refusals = [outcome for outcome in outcomes if outcome.status is not OutcomeStatus.APPLIED]
    assert [(o.status, o.reasons, o.journal) for o in refusals] == [
        (OutcomeStatus.REFUSED, CAPPED, [])
    ] * 6
    # And the account shows it: the four applied lost their application policy, and only
    # they are journaled; the six others kept theirs
    applied = {o.subject.resource_arn for o in outcomes if o.status is OutcomeStatus.APPLIED}
    stripped = {
        f"arn:aws:iam::{ACCOUNT}:role/{role}"
        for role in roles
        if inline_policies(session, role) == []
    }
    assert stripped == applied
    kept = [role for role in roles if inline_policies(session, role) == ["orders-table"]]
    assert len(kept) == 6
    journal = signed_journal(session.client("dynamodb"), table)
    assert {entry.resource_arn for entry in journal.entries()} == applied


def test_racers_across_the_hour_leave_no_room_for_a_second_cap(
    session: boto3.Session, table: str
) -> None:
    # Given ten invocations racing on both sides of noon under a cap of 4
    journal = signed_journal(session.client("dynamodb"), table)
    granted = race_caps(journal, [BEFORE_NOON if index % 2 else NOON for index in range(10)])
    assert granted == 4
    # When more come within 60 minutes of the first charge, then none fits
    assert HourlyCap(journal, ACCOUNT, 4).reserve(NOON + timedelta(minutes=58)) is False
    # When more than 60 minutes have passed since the last charge, then the cap is free again
    later = [NOON + timedelta(hours=1, seconds=1)] * 6
    assert race_caps(journal, later) == 4


def race_caps(journal: Journal, clocks: list[datetime]) -> int:
    """How many of these racers, one per clock and each with its own client, a cap of 4 lets
    through."""
    caps = [
        HourlyCap(
            signed_journal(boto3.client("dynamodb", region_name=REGION), journal.table), ACCOUNT, 4
        )
        for _ in clocks
    ]
    granted = at_once([partial(cap.reserve, now) for cap, now in zip(caps, clocks, strict=True)])
    return granted.count(True)


def test_a_charge_counts_for_sixty_minutes_and_no_longer(
    session: boto3.Session, table: str
) -> None:
    journal = signed_journal(session.client("dynamodb"), table)
    cap = HourlyCap(journal, ACCOUNT, 2)
    # Given charges at 11:30 and 12:10
    assert cap.reserve(NOON - timedelta(minutes=30))
    assert cap.reserve(NOON + timedelta(minutes=10))
    # Then at 12:30 both still count; a second later the first has aged out
    assert cap.reserve(NOON + timedelta(minutes=30)) is False
    assert cap.reserve(NOON + timedelta(minutes=30, seconds=1)) is True
    # And at 13:10 the 12:10 and 12:30:01 charges fill the cap again
    assert cap.reserve(NOON + timedelta(hours=1, minutes=10)) is False


def test_lowering_the_cap_counts_what_the_old_cap_charged(
    session: boto3.Session, table: str
) -> None:
    journal = signed_journal(session.client("dynamodb"), table)
    # Given three charges under a cap of 5
    assert all(HourlyCap(journal, ACCOUNT, 5).reserve(NOON) for _ in range(3))
    # When the cap is lowered to 3, then nothing more fits in the hour
    assert HourlyCap(journal, ACCOUNT, 3).reserve(NOON + timedelta(minutes=5)) is False
    # And with a cap of 4, one more does
    four = HourlyCap(journal, ACCOUNT, 4)
    assert [four.reserve(NOON + timedelta(minutes=5)) for _ in range(2)] == [True, False]
