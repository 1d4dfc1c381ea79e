"""The journal: every change RoleWarden makes, with what it takes to undo it (DynamoDB).

One item per change, written before the change is made (with the state before it) and
updated once the change is verified or has failed. The table's generic keys (pk, sk)
also hold the restore markers (restore grace) and the hourly remediation counter.
Each entry is signed as it is written (signing.py); `trusted` gives an entry only when
its signature holds, and `checked_entries` lists each with what its signature says.
A table the CLI creates gets the template's resource policy: only its writer writes items.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rolewarden.aws.arn import Arn
from rolewarden.aws.errors import AwsError, call, pages
from rolewarden.remediation.change import Change
from rolewarden.remediation.signing import (
    InvalidMacError,
    JournalSigner,
    SigningError,
    canonical,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


ENTRY_PREFIX = "entry#"
RESTORED_PREFIX = "restored#"
LOCK_PREFIX = "lock#"
ENTRY_SK = "entry"
# A lock outlives its holder at most this long (a function that timed out holds none).
LOCK_SECONDS = 15 * 60
# The item writes a journal table denies to all but its writer (template.yaml's JournalTable).
WRITE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
)


class JournalError(AwsError):
    """The journal cannot be read or written; no change is made without it."""


class Signature(StrEnum):
    """What a journal entry's signature says about it."""

    VERIFIED = "verified"  # signed by the journal key, over this very entry
    MISSING = "missing"  # unsigned: RoleWarden did not write it
    INVALID = "invalid"  # altered since, signed with another key, or copied from another entry
    UNCHECKED = "unchecked"  # no journal key to check it with


class UntrustedEntryError(Exception):
    """A journal entry is unsigned, or its signature does not hold: it is never restored."""

    def __init__(self, message: str, signature: Signature) -> None:
        super().__init__(message)
        self.signature = signature


class Status(StrEnum):
    STARTED = "started"  # saved, the change may or may not have been made
    VERIFIED = "verified"
    FAILED = "failed"
    RESTORED = "restored"


@dataclass
class JournalEntry:
    journal_id: str
    time: str
    actor: str
    rule: str
    finding_id: str
    resource_arn: str
    account: str
    change: Change
    status: Status = Status.STARTED
    verify: str = ""
    forced: list[str] = field(default_factory=list)  # the guards a person overrode
    restore_of: str | None = None
    error: str | None = None
    actor_self_declared: bool = False  # `actor` is a name the request gave, not AWS
    caused_by: str | None = None  # an automatic change: the triggering caller, or "sweep"
    migration_id: str | None = None  # a step of this migration (restored with it)

    @property
    def action(self) -> str:
        return self.change.action

    def as_json(self) -> dict[str, Any]:
        return {
            "journal_id": self.journal_id,
            "time": self.time,
            "actor": self.actor,
            "actor_self_declared": self.actor_self_declared,
            "caused_by": self.caused_by,
            "rule": self.rule,
            "finding_id": self.finding_id,
            "resource_arn": self.resource_arn,
            "account": self.account,
            "region": self.change.region,
            "action": self.action,
            "target": dict(self.change.target),
            "state_before": self.change.before,
            "state_after": self.change.after,
            "status": self.status.value,
            "verify": self.verify,
            "forced": self.forced,
            "restore_of": self.restore_of,
            "migration_id": self.migration_id,
            "error": self.error,
            "summary": self.change.summary,
        }


@dataclass(frozen=True)
class CheckedEntry:
    """A journal entry as listed: what it says, and whether its signature holds."""

    entry: JournalEntry
    signature: Signature

    def as_json(self) -> dict[str, Any]:
        return self.entry.as_json() | {"signature": self.signature.value}


def _newest_first(entry: JournalEntry) -> tuple[str, str]:
    """A sort key, with reverse=True. The id tells the second only: the time in the
    entry orders steps of one second."""
    return entry.time, entry.journal_id


def new_journal_id(now: datetime) -> str:
    """Sortable by time, unique without coordination."""
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


