"""Who alone may write a journal table the CLI creates (`aws:userid`, from STS).

Scenarios:
  1. An assumed role: every session of the role (its role id, any session name).
  2. An IAM user, a federated user, the root user: that exact user id (a federated
     user's prefix is the account, which every federated user of it shares).
  3. The CLI's table denies the same item writes as the stack's JournalTable.
"""

from __future__ import annotations

import pytest

from cfn_template import load_template, resource_policies
from rolewarden.remediation.journal import WRITE_ACTIONS, writer_userid

ACCOUNT = "123456789012"


def test_an_assumed_role_is_every_session_of_the_role() -> None:
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/jane@example.com"
    assert writer_userid(arn, "AROAEXAMPLEROLEID:jane@example.com") == "AROAEXAMPLEROLEID:*"


@pytest.mark.parametrize(
    ("arn", "user_id"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/jane", "AIDAEXAMPLEUSERID"),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/jane", f"{ACCOUNT}:jane"),
        (f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT),
    ],
)
def test_anyone_else_is_their_exact_user_id(arn: str, user_id: str) -> None:
    assert writer_userid(arn, user_id) == user_id


def test_the_cli_table_denies_the_writes_the_stack_table_denies() -> None:
    policy = resource_policies(load_template()["Resources"])["JournalTable"]
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert sorted(deny["Action"]) == sorted(WRITE_ACTIONS)
