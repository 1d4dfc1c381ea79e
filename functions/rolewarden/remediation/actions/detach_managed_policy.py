"""Detach an application managed policy from a host role; undo attaches it again."""

from __future__ import annotations

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call, pages
from rolewarden.remediation.change import Action, ActionError, Change, State
from rolewarden.remediation.params import ActionParams


class DetachManagedPolicyParams(ActionParams):
    role_name: str
    policy_arn: str


class DetachManagedPolicy(Action[DetachManagedPolicyParams]):
    name = "detach-managed-policy"
    permissions = ("iam:ListAttachedRolePolicies", "iam:DetachRolePolicy", "iam:AttachRolePolicy")
    params_type = DetachManagedPolicyParams

    def plan(
        self, clients: AwsClients, region: str, params: DetachManagedPolicyParams
    ) -> Change | None:
        change = Change(
            self.name,
            region,
            {"role_name": params.role_name, "policy_arn": params.policy_arn},
            before={"attached": True},
            after={"attached": False},
            summary=f"detach {params.policy_arn} from role {params.role_name}",
        )
        return change if self.read(clients, change)["attached"] else None

    def apply(self, clients: AwsClients, change: Change) -> Change:
        iam = clients.client("iam")
        call(
            ActionError,
            "iam:DetachRolePolicy",
            iam.detach_role_policy,
            RoleName=change.target["role_name"],
            PolicyArn=change.target["policy_arn"],
        )
        return change

    def read(self, clients: AwsClients, change: Change) -> State:
        iam = clients.client("iam")
        listed = pages(
            ActionError,
            "iam:ListAttachedRolePolicies",
            iam.get_paginator("list_attached_role_policies").paginate,
            RoleName=change.target["role_name"],
        )
        arns = {p["PolicyArn"] for page in listed for p in page["AttachedPolicies"]}
        return {"attached": change.target["policy_arn"] in arns}

    def undo(self, clients: AwsClients, change: Change) -> None:
        iam = clients.client("iam")
        call(
            ActionError,
            "iam:AttachRolePolicy",
            iam.attach_role_policy,
            RoleName=change.target["role_name"],
            PolicyArn=change.target["policy_arn"],
        )
