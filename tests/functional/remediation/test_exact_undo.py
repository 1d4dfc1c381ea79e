"""Undo restores exactly what was there, and nothing edited meanwhile is lost.

Scenarios:
  1. An inline policy written with odd whitespace, key order and non-ASCII text is
     deleted and restored: GetRolePolicy returns the same bytes as before (read with
     botocore's policy decoding off), and the journal held that text.
  2. A managed policy version's text reads back byte for byte, for an undo that creates
     the version again.
  3. The inline policy is edited after the journal write, before the delete: it is not
     deleted, the journal holds the edited text, and restore has nothing to undo.
  4. The inline policy is deleted by someone else after the journal write: nothing is
     deleted, and restore does not bring back what RoleWarden never deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.handlers import json_decode_policies

from functional.accounts import make_role
from functional.remediation.support import APPLY, ROLE_ARN, RULE_APP, only_entry
from rolewarden.remediation.journal import JournalEntry, Status
from rolewarden.remediation.outcome import OutcomeStatus
from rolewarden.remediation.policy_text import policy_version_text

# What json.dumps of botocore's dict would never write: tabs, spaces before colons, keys
# out of order, a non-ASCII bucket name written as is and one written as an escape.
ODD_TEXT = (
    '{\n    "Statement" : [ {\n\t"Resource": ["arn:aws:s3:::bücher/*",'
    ' "arn:aws:s3:::caf\\u00e9/*"],\n      "Action": "s3:GetObject",   "Effect": "Allow"\n'
    '    } ],\n  "Version": "2012-10-17"\n}\n'
)
EDITED_TEXT = ODD_TEXT.replace('"s3:GetObject"', '["s3:GetObject", "s3:PutObject"]')
POLICY = "bookshelf"


def raw_text(session: Any, role: str) -> str | None:
    """The inline policy as IAM holds it: botocore's decoding off, URL-decoded only."""
    iam = session.client("iam")
    if POLICY not in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        return None
    iam.meta.events.unregister("after-call.iam", json_decode_policies)
    text: str = unquote(iam.get_role_policy(RoleName=role, PolicyName=POLICY)["PolicyDocument"])
    return text


def bookshelf_host(session: Any, name: str) -> str:
    """A host role (ECS agent policy) with the odd inline application policy."""
    make_role(session, name)
    session.client("iam").put_role_policy(RoleName=name, PolicyName=POLICY, PolicyDocument=ODD_TEXT)
    assert raw_text(session, name) == ODD_TEXT
    return ROLE_ARN.format(name)


def remediate_inline(rolewarden: SimpleNamespace, role_arn: str) -> Any:
    return rolewarden.service.by_resource(RULE_APP, role_arn, APPLY)


@contextmanager
def after_the_first_journal_write(
    rolewarden: SimpleNamespace, meddle: Callable[[], None]
) -> Iterator[None]:
    """Run `meddle` once, right after RoleWarden first journals a change."""
    journal = rolewarden.journal
    save = journal.save

    def save_then_meddle(entry: JournalEntry) -> None:
        save(entry)
        if entry.status is Status.STARTED and not done:
            done.append(entry.journal_id)
            meddle()

    done: list[str] = []
    journal.save = save_then_meddle
    try:
        yield
    finally:
        del journal.save
    assert done, "RoleWarden journaled nothing"


# --- 1. an inline policy, byte for byte -------------------------------------------------


