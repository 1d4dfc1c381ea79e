"""Blast-radius caps on automatic remediation: per invocation, and per hour per account.

The hourly cap is a conditional counter in the journal table, one item per clock hour,
shared by every invocation. The previous hour's count is charged too, so no sliding
60 minutes ever sees more than the cap (the window is one to two hours: it errs on the
side of changing less).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from rolewarden.remediation.change import error_code
from rolewarden.remediation.journal import Journal, JournalError

CAP_PREFIX = "cap#"


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
    def __init__(self, journal: Journal, account: str, limit: int) -> None:
        self.journal = journal
        self.account = account
        self.limit = limit

    def reserve(self, now: datetime) -> bool:
        """Count one remediation now, unless the cap is reached."""
        allowed = self.limit - self._count(now - timedelta(hours=1))
        if allowed <= 0:
            return False
        try:
            self.journal.dynamodb.update_item(
                TableName=self.journal.table,
                Key=self._key(now),
                UpdateExpression="ADD #count :one",
                ConditionExpression="attribute_not_exists(#count) OR #count < :allowed",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":allowed": {"N": str(allowed)}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise self._error("UpdateItem", error) from error
        except BotoCoreError as error:
            raise self._error("UpdateItem", error) from error
        return True

    def _count(self, when: datetime) -> int:
        try:
            item = self.journal.dynamodb.get_item(
                TableName=self.journal.table, Key=self._key(when), ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise self._error("GetItem", error) from error
        return int(item["count"]["N"]) if item else 0

    def _error(self, operation: str, error: Exception) -> JournalError:
        return JournalError(f"journal table {self.journal.table}: {operation}: {error}")

    def _key(self, when: datetime) -> dict[str, dict[str, str]]:
        return {
            "pk": {"S": f"{CAP_PREFIX}{self.account}"},
            "sk": {"S": when.strftime("%Y-%m-%dT%H")},
        }
