"""Create a task role a migration planned: its trust policy, path, boundary, tags and one
inline policy (the host role's application statements). Undo deletes it again.

Manual only (a migration from the CLI). The role is tagged with the journal id, so that
after a reply lost on CreateRole (retried, it would fail as existing) the role found is
adopted only when it carries this entry's id. A role of that name without RoleWarden's
tags is never reused: the plan refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call, pages
from rolewarden.aws.tags import tag_dict, tag_list
from rolewarden.remediation.actions.ecs_listing import described_running_tasks
from rolewarden.remediation.change import (
    Action,
    ActionError,
    ActionRefusedError,
    Change,
    PartialChangeError,
    State,
)
from rolewarden.remediation.lost_reply import create_once
from rolewarden.remediation.params import ActionParams

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

JOURNAL_TAG = "rolewarden:journal-id"  # on a role RoleWarden created: whose it is
POLICY_NAME = "application"  # the role's one inline policy


class CreateTaskRoleParams(ActionParams):
    role_name: str
    role_arn: str
    regions: list[str]  # where the family's tasks run: undo checks none uses the role
    path: str
    trust_policy: dict[str, Any]
    policy_document: dict[str, Any]
    tags: dict[str, str]
    boundary_arn: str | None = None


class CreateTaskRole(Action[CreateTaskRoleParams]):
    name = "create-task-role"
    permissions = (
        "iam:GetRole",
        "iam:CreateRole",
        "iam:TagRole",  # created with its tags
        "iam:PutRolePolicy",
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:DeleteRole",
        "ecs:ListClusters",  # undo: no running task may still use the role
        "ecs:ListTasks",
        "ecs:DescribeTasks",
        "ecs:DescribeTaskDefinition",
    )
    params_type = CreateTaskRoleParams

    def plan(self, clients: AwsClients, region: str, params: CreateTaskRoleParams) -> Change | None:
        wanted: dict[str, Any] = {
            "path": params.path,
            "trust_policy": params.trust_policy,
            "boundary_arn": params.boundary_arn,
            "policies": {POLICY_NAME: params.policy_document},
            "attached": [],
        }
        change = Change(
            self.name,
            region,
            {
                "role_name": params.role_name,
                "role_arn": params.role_arn,
                "regions": params.regions,
                "tags": params.tags,
            },
            before={"role": None},
            after={"role": wanted},
            summary=f"create task role {params.path}{params.role_name} with its "
            f"{POLICY_NAME} policy",
        )
        current, tags = _role(clients, params.role_name)
        if current is None:
            return change
        ours = all(tags.get(key) == value for key, value in params.tags.items())
        if ours and current == wanted:  # created by an earlier, interrupted run
            return None
        raise ActionRefusedError(
            f"a role named {params.role_name} exists already"
            + (" with other permissions than planned" if ours else "")
            + ": RoleWarden creates its own, never reuses one"
        )

    def journaled(self, change: Change, journal_id: str) -> Change:
        tags = {**change.target["tags"], JOURNAL_TAG: journal_id}
        return replace(change, target={**change.target, "tags": tags})

    def apply(self, clients: AwsClients, change: Change) -> Change:
        name, role = change.target["role_name"], change.after["role"]
        iam = clients.single_attempt("iam")  # botocore would retry blind
        journal_id = change.target["tags"].get(JOURNAL_TAG)
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "Path": role["path"],
            "AssumeRolePolicyDocument": json.dumps(role["trust_policy"]),
            "Tags": tag_list(change.target["tags"]),
            "Description": f"Task role RoleWarden created (journal {journal_id})",
        }
        if role["boundary_arn"]:
            kwargs["PermissionsBoundary"] = role["boundary_arn"]

        def created_here() -> bool | None:
            return (
                True if self.read(clients, change)["tags"].get(JOURNAL_TAG) == journal_id else None
            )

        create_once(
            "iam:CreateRole",
            lambda: bool(iam.create_role(**kwargs)),
            created_here,
            looked_for=f"a role {name} tagged {JOURNAL_TAG}={journal_id}",
        )
        try:
            for policy, document in role["policies"].items():
                call(
                    ActionError,
                    "iam:PutRolePolicy",
                    clients.client("iam").put_role_policy,
                    RoleName=name,
                    PolicyName=policy,
                    PolicyDocument=json.dumps(document),
                )
        except ActionError as error:  # the journal must know the role exists
            raise PartialChangeError(error, change) from error
        return change

    def read(self, clients: AwsClients, change: Change) -> State:
        return {"role": _role(clients, change.target["role_name"])[0]}

    def created_by(self, clients: AwsClients, role_name: str) -> str | None:
        """The journal id of the entry that created the role (None: not RoleWarden's)."""
        return _role(clients, role_name)[1].get(JOURNAL_TAG)

    def undo_blockers(self, clients: AwsClients, change: Change) -> list[str]:
        """A running task with the role would lose its credentials when it is deleted."""
        role_arn = change.target["role_arn"]
        using = [
            task
            for region in change.target["regions"]
            for task in _tasks_using(clients, region, role_arn)
        ]
        if not using:
            return []
        return [
            f"{len(using)} running task(s) use {role_arn} ({', '.join(sorted(using)[:5])}): "
            "deleting it takes their credentials; replace them with the old revision first"
        ]

    def undo(self, clients: AwsClients, change: Change) -> None:
        """Delete the role, with whatever policies it holds now (the restore journaled them)."""
        iam, name = clients.client("iam"), change.target["role_name"]
        current = _role(clients, name)[0]
        if current is None:
            return
        for policy in current["policies"]:
            call(
                ActionError,
                "iam:DeleteRolePolicy",
                iam.delete_role_policy,
                RoleName=name,
                PolicyName=policy,
            )
        for arn in current["attached"]:
            call(
                ActionError,
                "iam:DetachRolePolicy",
                iam.detach_role_policy,
                RoleName=name,
                PolicyArn=arn,
            )
        call(ActionError, "iam:DeleteRole", iam.delete_role, RoleName=name)


def _role(clients: AwsClients, name: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The role as a change states it (None: there is none), and its tags apart."""
    iam = clients.client("iam")
    try:
        role = call(ActionError, "iam:GetRole", iam.get_role, RoleName=name)["Role"]
    except ActionError as error:
        if error.code == "NoSuchEntity":
            return None, {}
        raise
    names = _listed(iam, "list_role_policies", "PolicyNames", name)
    policies = {
        policy: call(
            ActionError,
            "iam:GetRolePolicy",
            iam.get_role_policy,
            RoleName=name,
            PolicyName=policy,
        )["PolicyDocument"]
        for policy in names
    }
    attached = [
        policy["PolicyArn"]
        for policy in _listed(iam, "list_attached_role_policies", "AttachedPolicies", name)
    ]
    state = {
        "path": role["Path"],
        "trust_policy": role["AssumeRolePolicyDocument"],
        "boundary_arn": role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
        "policies": policies,
        "attached": sorted(attached),
    }
    return state, tag_dict(role.get("Tags", []))


def _listed(iam: IAMClient, operation: Any, key: str, role_name: str) -> list[Any]:
    paginator = iam.get_paginator(operation)
    listed = pages(ActionError, f"iam:{operation}", paginator.paginate, RoleName=role_name)
    return [item for page in listed for item in page[key]]


def _tasks_using(clients: AwsClients, region: str, role_arn: str) -> Iterator[str]:
    """The running tasks in the region whose task role is `role_arn` (their definition's,
    or an override's)."""
    ecs = clients.client("ecs", region)
    roles: dict[str, str | None] = {}  # task definition ARN -> its task role
    for task in described_running_tasks(ecs):
        definition = task["taskDefinitionArn"]
        if definition not in roles:
            roles[definition] = call(
                ActionError,
                "ecs:DescribeTaskDefinition",
                ecs.describe_task_definition,
                taskDefinition=definition,
            )["taskDefinition"].get("taskRoleArn")
        if (task.get("overrides", {}).get("taskRoleArn") or roles[definition]) == role_arn:
            yield str(task["taskArn"])