def test_an_inline_policy_is_restored_byte_for_byte(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a host role whose inline policy is written oddly, with non-ASCII text
    role_arn = bookshelf_host(session, "bookshelf-host")
    # When a person remediates the role
    outcome = remediate_inline(rolewarden, role_arn)
    # Then the policy is gone, and the journal holds its text as IAM returned it
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert raw_text(session, "bookshelf-host") is None
    entry = only_entry(rolewarden)
    assert entry.change.verbatim == {"document": ODD_TEXT}
    # When the entry is restored
    restored = rolewarden.service.restore(entry.journal_id, APPLY)
    # Then IAM holds the very same bytes again
    assert restored.status is OutcomeStatus.RESTORED, restored.reasons
    text = raw_text(session, "bookshelf-host")
    assert text is not None
    assert text.encode() == ODD_TEXT.encode()


# --- 2. a managed policy version, byte for byte -----------------------------------------


def test_a_managed_policy_version_reads_back_byte_for_byte(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a managed policy written oddly
    policy = session.client("iam").create_policy(
        PolicyName="odd-bookshelf", PolicyDocument=ODD_TEXT
    )
    # When its version is read the way an undo that creates it again reads it
    text = policy_version_text(rolewarden.clients, policy["Policy"]["Arn"], "v1")
    # Then it is the text as written
    assert text.encode() == ODD_TEXT.encode()


# --- 3. edited after the journal write --------------------------------------------------


def test_a_policy_edited_after_the_journal_write_is_not_deleted(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a host role with an inline application policy
    role_arn = bookshelf_host(session, "edited-meanwhile-host")

    def edit() -> None:
        session.client("iam").put_role_policy(
            RoleName="edited-meanwhile-host", PolicyName=POLICY, PolicyDocument=EDITED_TEXT
        )

    # When a person remediates it, and someone edits the policy right after the journal write
    with after_the_first_journal_write(rolewarden, edit):
        outcome = remediate_inline(rolewarden, role_arn)
    # Then the edited policy is still there, byte for byte, and the remediation says why
    assert raw_text(session, "edited-meanwhile-host") == EDITED_TEXT
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.reasons == [
        f"inline policy {POLICY} of role edited-meanwhile-host was edited after it was "
        "journaled: not deleted, so the edit is not lost (the journal holds it as it is "
        "now); plan again to see what it grants"
    ]
    # and the journal holds the edited text, as a change that changed nothing
    entry = only_entry(rolewarden)
    assert entry.status is Status.FAILED
    assert entry.change.verbatim == {"document": EDITED_TEXT}
    assert entry.change.before == entry.change.after
    assert "s3:PutObject" in entry.change.before["document"]["Statement"][0]["Action"]
    # and restoring it finds nothing to undo
    restore = rolewarden.service.restore(entry.journal_id, APPLY)
    assert restore.status is OutcomeStatus.NOTHING_TO_DO
    assert raw_text(session, "edited-meanwhile-host") == EDITED_TEXT


# --- 4. deleted by someone else after the journal write ---------------------------------


@pytest.mark.parametrize("later", ["nothing", "put back by hand"])
def test_a_policy_deleted_by_someone_else_is_not_restored_by_rolewarden(
    session: Any, rolewarden: SimpleNamespace, later: str
) -> None:
    # Given a host role with an inline application policy
    role = f"deleted-meanwhile-{later.replace(' ', '-')}"
    role_arn = bookshelf_host(session, role)

    def delete() -> None:
        session.client("iam").delete_role_policy(RoleName=role, PolicyName=POLICY)

    # When someone else deletes it right after RoleWarden journals its deletion
    with after_the_first_journal_write(rolewarden, delete):
        outcome = remediate_inline(rolewarden, role_arn)
    # Then RoleWarden deleted nothing and says so
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.reasons == [
        f"inline policy {POLICY} of role {role} was deleted by someone else after it was "
        "journaled: nothing to delete"
    ]
    entry = only_entry(rolewarden)
    assert entry.change.before == entry.change.after == {"document": None}
    # When the entry is restored (after the policy came back by hand, or not)
    if later == "put back by hand":
        session.client("iam").put_role_policy(
            RoleName=role, PolicyName=POLICY, PolicyDocument=EDITED_TEXT
        )
    restore = rolewarden.service.restore(entry.journal_id, APPLY)
    # Then RoleWarden does not bring back, or overwrite, what it never deleted
    expected = {"nothing": (OutcomeStatus.NOTHING_TO_DO, None)}.get(
        later, (OutcomeStatus.REFUSED, EDITED_TEXT)
    )
    assert (restore.status, raw_text(session, role)) == expected
