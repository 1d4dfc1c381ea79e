"""Which findings are open, since when, and when they were last announced (DynamoDB).

An open finding is announced again only after ROLEWARDEN_DEDUP_HOURS; a resolved finding
that returns is announced at once. A sweep marks the findings it no longer sees as
resolved. DynamoDB's TTL deletes expired items late, so expiry is checked on read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rolewarden.aws.errors import AwsError, call, pages
from rolewarden.rules.model import Finding

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef, UpdateTypeDef


# An item nobody has seen for this long is forgotten (TTL): it returns as new.
RETENTION = timedelta(days=30)
BATCH_GET, BATCH_WRITE, TRANSACT_WRITE = 100, 25, 100


class FindingsStateError(AwsError):
    """The findings table cannot be read or written."""


@dataclass
class Due:
    new: list[Finding] = field(default_factory=list)  # never seen, or resolved since
    reminders: list[Finding] = field(default_factory=list)  # open, quiet period over
    held_back: int = 0  # due, but past the cap of messages per run (the digest counts them)

    @property
    def all(self) -> list[Finding]:
        return [*self.new, *self.reminders]


@dataclass(frozen=True)
class Seen:
    first_seen: str
    last_announced: str | None
    resolved_at: str | None
    expires_at: int


class FindingsState:
    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def record(self, findings: Sequence[Finding], now: datetime, dedup_hours: int) -> Due:
        """Record the findings as seen now; returns those due for an announcement. Only
        `announced` marks them announced: a notice nobody received is due again."""
        known = self._read([finding.finding_id for finding in findings], now)
        quiet_since = now - timedelta(hours=dedup_hours)
        due = Due()
        items = []
        for finding in findings:
            seen = known.get(finding.finding_id)
            open_ = seen is not None and seen.resolved_at is None
            if seen is None or not open_:
                due.new.append(finding)
            elif seen.last_announced is None or (
                datetime.fromisoformat(seen.last_announced) <= quiet_since
            ):
                due.reminders.append(finding)
            first_seen = seen.first_seen if open_ and seen else now.isoformat()
            last_announced = seen.last_announced if open_ and seen else None
            items.append(_item(finding, first_seen, now, last_announced))
        self._write(items)
        return due

    def announced(self, finding_ids: Iterable[str], now: datetime) -> None:
        self._update_all(list(dict.fromkeys(finding_ids)), "SET last_announced = :now", now)

    def resolve(self, finding_ids: Iterable[str], now: datetime) -> list[str]:
        """Mark these resolved (fixed, exempt, gone), when they are open; returns those.

        Most ids an event judges compliant never had a finding: the ids are read first and
        only the open, unexpired ones written. One id is written straight away (its
        conditional update costs what reading it would)."""
        ids = sorted(set(finding_ids))
        if len(ids) > 1:
            known = self._read(ids, now)
            ids = [fid for fid in ids if fid in known and known[fid].resolved_at is None]
        return self._resolve(ids, now)

    def resolve_missing(
        self, seen_ids: Iterable[str], read: Mapping[str, Collection[str]], now: datetime
    ) -> list[str]:
        """Open findings that were not seen, of a rule in a region where it read everything
        (`read`: rule -> those regions): now resolved. One Scan of the table."""
        seen = set(seen_ids)
        regions_of = {rule: set(regions) for rule, regions in read.items() if regions}
        if not regions_of:
            return []
        gone = [
            item["finding_id"]["S"]
            for item in self._open_items()
            if item["region"]["S"] in regions_of.get(item["rule"]["S"], ())
            and item["finding_id"]["S"] not in seen
            and int(item["expires_at"]["N"]) > now.timestamp()  # TTL deletes late
        ]
        return self._resolve(gone, now)

    def _resolve(self, finding_ids: list[str], now: datetime) -> list[str]:
        resolved = self._update_all(
            finding_ids, "SET resolved_at = :now", now, "attribute_not_exists(resolved_at)"
        )
        return sorted(resolved)

    def _update_all(
        self, finding_ids: list[str], expression: str, now: datetime, condition: str = ""
    ) -> list[str]:
        """Update existing items (never create a partial one); returns those whose condition
        held. Up to 100 go in one transaction; when it is cancelled (an item vanished, a
        condition failed), that chunk is updated one by one, so the result is the same."""
        updated: list[str] = []
        for start in range(0, len(finding_ids), TRANSACT_WRITE):
            chunk = finding_ids[start : start + TRANSACT_WRITE]
            if len(chunk) > 1 and self._transact(chunk, expression, now, condition):
                updated.extend(chunk)
            else:
                updated.extend(
                    fid for fid in chunk if self._update(fid, expression, now, condition)
                )
        return updated

    def _transact(
        self, finding_ids: list[str], expression: str, now: datetime, condition: str
    ) -> bool:
        """One TransactWriteItems; False when DynamoDB cancelled it (nothing was written)."""
        updates: list[TransactWriteItemTypeDef] = [
            {"Update": _update_request(self.table, fid, expression, now, condition)}
            for fid in finding_ids
        ]
        try:
            call(
                FindingsStateError,
                self._at("TransactWriteItems"),
                self.dynamodb.transact_write_items,
                TransactItems=updates,
            )
        except FindingsStateError as error:
            if error.code == "TransactionCanceledException":
                return False
            raise
        return True

    def _update(self, finding_id: str, expression: str, now: datetime, condition: str = "") -> bool:
        """Update an existing item (never create a partial one); False if the condition fails."""
        try:
            call(
                FindingsStateError,
                self._at("UpdateItem"),
                self.dynamodb.update_item,
                **_update_request(self.table, finding_id, expression, now, condition),
            )
        except FindingsStateError as error:
            if error.code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _read(self, finding_ids: list[str], now: datetime) -> dict[str, Seen]:
        found: dict[str, Seen] = {}
        unique = sorted(set(finding_ids))
        for start in range(0, len(unique), BATCH_GET):
            keys = [{"finding_id": {"S": fid}} for fid in unique[start : start + BATCH_GET]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            batches = self._until_processed(
                "BatchGetItem", self.dynamodb.batch_get_item, request, "UnprocessedKeys"
            )
            for response in batches:
                for item in response.get("Responses", {}).get(self.table, []):
                    seen = _seen(item)
                    if seen.expires_at > now.timestamp():  # TTL deletes late
                        found[item["finding_id"]["S"]] = seen
        return found

    def _write(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), BATCH_WRITE):
            request: dict[str, Any] = {
                self.table: [
                    {"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE]
                ]
            }
            batches = self._until_processed(
                "BatchWriteItem", self.dynamodb.batch_write_item, request, "UnprocessedItems"
            )
            for _answer in batches:
                continue  # a write's answer holds nothing more to read

    def _until_processed(
        self,
        operation: str,
        send: Callable[..., Mapping[str, Any]],
        request: dict[str, Any],
        unprocessed: str,
        rounds: int = 6,
    ) -> Iterator[Mapping[str, Any]]:
        """Each answer to a batch call, then to the calls for what it left `unprocessed`,
        backing off between them (never after the last); gives up loudly after `rounds`."""
        for round_ in range(rounds):
            if round_:
                time.sleep(0.05 * 2**round_)
            response = call(FindingsStateError, self._at(operation), send, RequestItems=request)
            yield response
            request = response.get(unprocessed) or {}
            if not request:
                return
        raise FindingsStateError("DynamoDB kept items unprocessed (throttled): gave up")

    def _open_items(self) -> Iterator[dict[str, Any]]:
        for page in pages(
            FindingsStateError,
            self._at("Scan"),
            self.dynamodb.get_paginator("scan").paginate,
            TableName=self.table,
            FilterExpression="attribute_not_exists(resolved_at)",
        ):
            yield from page["Items"]

    def _at(self, operation: str) -> str:
        """A call on this table, as its errors name it."""
        return f"findings table {self.table}: {operation}"


def _update_request(
    table: str, finding_id: str, expression: str, now: datetime, condition: str
) -> UpdateTypeDef:
    """An UpdateItem's parameters (a TransactWriteItems `Update` takes the same): only an
    existing item, never a partial one created."""
    return {
        "TableName": table,
        "Key": {"finding_id": {"S": finding_id}},
        "UpdateExpression": expression,
        "ConditionExpression": " AND ".join(
            part for part in ("attribute_exists(finding_id)", condition) if part
        ),
        "ExpressionAttributeValues": {":now": {"S": now.isoformat()}},
    }


def _item(
    finding: Finding, first_seen: str, now: datetime, announced: str | None
) -> dict[str, Any]:
    item = {
        "finding_id": {"S": finding.finding_id},
        "rule": {"S": finding.rule},
        "region": {"S": finding.region},
        "resource_arn": {"S": finding.resource_arn},
        "severity": {"S": finding.severity.value},
        "first_seen": {"S": first_seen},
        "last_seen": {"S": now.isoformat()},
        "expires_at": {"N": str(int((now + RETENTION).timestamp()))},
    }
    if announced:
        item["last_announced"] = {"S": announced}
    return item


def _seen(item: dict[str, Any]) -> Seen:
    if "first_seen" not in item or "expires_at" not in item:
        raise FindingsStateError(f"findings table item {item.get('finding_id')} is incomplete")
    return Seen(
        first_seen=item["first_seen"]["S"],
        last_announced=item.get("last_announced", {}).get("S"),
        resolved_at=item.get("resolved_at", {}).get("S"),
        expires_at=int(item["expires_at"]["N"]),
    )
