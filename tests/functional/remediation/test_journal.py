"""The journal, its table and the blast-radius caps, against moto's DynamoDB.

Scenarios:
  1. An entry saved is read back whole, the policy document exactly as it was.
  2. Entries are listed newest first; restore markers and cap counters are not entries.
  3. A restore marker holds for ROLEWARDEN_RESTORE_GRACE_HOURS, then lapses.
  4. `create_table` makes the table template.yaml's JournalTable describes.
  5. Without its table the journal fails with a JournalError (no change without it).
  6. The hourly cap allows exactly its limit per account, charges the previous hour
     too, and is shared by every invocation; the per-run budget counts one invocation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cfn_template import load_template
from functional.accounts import ACCOUNT, ORDERS_TABLE_POLICY, REGION
from rolewarden.aws.clients import AwsClients
from rolewarden.remediation import journal as journal_module
from rolewarden.remediation.caps import HourlyCap, RunBudget
from rolewarden.remediation.change import Change
from rolewarden.remediation.journal import (
    Journal,
    JournalEntry,
    JournalError,
    Status,
    create_table,
    new_journal_id,
)

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/shop-host"
OTHER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/payments-host"
NOON = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
# A document as a person may write it: conditions, variables, text beyond ASCII.
TRICKY_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OwnPrefixOnly",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::exports/${aws:username}/*",
            "Condition": {"StringEquals": {"s3:x-amz-meta-owner": 'Zoë "ops" team'}},
        },
        *ORDERS_TABLE_POLICY["Statement"],
    ],
}
_tables = itertools.count(1)


@pytest.fixture(scope="module")
def dynamodb(moto_account: Any) -> Iterator[Any]:
    with moto_account() as session:
        yield AwsClients(session, home_region=REGION).client("dynamodb")


@pytest.fixture
def journal(dynamodb: Any) -> Journal:
    """A journal table of its own for each test."""
    name = f"journal-{next(_tables)}"
    create_table(dynamodb, name)
    return Journal(dynamodb, name)


def entry(when: datetime, *, journal_id: str | None = None, **fields: Any) -> JournalEntry:
    change = Change(
        "delete-inline-policy",
        REGION,
        {"role_name": "shop-host", "policy_name": "orders-table"},
        before={"document": TRICKY_DOCUMENT},
        after={"document": None},
        summary="delete inline policy orders-table of role shop-host",
    )
    values: dict[str, Any] = {
        "journal_id": journal_id or new_journal_id(when),
        "time": when.isoformat(),
        "actor": "alice",
        "rule": "instance-role-app-permissions",
        "finding_id": "0123456789abcdef",
        "resource_arn": ROLE_ARN,
        "account": ACCOUNT,
        "change": change,
    }
    return JournalEntry(**(values | fields))


# --- entries ---------------------------------------------------------------------------


def test_saved_entry_reads_back_whole_with_its_document(journal: Journal) -> None:
    # Given an entry holding an inline policy's document, forced past a guard
    saved = entry(NOON, forced=["outage guard: orders-api runs without a task role"])
    # When it is saved and read back
    journal.save(saved)
    # Then it is the same entry, the document exactly as it was
    read = journal.get(saved.journal_id)
    assert read == saved
    assert read is not None
    assert read.as_json()["state_before"] == {"document": TRICKY_DOCUMENT}


def test_saving_again_records_the_verdict_on_the_same_entry(journal: Journal) -> None:
    # Given an entry saved before its change
    started = entry(NOON)
    journal.save(started)
    # When the change is verified and the entry saved again
    started.status = Status.VERIFIED
    started.verify = 'read back {"document": null}'
    journal.save(started)
    # Then the journal holds one entry, verified
    assert [e.status for e in journal.entries()] == [Status.VERIFIED]
    read = journal.get(started.journal_id)
    assert read is not None
    assert read.verify == 'read back {"document": null}'


def test_unknown_journal_id_reads_as_nothing(journal: Journal) -> None:
    assert journal.get("20300101T120000Z-0badc0de") is None


def test_entries_are_listed_newest_first_without_markers_or_counters(journal: Journal) -> None:
    # Given entries made an hour apart, saved out of order, a restore marker and a cap counter
    made = [entry(NOON + timedelta(hours=hour)) for hour in range(3)]
    for saved in (made[1], made[2], made[0]):
        journal.save(saved)
    journal.mark_restored(ROLE_ARN, NOON, made[0].journal_id)
    assert HourlyCap(journal, ACCOUNT, 5).reserve(NOON)
    # When the journal is listed
    listed = journal.entries()
    # Then it is the entries, newest first
    assert [e.journal_id for e in listed] == [e.journal_id for e in reversed(made)]


def test_entries_of_the_same_second_are_listed_newest_first(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two steps of one remediation journaled within the same second
    suffixes = iter(["ffffffff", "00000000"])
    monkeypatch.setattr(journal_module.secrets, "token_hex", lambda _n: next(suffixes))
    first = entry(NOON + timedelta(milliseconds=100))
    second = entry(NOON + timedelta(milliseconds=900))
    journal.save(first)
    journal.save(second)
    # When the journal is listed, then the later one comes first
    assert [e.journal_id for e in journal.entries()] == [second.journal_id, first.journal_id]


# --- restore markers ---------------------------------------------------------------------


def test_restore_marker_holds_for_the_grace_hours_then_lapses(journal: Journal) -> None:
    # Given a role restored at noon (journal entry "r1")
    journal.mark_restored(ROLE_ARN, NOON, "20300101T120000Z-0000000a")
    # Then within 24 grace hours the restore is found; from the 24th hour on it is not
    found = journal.restored_within(ROLE_ARN, NOON + timedelta(hours=23, minutes=59), 24)
    assert found == "20300101T120000Z-0000000a"
    assert journal.restored_within(ROLE_ARN, NOON + timedelta(hours=24), 24) is None
    assert journal.restored_within(ROLE_ARN, NOON + timedelta(hours=30), 24) is None
    # and only for that resource, and never with a grace of 0 hours
    assert journal.restored_within(OTHER_ROLE_ARN, NOON, 24) is None
    assert journal.restored_within(ROLE_ARN, NOON, 0) is None


def test_a_later_restore_starts_the_grace_again(journal: Journal) -> None:
    journal.mark_restored(ROLE_ARN, NOON, "20300101T120000Z-0000000a")
    journal.mark_restored(ROLE_ARN, NOON + timedelta(hours=20), "20300101T200000Z-0000000b")
    found = journal.restored_within(ROLE_ARN, NOON + timedelta(hours=30), 24)
    assert found == "20300101T200000Z-0000000b"


# --- the table -----------------------------------------------------------------------------


def test_created_table_is_the_templates_journal_table(dynamodb: Any) -> None:
    # Given the JournalTable template.yaml deploys
    template = load_template()["Resources"]["JournalTable"]["Properties"]
    # When the CLI creates its journal table without the stack
    create_table(dynamodb, "cli-journal")
    # Then it has the same keys, billing, encryption and point-in-time recovery
    table = dynamodb.describe_table(TableName="cli-journal")["Table"]
    assert table["KeySchema"] == template["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(
        template["AttributeDefinitions"], key=str
    )
    assert table["BillingModeSummary"]["BillingMode"] == template["BillingMode"]
    assert template["SSESpecification"] == {"SSEEnabled": True}
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert template["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    backups = dynamodb.describe_continuous_backups(TableName="cli-journal")
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"


def test_creating_a_table_that_exists_fails_clearly(journal: Journal) -> None:
    with pytest.raises(JournalError, match=f"cannot create journal table {journal.table}"):
        create_table(journal.dynamodb, journal.table)


def test_journal_without_its_table_fails_clearly(dynamodb: Any) -> None:
    missing = Journal(dynamodb, "no-such-journal")
    with pytest.raises(JournalError, match="no-such-journal"):
        missing.save(entry(NOON))
    with pytest.raises(JournalError, match="no-such-journal"):
        missing.get("20300101T120000Z-0000000a")
    with pytest.raises(JournalError, match="no-such-journal"):
        missing.entries()
    with pytest.raises(JournalError, match="no-such-journal"):
        HourlyCap(missing, ACCOUNT, 3).reserve(NOON)


# --- caps -----------------------------------------------------------------------------------


def test_hourly_cap_allows_exactly_its_limit(journal: Journal) -> None:
    cap = HourlyCap(journal, ACCOUNT, 3)
    assert [cap.reserve(NOON + timedelta(minutes=m)) for m in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_hourly_cap_of_zero_allows_nothing(journal: Journal) -> None:
    assert HourlyCap(journal, ACCOUNT, 0).reserve(NOON) is False


def test_hourly_cap_charges_the_previous_hour(journal: Journal) -> None:
    cap = HourlyCap(journal, ACCOUNT, 3)
    # Given two remediations at 12:50
    assert cap.reserve(NOON + timedelta(minutes=50))
    assert cap.reserve(NOON + timedelta(minutes=51))
    # When more come at 13:05, then only one more fits any sliding 60 minutes
    one_pm = NOON + timedelta(hours=1, minutes=5)
    assert [cap.reserve(one_pm), cap.reserve(one_pm)] == [True, False]
    # When more come at 14:05, then the 12 o'clock ones no longer count, the 13 o'clock one does
    two_pm = NOON + timedelta(hours=2, minutes=5)
    assert [cap.reserve(two_pm) for _ in range(3)] == [True, True, False]


def test_hourly_cap_is_shared_by_every_invocation_of_the_account(journal: Journal) -> None:
    # Given two invocations of RoleWarden, each with its own cap object and limit 3
    first, second = HourlyCap(journal, ACCOUNT, 3), HourlyCap(journal, ACCOUNT, 3)
    # When each reserves in turn, then together they get 3
    granted = [cap.reserve(NOON) for cap in (first, second, first, second)]
    assert granted == [True, True, True, False]
    # and another account has a counter of its own
    assert HourlyCap(journal, "210987654321", 3).reserve(NOON)


def test_run_budget_counts_one_invocation() -> None:
    budget = RunBudget(2)
    assert [budget.take() for _ in range(4)] == [True, True, False, False]
    assert RunBudget(0).take() is False
