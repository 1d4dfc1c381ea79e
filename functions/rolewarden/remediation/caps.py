"""Blast-radius caps on automatic remediation: per invocation, and per rolling hour per account.

The hourly cap is one item per account in the journal table: the times of the automatic
remediations charged in the last 60 minutes, and a version. A charge reads the item, drops
the times more than 60 minutes old, and writes it back with the new time only if the version
is still the one it read (a conditional write). So any 60 minutes, across clock hours and
however many invocations race, holds at most the cap: a racer that lost the write reads
again and sees the winner's charge.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rolewarden.aws.errors import call
from rolewarden.remediation.journal import Journal, JournalError

CAP_PREFIX = "cap#"
CAP_SK = "rolling-hour"
WINDOW = timedelta(hours=1)


class RunBudget:
    """At most `limit` automatic remediations in one invocation."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self) -> bool:
        if self.used >= self.limit:
            return False
        self.used += 1
        return True


class HourlyCap:
    """At most `limit` automatic remediations per account in any 60 minutes."""

    def __init__(self, journal: Journal, account: str, limit: int) -> None:
        self.journal = journal
        self.account = account
        self.limit = limit

    def reserve(self, now: datetime) -> bool:
        """Charge one remediation at `now`, unless `limit` were charged in the 60 minutes up to it
        (a charge exactly 60 minutes old still counts)."""
        # A lost write means another invocation was charged meanwhile; after `limit` of them
        # the window is full, so this loop ends by itself. Its bound only guards a bad clock.
        for _ in range(self.limit + 1):
            charged, version = self._read()
            recent = [when for when in charged if when >= now - WINDOW]
            if len(recent) >= self.limit:
                return False
            if self._write([*recent, now], version):
                return True
        return False

    def _read(self) -> tuple[list[datetime], int]:
        item = call(
            JournalError,
            self.journal.at("GetItem"),
            self.journal.dynamodb.get_item,
            TableName=self.journal.table,
            Key=self._key(),
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return [], 0
        charged = [datetime.fromisoformat(value["S"]) for value in item["charged"]["L"]]
        return charged, int(item["version"]["N"])

    def _write(self, charged: list[datetime], version: int) -> bool:
        """False when another invocation wrote since `version` was read."""
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(#version)"}
            if version == 0
            else {
                "ConditionExpression": "#version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(version)}},
            }
        )
        item: dict[str, Any] = {
            **self._key(),
            "charged": {"L": [{"S": when.isoformat()} for when in charged]},
            "version": {"N": str(version + 1)},
        }
        try:
            call(
                JournalError,
                self.journal.at("PutItem"),
                self.journal.dynamodb.put_item,
                TableName=self.journal.table,
                Item=item,
                ExpressionAttributeNames={"#version": "version"},
                **condition,
            )
        except JournalError as error:
            if error.code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _key(self) -> dict[str, dict[str, str]]:
        return {"pk": {"S": f"{CAP_PREFIX}{self.account}"}, "sk": {"S": CAP_SK}}
