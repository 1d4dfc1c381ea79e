"""Journal tables for tests, as `rolewarden journal create-table` makes them: each with
the KMS HMAC key that signs its entries, reachable as `key_alias(table)`. A test that
names only the journal table (the Invoker, the CLI helper) gets that key as
ROLEWARDEN_JOURNAL_KEY; one that wants no key says `journal_key=""`.
"""

from __future__ import annotations

from typing import Any

import boto3

from rolewarden.remediation import journal
from rolewarden.remediation.journal import Journal
from rolewarden.remediation.signing import JournalSigner


def key_alias(table: str) -> str:
    return f"alias/rolewarden-journal-{table}"


def create_table(dynamodb: Any, name: str) -> str:
    """The table and its signing key (in the same moto account); returns the key's ARN."""
    journal.create_table(dynamodb, name)
    kms = _kms(dynamodb)
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    kms.create_alias(AliasName=key_alias(name), TargetKeyId=key["KeyId"])
    return str(key["Arn"])


def signed_journal(dynamodb: Any, name: str) -> Journal:
    return Journal(dynamodb, name, JournalSigner(_kms(dynamodb), key_alias(name)))


def with_journal_key(settings: dict[str, str]) -> dict[str, str]:
    """The settings, with the journal table's key unless the test names one (or none):
    the key `rolewarden journal create-table` made for it (tagged with the table), else
    the one create_table made here."""
    table = settings.get("journal_table")
    if table and "journal_key" not in settings:
        return {**settings, "journal_key": _cli_key(table) or key_alias(table)}
    return settings


def _cli_key(table: str) -> str | None:
    kms = boto3.client("kms", region_name="us-east-1")
    for key in kms.list_keys()["Keys"]:
        tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
        if {"TagKey": "rolewarden:journal-table", "TagValue": table} in tags:
            return str(key["KeyArn"])
    return None


def _kms(dynamodb: Any) -> Any:
    return boto3.client("kms", region_name=dynamodb.meta.region_name)
