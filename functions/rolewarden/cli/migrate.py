"""`rolewarden migrate <host role>`: the plan that moves each family off a host role, with
--apply the move itself (migration/apply.py), and with --finish the removal of the host
role's application permissions once nothing falls back to it (the host-role finding's own
remediation, every guard included), all journaled as one migration that `rolewarden
restore <migration id>` undoes.

Exit codes: 0 a plan (or nothing to move), or a migration applied or finished; 1 --apply
refused (the kill switch, no journal or key, a guard; --finish while something still falls
back to the role); 2 a refusal of the plan (not an ECS host role, no application
permission, a read that failed), a step that failed, or another error; 3 a plan in which
some family is refused (its role name would be invalid or exists already; the others are
planned, and applied with --apply), or a --finish plan that --apply would refuse.
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
from rolewarden.cli.remediation import CommandError, report
from rolewarden.migration.apply import MigrationApplier, MigrationOutcome, migration_of
from rolewarden.migration.plan import ROLE_PATH, FamilyPlan, MigrationPlan
from rolewarden.migration.reader import read_migration_plan
from rolewarden.remediation.outcome import OutcomeStatus
from rolewarden.remediation.request import Request
from rolewarden.remediation.service import RemediationService, journal_of
from rolewarden.rules.ids import INSTANCE_ROLE_APP_PERMISSIONS
from rolewarden.settings import Settings

EXIT_OK, EXIT_REFUSED, EXIT_ERROR, EXIT_PLAN_REFUSED = 0, 1, 2, 3
INDENT = "    "


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = commands.add_parser(
        "migrate", help="plan task roles of their own for the families on a host role"
    )
    migrate.add_argument("host_role", metavar="host-role", help="the host role's name or ARN")
    migrate.add_argument("--region", action="append", help="region(s) to read (repeatable)")
    migrate.add_argument("--output", choices=("table", "json"), default="table")
    migrate.add_argument(
        "--apply", action="store_true", help="create the roles and register the revisions"
    )
    migrate.add_argument(
        "--update-services",
        action="store_true",
        help="with --apply, also move the services to the new revisions",
    )
    migrate.add_argument(
        "--finish",
        action="store_true",
        help="once nothing falls back to the host role, plan (with --apply, make) the removal "
        "of its application permissions",
    )
    migrate.add_argument("--force", action="store_true", help="with --finish: as for remediate")
    migrate.add_argument("--journal-table", metavar="NAME")


def run_migrate(args: argparse.Namespace, session: boto3.Session, regions: Sequence[str]) -> int:
    if args.update_services and (args.finish or not args.apply):
        raise CommandError("--update-services goes with --apply, not with --finish")
    if args.force and not args.finish:
        raise CommandError("--force goes with --finish")
    settings = Settings.from_env()
    if args.journal_table:
        settings = settings.model_copy(update={"journal_table": args.journal_table})
    clients = AwsClients(session, home_region=regions[0])
    plan = read_migration_plan(clients, regions, settings, args.host_role)
    if args.finish:
        return _finish(args, clients, regions, settings, plan)
    if not args.apply:
        _print(plan.as_json(), render_plan(plan), args.output)
        return EXIT_PLAN_REFUSED if plan.refused else EXIT_OK
    journal = journal_of(clients, settings.journal_table, settings.journal_key)
    applier = MigrationApplier(clients, journal, settings)
    request = Request(actor=clients.caller_arn(), apply=True)
    outcome = applier.apply(plan, request, update_services=args.update_services)
    shown = {"plan": plan.as_json(), "migration": outcome.as_json()}
    _print(shown, [*render_plan(plan, applying=True), *render_migration(outcome)], args.output)
    return _exit_code(plan, outcome)


def _finish(
    args: argparse.Namespace,
    clients: AwsClients,
    regions: Sequence[str],
    settings: Settings,
    plan: MigrationPlan,
) -> int:
    """The host role's application permissions removed by the remediation the host-role
    finding proposes, with all of its guards, once no family falls back to the role; its
    journal entries join the migration."""
    if plan.families:
        shown = {
            "host_role": plan.host_role_arn,
            "held_back_by": [f.as_json() for f in plan.families],
        }
        _print(shown, render_held_back(plan), args.output)
        return EXIT_REFUSED if args.apply else EXIT_PLAN_REFUSED
    journal = journal_of(clients, settings.journal_table, settings.journal_key)
    request = Request(
        actor=clients.caller_arn(),
        apply=args.apply,
        force=args.force,
        migration_id=migration_of(journal, plan.host_role_arn) if journal else None,
    )
    service = RemediationService(clients, settings, regions, journal, cli=True)
    outcome = service.by_resource(INSTANCE_ROLE_APP_PERMISSIONS, plan.host_role_arn, request)
    return report([outcome], args.output, applying=args.apply)


def render_held_back(plan: MigrationPlan) -> list[str]:
    lines = [f"Not finished: these still fall back to {plan.host_role_name}'s credentials"]
    for family in plan.families:
        held = [*family.services, *family.tasks]
        lines.append(f"  family {family.family}: " + ", ".join(map(_short, held)))
    lines.append(
        "  move the services (--apply --update-services) and replace the tasks with the "
        "new revisions, then finish"
    )
    return lines


def _print(data: Mapping[str, Any], lines: list[str], output: str) -> None:
    emit(json.dumps(data, indent=2, default=str) if output == "json" else printable_lines(lines))


def _exit_code(plan: MigrationPlan, outcome: MigrationOutcome) -> int:
    if outcome.status is OutcomeStatus.FAILED:
        return EXIT_ERROR
    if outcome.status is OutcomeStatus.REFUSED:
        return EXIT_REFUSED
    return EXIT_PLAN_REFUSED if plan.refused else EXIT_OK


def render_migration(outcome: MigrationOutcome) -> list[str]:
    lines = [f"Migration {outcome.migration_id or '(none)'}: {outcome.status.value}"]
    lines += [f"  - {reason}" for reason in outcome.reasons]
    for entry in outcome.journal:
        lines.append(f"  journal {entry.journal_id}: {entry.change.summary} [{entry.status.value}]")
        if entry.error:
            lines.append(f"    error: {entry.error}")
    if outcome.migration_id:
        lines.append(f"  to undo: rolewarden restore {outcome.migration_id} --apply")
    return lines


def render_plan(plan: MigrationPlan, *, applying: bool = False) -> list[str]:
    shown = "applying it" if applying else "plan only: nothing changed"
    lines = [f"Migration plan for host role {plan.host_role_name} ({shown})"]
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
    for arn, stack in sorted(family.owned_by.items()):
        lines.append(
            f"  managed by CloudFormation stack {stack}: {_short(arn)} (set TaskRoleArn in "
            "the stack too, or its next deploy puts the old one back)"
        )
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
