"""Whether a role a person chose may become a task definition's task role.

Checked before anything is registered; each refusal says why:
  1. not a well-formed role ARN;
  2. a role of another account or partition (ECS can only pass its own account's roles);
  3. the task definition's execution role (the agent and the application would share one
     identity);
  4. no such role (a role of that name under another path is named);
  5. its trust policy does not let ecs-tasks.amazonaws.com assume it (ECS could not give
     it to the task);
  6. an instance role (in an instance profile): a task gets a role of its own, not a host's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import InventoryError, call, pages
from rolewarden.policy.catalogue import matches
from rolewarden.remediation.change import ActionError

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


ECS_TASKS = "ecs-tasks.amazonaws.com"
ASSUME_ROLE = "sts:AssumeRole"
ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/"
    r"(?P<path>(?:[!-.0-~]+/)*)(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)


def task_role_problem(
    clients: AwsClients, role_arn: str, definition: Mapping[str, Any]
) -> str | None:
    """Why `role_arn` may not be the task role of `definition`, or None when it may."""
    parsed = ROLE_ARN.fullmatch(role_arn)
    if parsed is None:
        return f"task role {role_arn!r} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
    account, partition = _caller(clients)
    if (parsed["account"], parsed["partition"]) != (account, partition):
        return (
            f"task role {role_arn} is not a role of this account ({account}, {partition}): "
            "ECS passes only the task definition's own account's roles"
        )
    if definition.get("executionRoleArn") == role_arn:
        return (
            f"task role {role_arn} is the task definition's execution role: the ECS agent and "
            "the application would share one identity; choose a role of the task's own"
        )
    return _role_problem(clients, role_arn, parsed["name"])


def trusts_service(trust_policy: Mapping[str, Any] | str, service: str = ECS_TASKS) -> bool:
    """Does the trust policy allow sts:AssumeRole to the service (and no Deny take it back)?"""
    document = _loaded(trust_policy)
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed = denied = False
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, Mapping) or not _assumes_role(statement):
            continue
        effect = statement.get("Effect")
        if effect == "Allow" and _names(statement.get("Principal"), service, everyone=False):
            allowed = True
        if effect == "Deny" and _names(statement.get("Principal"), service, everyone=True):
            denied = denied or not statement.get("Condition")
    return allowed and not denied


def _role_problem(clients: AwsClients, role_arn: str, name: str) -> str | None:
    iam = clients.client("iam")
    try:
        role = call(ActionError, "iam:GetRole", iam.get_role, RoleName=name)["Role"]
    except ActionError as error:
        if error.code == "NoSuchEntity":
            return f"task role {role_arn} does not exist"
        raise
    if role["Arn"] != role_arn:
        return f"task role {role_arn} does not exist (the role named {name} is {role['Arn']})"
    if not trusts_service(role.get("AssumeRolePolicyDocument") or {}):
        return (
            f"task role {role_arn} does not trust {ECS_TASKS}: its trust policy must allow "
            f"{ASSUME_ROLE} to that service, or ECS cannot give the role to the task"
        )
    profiles = _instance_profiles(iam, name)
    if profiles:
        return (
            f"task role {role_arn} is an instance role (instance profile "
            f"{', '.join(profiles)}): a task gets a role of its own, not a host's"
        )
    return None


def _instance_profiles(iam: IAMClient, role_name: str) -> list[str]:
    listed = pages(
        ActionError,
        "iam:ListInstanceProfilesForRole",
        iam.get_paginator("list_instance_profiles_for_role").paginate,
        RoleName=role_name,
    )
    return sorted(p["InstanceProfileName"] for page in listed for p in page["InstanceProfiles"])


def _caller(clients: AwsClients) -> tuple[str, str]:
    try:
        return clients.account_and_partition()
    except InventoryError as error:
        raise ActionError(str(error), operation=error.operation, code=error.code) from error


def _assumes_role(statement: Mapping[str, Any]) -> bool:
    if "Action" in statement:
        return any(matches(pattern, ASSUME_ROLE) for pattern in _strings(statement["Action"]))
    excluded = _strings(statement.get("NotAction", []))
    return not any(matches(pattern, ASSUME_ROLE) for pattern in excluded)


def _names(principal: Any, service: str, *, everyone: bool) -> bool:
    if principal == "*":
        return everyone
    if not isinstance(principal, Mapping):
        return False
    if everyone and "*" in _strings(principal.get("AWS", [])):
        return True
    return service in _strings(principal.get("Service", []))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _loaded(document: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(document, Mapping):
        return document
    try:
        loaded = json.loads(unquote(document))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, Mapping) else {}
