"""`rolewarden migrate <host role>`: the plan that moves each family off a host role.

Plan only, for now: it reads the account and changes nothing. Exit codes: 0 a plan (or
nothing to move); 2 a refusal (not an ECS host role, no application permission, a read
that failed) or another error; 3 a plan in which some family is refused (its role name
would be invalid or exists already): the others are planned.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

import boto3

from rolewarden.aws.arn import Arn
from rolewarden.aws.clients import AwsClients
from rolewarden.cli.output import emit, printable_lines
from rolewarden.migration.plan import ROLE_PATH, FamilyPlan, MigrationPlan
from rolewarden.migration.reader import read_migration_plan
from rolewarden.settings import Settings

EXIT_OK, EXIT_PLAN_REFUSED = 0, 3
INDENT = "    "


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = commands.add_parser(
        "migrate", help="plan task roles of their own for the families on a host role"
    )
    migrate.add_argument("host_role", metavar="host-role", help="the host role's name or ARN")
    migrate.add_argument("--region", action="append", help="region(s) to read (repeatable)")
    migrate.add_argument("--output", choices=("table", "json"), default="table")


def run_migrate(args: argparse.Namespace, session: boto3.Session, regions: Sequence[str]) -> int:
    clients = AwsClients(session, home_region=regions[0])
    plan = read_migration_plan(clients, regions, Settings.from_env(), args.host_role)
    if args.output == "json":
        emit(json.dumps(plan.as_json(), indent=2))
    else:
        emit(printable_lines(render_plan(plan)))
    return EXIT_PLAN_REFUSED if plan.refused else EXIT_OK


def render_plan(plan: MigrationPlan) -> list[str]:
    lines = [f"Migration plan for host role {plan.host_role_name} (plan only: nothing changed)"]
    if not plan.families:
        lines.append("  no task or service falls back to it: nothing to move")
    for family in plan.families:
        lines += _family(family)
    lines.append(f"On {plan.host_role_name} once every family has moved (the finish step):")
    lines += [f"  {p.name} ({p.kind}): {p.outcome}" for p in plan.host_role_after]
    return lines


def _family(family: FamilyPlan) -> list[str]:
    lines = [f"family {family.family}"]
    if family.refusal:
        return [*lines, f"  refused: {family.refusal}"]
    lines += [
        f"  task role: {family.role_name} (path {ROLE_PATH}, {family.role_arn})",
        "  tags: " + ", ".join(f"{key}={value}" for key, value in sorted(family.tags.items())),
        f"  permissions boundary: {family.boundary_arn or 'none'}",
        "  policy document:",
        *_json(family.policy_document),
        "  trust policy:",
        *_json(family.trust_policy),
        f"  new revision: {_short(family.derives_from)} with taskRoleArn {family.role_arn}",
        "  services that move: " + (", ".join(map(_short, family.services)) or "none"),
        "  tasks to replace: " + (", ".join(map(_short, family.tasks)) or "none"),
    ]
    if family.also_running:
        lines.append(
            "  also running (older revisions, keep the host role until replaced): "
            + ", ".join(map(_short, family.also_running))
        )
    return lines


def _json(document: Mapping[str, Any]) -> list[str]:
    return [INDENT + line for line in json.dumps(document, indent=2).splitlines()]


def _short(arn: str) -> str:
    return Arn.parse(arn).resource_id
