"""Remove an application policy from a host role: detach a managed one, delete an inline one.

An inline policy exists nowhere else: its document is part of `before`, so the journal
holds it before it is deleted, and undo puts it back exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rolewarden.inventory.aws import AwsClients
from rolewarden.remediation.change import Action, ActionError, Change, State, aws_call, error_code


class DetachManagedPolicy(Action):
    name = "detach-managed-policy"
    permissions = ("iam:ListAttachedRolePolicies", "iam:DetachRolePolicy", "iam:AttachRolePolicy")

    def plan(self, clients: AwsClients, region: str, params: Mapping[str, Any]) -> Change | None:
        change = Change(
            self.name,
            region,
            {"role_name": params["role_name"], "policy_arn": params["policy_arn"]},
            before={"attached": True},
            after={"attached": False},
            summary=f"detach {params['policy_arn']} from role {params['role_name']}",
        )
        return change if self.read(clients, change)["attached"] else None

    def apply(self, clients: AwsClients, change: Change) -> Change:
        iam = clients.client("iam")
        aws_call(
            "iam:DetachRolePolicy",
            iam.detach_role_policy,
            RoleName=change.target["role_name"],
            PolicyArn=change.target["policy_arn"],
        )
        return change

    def read(self, clients: AwsClients, change: Change) -> State:
        iam = clients.client("iam")
        pages = iam.get_paginator("list_attached_role_policies").paginate(
            RoleName=change.target["role_name"]
        )
        arns = aws_call(
            "iam:ListAttachedRolePolicies",
            lambda: {p["PolicyArn"] for page in pages for p in page["AttachedPolicies"]},
        )
        return {"attached": change.target["policy_arn"] in arns}

    def undo(self, clients: AwsClients, change: Change) -> None:
        iam = clients.client("iam")
        aws_call(
            "iam:AttachRolePolicy",
            iam.attach_role_policy,
            RoleName=change.target["role_name"],
            PolicyArn=change.target["policy_arn"],
        )


class DeleteInlinePolicy(Action):
    name = "delete-inline-policy"
    permissions = (
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:DeleteRolePolicy",
        "iam:PutRolePolicy",
    )

    def plan(self, clients: AwsClients, region: str, params: Mapping[str, Any]) -> Change | None:
        target = {"role_name": params["role_name"], "policy_name": params["policy_name"]}
        probe = Change(self.name, region, target, before={}, after={})
        document = self.read(clients, probe)["document"]
        if document is None:
            return None
        return Change(
            self.name,
            region,
            target,
            before={"document": document},
            after={"document": None},
            summary=f"delete inline policy {params['policy_name']} of role {params['role_name']} "
            "(its document is kept in the journal)",
        )

    def apply(self, clients: AwsClients, change: Change) -> Change:
        iam = clients.client("iam")
        aws_call(
            "iam:DeleteRolePolicy",
            iam.delete_role_policy,
            RoleName=change.target["role_name"],
            PolicyName=change.target["policy_name"],
        )
        return change

    def read(self, clients: AwsClients, change: Change) -> State:
        iam = clients.client("iam")
        try:
            response = iam.get_role_policy(
                RoleName=change.target["role_name"], PolicyName=change.target["policy_name"]
            )
        except ClientError as error:
            if error_code(error) == "NoSuchEntity" and _role_exists(iam, change):
                return {"document": None}
            raise ActionError(f"iam:GetRolePolicy: {error}", error_code(error)) from error
        except BotoCoreError as error:
            raise ActionError(f"iam:GetRolePolicy: {error}") from error
        document = response["PolicyDocument"]
        return {"document": json.loads(document) if isinstance(document, str) else document}

    def undo(self, clients: AwsClients, change: Change) -> None:
        iam = clients.client("iam")
        aws_call(
            "iam:PutRolePolicy",
            iam.put_role_policy,
            RoleName=change.target["role_name"],
            PolicyName=change.target["policy_name"],
            PolicyDocument=json.dumps(change.before["document"]),
        )


def _role_exists(iam: Any, change: Change) -> bool:
    """GetRolePolicy says NoSuchEntity for a missing role too: that is not 'policy deleted'."""
    try:
        iam.list_role_policies(RoleName=change.target["role_name"], MaxItems=1)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return False
        raise ActionError(f"iam:ListRolePolicies: {error}", error_code(error)) from error
    except BotoCoreError as error:
        raise ActionError(f"iam:ListRolePolicies: {error}") from error
    return True