class Journal:
    def __init__(
        self, dynamodb: DynamoDBClient, table: str, signer: JournalSigner | None = None
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.signer = signer  # None: entries are written unsigned, and none is restored

    def save(self, entry: JournalEntry) -> None:
        item = _item(entry)
        if self.signer is not None:
            document = json.loads(item["entry"]["S"])
            item["signature"] = {"S": self._signing("GenerateMac", self.signer.mac, document)}
        self._put(item)

    def trusted(self, journal_id: str) -> JournalEntry | None:
        """The entry, once its signature is verified; UntrustedEntryError when it fails."""
        item = self._get_item(journal_id)
        return None if item is None else self._verified(journal_id, item)

    def _verified(self, journal_id: str, item: dict[str, Any]) -> JournalEntry:
        """The item's entry if its signature holds (one KMS VerifyMac), else
        UntrustedEntryError saying which way it fails (its `signature`)."""
        if self.signer is None:
            raise UntrustedEntryError(
                f"journal entry {journal_id} cannot be verified: no journal key "
                "(ROLEWARDEN_JOURNAL_KEY); an entry that cannot be verified is never restored",
                Signature.UNCHECKED,
            )
        signature = item.get("signature", {}).get("S")
        if not signature:
            raise UntrustedEntryError(
                f"journal entry {journal_id} is unsigned: RoleWarden signs every entry it "
                "writes, so it was written by someone else; never restored",
                Signature.MISSING,
            )
        document = json.loads(item["entry"]["S"])
        try:
            self._signing("VerifyMac", self.signer.verify, document, signature)
        except InvalidMacError as error:
            raise UntrustedEntryError(
                f"journal entry {journal_id} was altered since RoleWarden wrote it ({error} "
                f"under journal key {self.signer.key_id}); never restored",
                Signature.INVALID,
            ) from error
        if document.get("journal_id") != journal_id:
            raise UntrustedEntryError(
                f"journal entry {journal_id} holds the signed entry of "
                f"{document.get('journal_id')}: copied, not written there; never restored",
                Signature.INVALID,
            )
        return _entry(item)

    def get(self, journal_id: str) -> JournalEntry | None:
        """The entry as stored, unverified: to show it, never to restore it (`trusted`)."""
        item = self._get_item(journal_id)
        return _entry(item) if item else None

    def at(self, operation: str) -> str:
        """A call on this table, as its errors name it."""
        return f"journal table {self.table}: {operation}"

    def _get_item(self, journal_id: str) -> dict[str, Any] | None:
        response = call(
            JournalError,
            self.at("GetItem"),
            self.dynamodb.get_item,
            TableName=self.table,
            Key=_key(ENTRY_PREFIX + journal_id, ENTRY_SK),
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _signing(self, operation: str, call: Any, document: dict[str, Any], *args: Any) -> Any:
        try:
            return call(canonical(document), *args)
        except SigningError as error:
            raise JournalError(
                f"{self.at(operation)}: {error}", operation=self.at(operation), code=error.code
            ) from error

    def entries(self) -> list[JournalEntry]:
        """Newest first, as stored (unverified: `checked_entries` verifies them)."""
        found = [_entry(item) for item in self._scan(ENTRY_PREFIX)]
        return sorted(found, key=_newest_first, reverse=True)

    def checked_entries(self) -> list[CheckedEntry]:
        """Newest first, each with what its signature says, verified as `trusted` verifies
        an entry before a restore: one KMS VerifyMac per signed entry (none without a
        journal key; a KMS failure is a JournalError, not a verdict). Each is listed under
        the id it is stored at, the one `restore` takes (a copy says another inside)."""
        checked = [self._checked(item) for item in self._scan(ENTRY_PREFIX)]
        return sorted(checked, key=lambda listed: _newest_first(listed.entry), reverse=True)

    def _checked(self, item: dict[str, Any]) -> CheckedEntry:
        journal_id = item["pk"]["S"].removeprefix(ENTRY_PREFIX)
        try:
            return CheckedEntry(self._verified(journal_id, item), Signature.VERIFIED)
        except UntrustedEntryError as error:
            return CheckedEntry(replace(_entry(item), journal_id=journal_id), error.signature)

    def mark_restored(self, resource_arn: str, when: datetime, journal_id: str) -> None:
        self._put(
            {
                **_key(RESTORED_PREFIX + resource_arn, "marker"),
                "restored_at": {"S": when.isoformat()},
                "journal_id": {"S": journal_id},
            }
        )

    def restored_within(self, resource_arn: str, now: datetime, hours: int) -> str | None:
        """The journal id of a restore of this resource less than `hours` ago, if any."""
        if hours <= 0:
            return None
        response = call(
            JournalError,
            self.at("GetItem"),
            self.dynamodb.get_item,
            TableName=self.table,
            Key=_key(RESTORED_PREFIX + resource_arn, "marker"),
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return None
        restored_at = datetime.fromisoformat(item["restored_at"]["S"])
        return item["journal_id"]["S"] if now - restored_at < timedelta(hours=hours) else None

    def lock(self, resource_arn: str, now: datetime) -> str | None:
        """Take the resource's lock (a conditional put); None when someone else holds it."""
        token = secrets.token_hex(8)
        try:
            call(
                JournalError,
                self.at("PutItem"),
                self.dynamodb.put_item,
                TableName=self.table,
                Item={
                    **_key(LOCK_PREFIX + resource_arn, "lock"),
                    "token": {"S": token},
                    "expires": {"N": str(int(now.timestamp()) + LOCK_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
            )
        except JournalError as error:
            if error.code == "ConditionalCheckFailedException":
                return None
            raise
        return token

    def unlock(self, resource_arn: str, token: str) -> None:
        """Release the lock if it is still ours (an expired one may have been taken over)."""
        try:
            call(
                JournalError,
                self.at("PutItem"),
                self.dynamodb.put_item,
                TableName=self.table,
                Item={**_key(LOCK_PREFIX + resource_arn, "lock"), "expires": {"N": "0"}},
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except JournalError as error:
            if error.code != "ConditionalCheckFailedException":
                raise

    def _put(self, item: dict[str, Any]) -> None:
        call(
            JournalError,
            self.at("PutItem"),
            self.dynamodb.put_item,
            TableName=self.table,
            Item=item,
        )

    def _scan(self, prefix: str) -> Iterator[dict[str, Any]]:
        for page in pages(
            JournalError,
            self.at("Scan"),
            self.dynamodb.get_paginator("scan").paginate,
            TableName=self.table,
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": {"S": prefix}},
        ):
            yield from page["Items"]


def writer_userid(caller_arn: str, user_id: str) -> str:
    """The `aws:userid` pattern of the journal's writer, from sts:GetCallerIdentity.

    An assumed role's user id is "<role id>:<session name>": every session of that role
    (the next one has another name), as the template names the remediate role. Anyone
    else is their exact user id: an IAM user's, a federated user's ("<account>:<name>",
    whose prefix every federated user of the account shares), the root user's (the
    account id). Unique ids are never reused: a principal made again later is not it.
    """
    if Arn.parse(caller_arn).resource_type == "assumed-role":
        return user_id.split(":", 1)[0] + ":*"
    return user_id


def writer_policy(writer_arn: str, userid: str) -> dict[str, Any]:
    """template.yaml's JournalTable policy, for a table the CLI created: only the writer
    (`userid`, from `writer_userid`) may write items. ("*": the policy of a table that
    does not exist yet cannot name its ARN.)"""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TheWriterKeepsTheJournal",
                "Effect": "Allow",
                "Principal": {"AWS": writer_arn},
                # Scan: `rolewarden journal` lists the CLI's table, as its writer.
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:Scan",
                ],
                "Resource": "*",
            },
            {
                "Sid": "OnlyTheWriterWrites",
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(WRITE_ACTIONS),
                "Resource": "*",
                "Condition": {"StringNotLike": {"aws:userid": userid}},
            },
        ],
    }


def create_table(dynamodb: DynamoDBClient, name: str, policy: dict[str, Any] | None = None) -> None:
    """The schema of template.yaml's JournalTable, for the CLI without the stack, with
    `policy` (`writer_policy`) as its resource policy once it is ACTIVE."""
    creating = f"cannot create journal table {name}"
    created = call(
        JournalError,
        creating,
        dynamodb.create_table,
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )
    call(JournalError, creating, dynamodb.get_waiter("table_exists").wait, TableName=name)
    call(
        JournalError,
        creating,
        dynamodb.update_continuous_backups,
        TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    if policy is not None:
        _put_policy(dynamodb, created["TableDescription"]["TableArn"], name, policy)


def _put_policy(dynamodb: DynamoDBClient, arn: str, name: str, policy: dict[str, Any]) -> None:
    """Put the policy on the new table (CreateTable's ResourcePolicy would leave no moment
    without it, but the emulator ignores it; the table is empty meanwhile, and an entry
    written then is unsigned, never restored). NO_POLICY: refused if one is already
    there, i.e. someone else put theirs first."""
    try:
        call(
            JournalError,
            "PutResourcePolicy",
            dynamodb.put_resource_policy,
            ResourceArn=arn,
            Policy=json.dumps(policy),
            ExpectedRevisionId="NO_POLICY",
        )
    except JournalError as error:
        raise JournalError(
            f"journal table {name} was created without its policy ({error}): anyone the "
            "account allows may write it; delete it and create it again",
            operation=error.operation,
            code=error.code,
        ) from error


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _item(entry: JournalEntry) -> dict[str, Any]:
    document = json.dumps(entry.as_json() | {"change": entry.change.as_json()}, default=str)
    return {
        **_key(ENTRY_PREFIX + entry.journal_id, ENTRY_SK),
        "journal_id": {"S": entry.journal_id},
        "time": {"S": entry.time},
        "resource_arn": {"S": entry.resource_arn},
        "status": {"S": entry.status.value},
        # The whole entry as JSON: a policy document is kept exactly as it was read.
        "entry": {"S": document},
    }


def _entry(item: dict[str, Any]) -> JournalEntry:
    data = json.loads(item["entry"]["S"])
    return JournalEntry(
        journal_id=data["journal_id"],
        time=data["time"],
        actor=data["actor"],
        actor_self_declared=bool(data.get("actor_self_declared", False)),
        caused_by=data.get("caused_by"),
        rule=data["rule"],
        finding_id=data["finding_id"],
        resource_arn=data["resource_arn"],
        account=data["account"],
        change=Change.from_json(data["change"]),
        status=Status(data["status"]),
        verify=data.get("verify", ""),
        forced=list(data.get("forced", [])),
        restore_of=data.get("restore_of"),
        migration_id=data.get("migration_id"),
        error=data.get("error"),
    )
