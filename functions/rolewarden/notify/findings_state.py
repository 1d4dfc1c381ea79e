"""Which findings are open, since when, and when they were last announced (DynamoDB).

An open finding is announced again only after ROLEWARDEN_DEDUP_HOURS; a resolved finding
that returns is announced at once. A sweep marks the findings it no longer sees as
resolved. DynamoDB's TTL deletes expired items late, so expiry is checked on read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rolewarden.rules.model import Finding

# An item nobody has seen for this long is forgotten (TTL): it returns as new.
RETENTION = timedelta(days=30)
BATCH_GET, BATCH_WRITE = 100, 25


class FindingsStateError(Exception):
    """The findings table cannot be read or written."""


@dataclass(frozen=True)
class Seen:
    first_seen: str
    last_announced: str | None
    resolved_at: str | None
    expires_at: int


class FindingsState:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def record(self, findings: Sequence[Finding], now: datetime, dedup_hours: int) -> list[Finding]:
        """Record the findings as seen now; returns those to announce."""
        known = self._read([finding.finding_id for finding in findings], now)
        quiet_since = now - timedelta(hours=dedup_hours)
        announce, items = [], []
        for finding in findings:
            seen = known.get(finding.finding_id)
            open_ = seen is not None and seen.resolved_at is None
            due = (
                not open_
                or seen is None
                or seen.last_announced is None
                or datetime.fromisoformat(seen.last_announced) <= quiet_since
            )
            if due:
                announce.append(finding)
            first_seen = seen.first_seen if open_ and seen else now.isoformat()
            last_announced = now.isoformat() if due else seen.last_announced if seen else None
            items.append(_item(finding, first_seen, now, last_announced))
        self._write(items)
        return announce

    def resolve_missing(
        self, seen_ids: Iterable[str], rules: Iterable[str], regions: Iterable[str], now: datetime
    ) -> list[str]:
        """Open findings of these rules and regions that were not seen: now resolved."""
        seen, rules, regions = set(seen_ids), set(rules), set(regions)
        resolved = []
        for item in self._open_items():
            finding_id = item["finding_id"]["S"]
            in_scope = item["rule"]["S"] in rules and item["region"]["S"] in regions
            if in_scope and finding_id not in seen:
                self._call(
                    "UpdateItem",
                    self.dynamodb.update_item,
                    Key={"finding_id": {"S": finding_id}},
                    UpdateExpression="SET resolved_at = :now",
                    ExpressionAttributeValues={":now": {"S": now.isoformat()}},
                )
                resolved.append(finding_id)
        return sorted(resolved)

    def _read(self, finding_ids: list[str], now: datetime) -> dict[str, Seen]:
        found: dict[str, Seen] = {}
        unique = sorted(set(finding_ids))
        for start in range(0, len(unique), BATCH_GET):
            keys = [{"finding_id": {"S": fid}} for fid in unique[start : start + BATCH_GET]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self._call(
                    "BatchGetItem", self.dynamodb.batch_get_item, RequestItems=request
                )
                for item in response.get("Responses", {}).get(self.table, []):
                    seen = _seen(item)
                    if seen.expires_at > now.timestamp():  # TTL deletes late
                        found[item["finding_id"]["S"]] = seen
                request = response.get("UnprocessedKeys") or {}
        return found

    def _write(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), BATCH_WRITE):
            request: dict[str, Any] = {
                self.table: [
                    {"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE]
                ]
            }
            while request:
                response = self._call(
                    "BatchWriteItem", self.dynamodb.batch_write_item, RequestItems=request
                )
                request = response.get("UnprocessedItems") or {}

    def _open_items(self) -> Iterator[dict[str, Any]]:
        try:
            pages = self.dynamodb.get_paginator("scan").paginate(
                TableName=self.table, FilterExpression="attribute_not_exists(resolved_at)"
            )
            for page in pages:
                yield from page["Items"]
        except (ClientError, BotoCoreError) as error:
            raise FindingsStateError(f"findings table {self.table}: Scan: {error}") from error

    def _call(self, operation: str, call: Any, **kwargs: Any) -> Any:
        try:
            if operation in ("BatchGetItem", "BatchWriteItem"):
                return call(**kwargs)
            return call(TableName=self.table, **kwargs)
        except (ClientError, BotoCoreError) as error:
            raise FindingsStateError(
                f"findings table {self.table}: {operation}: {error}"
            ) from error


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
    return Seen(
        first_seen=item["first_seen"]["S"],
        last_announced=item.get("last_announced", {}).get("S"),
        resolved_at=item.get("resolved_at", {}).get("S"),
        expires_at=int(item["expires_at"]["N"]),
    )
