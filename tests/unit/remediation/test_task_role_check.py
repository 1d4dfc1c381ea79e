"""A task role's trust policy must let ecs-tasks.amazonaws.com assume it (task_role_check)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from rolewarden.remediation.actions.task_role_check import ROLE_ARN, trusts_service

ECS = {"Service": "ecs-tasks.amazonaws.com"}


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any = ECS, **fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"} | fields


@pytest.mark.parametrize(
    "document",
    [
        trust(allow()),
        trust(allow({"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]})),
        trust(allow(Action=["sts:TagSession", "sts:assumerole"])),  # actions ignore case
        trust(allow(Action="sts:*")),
        trust(allow(Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}})),
        trust(
            allow(),
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ),
        allow() | {"Version": "2012-10-17", "Statement": allow()},  # one statement, no list
        quote(json.dumps(trust(allow()))),  # as IAM sends it, URL-encoded
    ],
)
def test_a_policy_letting_ecs_tasks_assume_the_role_trusts_it(document: Any) -> None:
    assert trusts_service(document) is True


@pytest.mark.parametrize(
    "document",
    [
        trust(allow({"Service": "ec2.amazonaws.com"})),
        trust(allow("*")),  # everyone is not the service RoleWarden was asked to check
        trust(allow(Action="sts:AssumeRoleWithWebIdentity")),
        trust({"Effect": "Allow", "Principal": ECS, "NotAction": "sts:AssumeRole"}),
        trust(allow(), {"Effect": "Deny", "Principal": ECS, "Action": "sts:AssumeRole"}),
        trust(allow(), {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*"}),
        trust(allow(Effect="Deny")),
        {},
        "not a policy",
    ],
)
def test_a_policy_that_does_not_let_ecs_tasks_assume_it_does_not_trust_it(document: Any) -> None:
    assert trusts_service(document) is False


@pytest.mark.parametrize(
    ("arn", "well_formed"),
    [
        ("arn:aws:iam::123456789012:role/orders-task", True),
        ("arn:aws:iam::123456789012:role/teams/orders/orders-task", True),
        ("arn:aws-cn:iam::123456789012:role/orders-task", True),
        ("orders-task", False),
        ("arn:aws:iam::123456789012:user/orders-task", False),
        ("arn:aws:iam::12345:role/orders-task", False),
        ("arn:aws:iam:us-east-1:123456789012:role/orders-task", False),
        ("arn:aws:iam::123456789012:role/", False),
        ("arn:aws:iam::123456789012:role/orders task", False),
    ],
)
def test_only_a_role_arn_is_well_formed(arn: str, well_formed: bool) -> None:
    assert (ROLE_ARN.fullmatch(arn) is not None) is well_formed
