"""Journal integrity: every entry carries an HMAC from a KMS key only its writer may use.

A journal entry is an order to restore: whoever can write one could have RoleWarden put
back AdministratorAccess. So each entry is signed when written (KMS GenerateMac,
HMAC_SHA_256) over a canonical serialization of everything restore uses, and verified
(VerifyMac) before it is restored; an unsigned or altered entry is never restored. The
key's policy lets only the journal's writer (the remediate function's role in the stack,
the person running the CLI for the CLI's own table) generate and verify MACs.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Final

from rolewarden.aws.errors import AwsError, call

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient


MAC_ALGORITHM: Final = "HMAC_SHA_256"
# A MAC of this text cannot be taken for the MAC of any other kind of message.
DOMAIN = b"rolewarden-journal-entry-v1\n"
KEY_ADMINISTRATION = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]


class SigningError(AwsError):
    """The journal key could not be used (not an altered entry: KMS failed or refused)."""


class InvalidMacError(Exception):
    """The MAC does not match the entry: it was altered, or never signed by this key."""


def canonical(document: dict[str, Any]) -> bytes:
    """One byte string per entry: sorted keys, no spaces, UTF-8 (non-ASCII kept as is)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return DOMAIN + text.encode("utf-8")


class JournalSigner:
    def __init__(self, kms: KMSClient, key_id: str) -> None:
        self.kms = kms
        self.key_id = key_id

    def mac(self, message: bytes) -> str:
        response = call(
            SigningError,
            self._at("GenerateMac"),
            self.kms.generate_mac,
            Message=message,
            KeyId=self.key_id,
            MacAlgorithm=MAC_ALGORITHM,
        )
        return base64.b64encode(response["Mac"]).decode("ascii")

    def verify(self, message: bytes, mac: str) -> None:
        """Raises InvalidMacError unless `mac` is this key's MAC of `message`."""
        try:
            raw = base64.b64decode(mac, validate=True)
        except ValueError as error:
            raise InvalidMacError("the signature is not base64") from error
        try:
            call(
                SigningError,
                self._at("VerifyMac"),
                self.kms.verify_mac,
                Message=message,
                KeyId=self.key_id,
                MacAlgorithm=MAC_ALGORITHM,
                Mac=raw,
            )
        except SigningError as error:
            if error.code == "KMSInvalidMacException":
                raise InvalidMacError("the signature does not match the entry") from error
            raise

    def _at(self, operation: str) -> str:
        return f"journal key {self.key_id}: {operation}"


def key_policy(account: str, partition: str, writer_arn: str) -> dict[str, Any]:
    """The template's JournalKey policy: the account administers the key, only the
    journal's writer may generate and verify MACs with it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": KEY_ADMINISTRATION,
                "Resource": "*",
            },
            {
                "Sid": "OnlyTheJournalWriterSigns",
                "Effect": "Allow",
                "Principal": {"AWS": writer_arn},
                "Action": ["kms:GenerateMac", "kms:VerifyMac"],
                "Resource": "*",
            },
        ],
    }


def create_key(kms: KMSClient, table: str, account: str, partition: str, writer_arn: str) -> str:
    """An HMAC key for a journal table the CLI created; returns its ARN."""
    response = call(
        SigningError,
        f"cannot create a journal key for {table}",
        kms.create_key,
        Description=f"Signs the entries of RoleWarden journal table {table}.",
        KeySpec="HMAC_256",
        KeyUsage="GENERATE_VERIFY_MAC",
        Policy=json.dumps(key_policy(account, partition, writer_arn)),
        Tags=[{"TagKey": "rolewarden:journal-table", "TagValue": table}],
    )
    return str(response["KeyMetadata"]["Arn"])
