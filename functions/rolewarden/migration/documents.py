"""The documents of a proposed task role: its policy, from the host role's application
statements, and its trust policy. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from rolewarden.policy.catalogue import ActionCatalogue
from rolewarden.policy.classify import PolicyVerdict, RoleVerdict
from rolewarden.policy.document import ALLOW, Statement
from rolewarden.policy.evaluate import expand_statement

ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"


def application_document(verdict: RoleVerdict, catalogue: ActionCatalogue) -> dict[str, Any]:
    """The host role's application statements (cut down to the action patterns that grant
    an application action), and every Deny of its policies: the copy grants no more."""
    statements: list[dict[str, Any]] = []
    for policy in verdict.policies:
        document = verdict.evaluation.documents.get(policy.policy.key)
        if document is None:
            continue  # a baseline policy by identity (no Deny in those)
        granting = _granting_statements(policy)
        application = frozenset(policy.application.keys)
        for statement in document.statements:
            if statement.effect != ALLOW:
                statements.append(statement.as_json())
            elif statement.label in granting:
                statements.append(_application_part(statement, application, catalogue))
    return {"Version": "2012-10-17", "Statement": _unique_sids(statements)}


def _granting_statements(policy: PolicyVerdict) -> set[str]:
    """The labels of the policy's statements that grant one of its application actions."""
    return {
        source.statement
        for grant in policy.application
        for source in grant.sources
        if source.policy == policy.policy
    }


def _application_part(
    statement: Statement, application: frozenset[str], catalogue: ActionCatalogue
) -> dict[str, Any]:
    """The statement with only its actions that grant an application action (a NotAction
    statement as it is)."""
    body = statement.as_json()
    if statement.actions is not None:
        body["Action"] = [
            action
            for action in statement.actions
            if expand_statement(catalogue, replace(statement, actions=(action,))) & application
        ]
    return body


def _unique_sids(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """IAM wants a Sid unique within a policy; statements from several policies may share one."""
    seen: set[str] = set()
    for statement in statements:
        sid = statement.get("Sid")
        if sid is None:
            continue
        number, unique = 2, sid
        while unique in seen:
            unique, number = f"{sid}{number}", number + 1
        statement["Sid"] = unique
        seen.add(unique)
    return statements


def trust_policy(partition: str, account: str, regions: Iterable[str]) -> dict[str, Any]:
    """ECS tasks of this account only (the confused deputy guard ECS documents)."""
    source_arns = [f"arn:{partition}:ecs:{region}:{account}:*" for region in sorted(regions)]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ECS_TASKS_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {
                        "aws:SourceArn": source_arns[0] if len(source_arns) == 1 else source_arns
                    },
                },
            }
        ],
    }
