"""Delete an application policy inline in a host role; undo puts back the same bytes.

An inline policy exists nowhere else: its document is part of `before` (and its text, as
IAM returned it, of `verbatim`), so the journal holds it before it is deleted, and undo
puts back the same bytes. One edited after the journal write is not deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.remediation.change import (
    Action,
    ActionError,
    Change,
    ChangedSincePlanError,
    State,
)
from rolewarden.remediation.params import ActionParams
from rolewarden.remediation.policy_text import parsed, role_policy_text

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


class DeleteInlinePolicyParams(ActionParams):
    role_name: str
    policy_name: str


class DeleteInlinePolicy(Action[DeleteInlinePolicyParams]):
    name = "delete-inline-policy"
    permissions = (
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:DeleteRolePolicy",
        "iam:PutRolePolicy",
    )
    params_type = DeleteInlinePolicyParams

    def plan(
        self, clients: AwsClients, region: str, params: DeleteInlinePolicyParams
    ) -> Change | None:
        target = {"role_name": params.role_name, "policy_name": params.policy_name}
        text = _text(clients, target)
        if text is None:
            return None
        return Change(
            self.name,
            region,
            target,
            before={"document": parsed(text)},
            after={"document": None},
            summary=f"delete inline policy {params.policy_name} of role {params.role_name} "
            "(its document is kept in the journal)",
            verbatim={"document": text},
        )

    def apply(self, clients: AwsClients, change: Change) -> Change:
        # IAM has no conditional delete: read it again after the journal write, right before
        # deleting, so what is deleted is what the journal holds.
        text = _text(clients, change.target)
        if not _as_journaled(text, change):
            raise ChangedSincePlanError(_moved_on(change, text), _as_it_is(change, text))
        iam = clients.client("iam")
        call(
            ActionError,
            "iam:DeleteRolePolicy",
            iam.delete_role_policy,
            RoleName=change.target["role_name"],
            PolicyName=change.target["policy_name"],
        )
        return change

    def read(self, clients: AwsClients, change: Change) -> State:
        text = _text(clients, change.target)
        return {"document": None if text is None else parsed(text)}

    def undo(self, clients: AwsClients, change: Change) -> None:
        document = change.before["document"]
        text = change.verbatim.get("document")
        if text is None:  # journaled before RoleWarden kept the text
            text = json.dumps(document)
        elif parsed(text) != document:
            raise ActionError("the journal entry's document text is not its document: not restored")
        iam = clients.client("iam")
        call(
            ActionError,
            "iam:PutRolePolicy",
            iam.put_role_policy,
            RoleName=change.target["role_name"],
            PolicyName=change.target["policy_name"],
            PolicyDocument=text,
        )


def _text(clients: AwsClients, target: Mapping[str, Any]) -> str | None:
    """The inline policy's text, or None when the role has no such policy."""
    try:
        return role_policy_text(clients, target["role_name"], target["policy_name"])
    except ActionError as error:
        if error.code == "NoSuchEntity" and _role_exists(clients.client("iam"), target):
            return None
        raise


def _as_journaled(text: str | None, change: Change) -> bool:
    if "document" in change.verbatim:
        return text == change.verbatim["document"]
    return text is not None and parsed(text) == change.before["document"]


def _as_it_is(change: Change, text: str | None) -> Change:
    """Nothing deleted: the journal states the policy as it is, so restore leaves it be."""
    state = {"document": None if text is None else parsed(text)}
    verbatim = {} if text is None else {"document": text}
    return replace(change, before=state, after=state, verbatim=verbatim)


def _moved_on(change: Change, text: str | None) -> str:
    policy = f"inline policy {change.target['policy_name']} of role {change.target['role_name']}"
    if text is None:
        return f"{policy} was deleted by someone else after it was journaled: nothing to delete"
    return (
        f"{policy} was edited after it was journaled: not deleted, so the edit is not lost "
        "(the journal holds it as it is now); plan again to see what it grants"
    )


def _role_exists(iam: IAMClient, target: Mapping[str, Any]) -> bool:
    """GetRolePolicy says NoSuchEntity for a missing role too: that is not 'policy deleted'."""
    try:
        call(
            ActionError,
            "iam:ListRolePolicies",
            iam.list_role_policies,
            RoleName=target["role_name"],
            MaxItems=1,
        )
    except ActionError as error:
        if error.code == "NoSuchEntity":
            return False
        raise
    return True
