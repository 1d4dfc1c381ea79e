"""`rolewarden remediate`, `restore` and `journal`: a person fixing, or undoing, by hand.

Plans by default; changes only with --apply (and never under ROLEWARDEN_DRY_RUN). The
journal is required for any change: ROLEWARDEN_JOURNAL_TABLE or --journal-table, and
ROLEWARDEN_JOURNAL_KEY, the KMS HMAC key that signs its entries (`journal create-table`
makes both, the table writable by its creator only). `journal` lists every entry with
what its signature says (verified, missing, invalid; unchecked without a key).
Exit codes: 0 planned, applied, restored or nothing to do; 1 refused on --apply (a guard,
a mode, no journal: the message says which); 2 an error (a finding id that is not one, a
journal id the journal does not hold...), or a change that failed; 3 a plan that --apply
would refuse (nothing changed either way: a CI job reading a plan tells it from success
and from a refused change).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from rolewarden.aws.arn import Arn
from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.cli.output import emit, printable, printable_lines
from rolewarden.migration.apply import is_migration_id, migration_steps
from rolewarden.remediation.change import ActionError
from rolewarden.remediation.journal import (
    WRITE_ACTIONS,
    CheckedEntry,
    Journal,
    Status,
    create_table,
    writer_policy,
    writer_userid,
)
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.remediation.registry import ACTIONS
from rolewarden.remediation.request import Request
from rolewarden.remediation.service import RemediationService, journal_of
from rolewarden.remediation.signing import JournalSigner, SigningError, create_key
from rolewarden.rules.ids import RULE_IDS
from rolewarden.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


EXIT_OK, EXIT_REFUSED, EXIT_ERROR, EXIT_PLAN_REFUSED = 0, 1, 2, 3
FINDING_ID = re.compile(r"[0-9a-f]{16}")
ROOT_KEY = (
    "created as the root user: only the root user may write this journal, and the key's "
    "policy names the account, so any principal whose IAM policies allow kms:GenerateMac "
    "may sign with it; create the journal as a role or user instead"
)


class CommandError(Exception):
    """A remediation command cannot run as given; the message says why."""


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    remediate = commands.add_parser(
        "remediate", help="plan (or with --apply, make) the fix of one finding"
    )
    remediate.add_argument("finding_id", nargs="?", help="a finding id from `rolewarden scan`")
    remediate.add_argument("--rule", choices=RULE_IDS, help="with --resource, instead of an id")
    remediate.add_argument("--resource", metavar="ARN", help="the resource's ARN")
    remediate.add_argument("--action", choices=sorted(ACTIONS), help="only this action")
    remediate.add_argument("--task-role", metavar="ARN", help="for a new task definition revision")
    remediate.add_argument(
        "--update-service",
        action="store_true",
        help="also move the services running the old revision to the new one",
    )
    _change_flags(remediate)
    restore = commands.add_parser(
        "restore", help="undo a journaled change, or every step of a migration"
    )
    restore.add_argument("journal_ids", nargs="+", metavar="journal-id|migration-id")
    _change_flags(restore)
    journal = commands.add_parser("journal", help="list the changes RoleWarden made")
    journal.add_argument("--output", choices=("table", "json"), default="table")
    journal.add_argument("--journal-table", metavar="NAME")
    journal_commands = journal.add_subparsers(dest="journal_command")
    create = journal_commands.add_parser(
        "create-table", help="create a journal table (the template's schema), for the CLI"
    )
    create.add_argument("name")


def _change_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--apply", action="store_true", help="make the change (default: plan)")
    parser.add_argument("--force", action="store_true", help="override the guards that allow it")
    parser.add_argument("--journal-table", metavar="NAME")
    parser.add_argument("--region", action="append", help="region(s) to evaluate (repeatable)")
    parser.add_argument("--output", choices=("table", "json"), default="table")


def run_remediate(args: argparse.Namespace, session: boto3.Session, regions: Sequence[str]) -> int:
    by_resource = args.rule is not None or args.resource is not None
    if args.finding_id is not None and by_resource:
        raise CommandError("name a finding id, or --rule and --resource, not both")
    if args.finding_id is None and not by_resource:
        raise CommandError("name a finding id, or --rule and --resource")
    if by_resource and (args.rule is None or args.resource is None):
        raise CommandError("--rule and --resource go together")
    finding_id = None if args.finding_id is None else finding_id_of(args.finding_id)
    service, clients, _journal = _service(args, session, regions)
    request = Request(
        actor=caller(clients),
        apply=args.apply,
        force=args.force,
        action=args.action,
        task_role_arn=args.task_role,
        update_service=args.update_service,
    )
    if finding_id is not None:
        outcome = service.by_finding_id(finding_id, request)
    else:
        outcome = service.by_resource(args.rule, args.resource, request)
    return report([outcome], args.output, applying=args.apply)


def finding_id_of(text: str) -> str:
    """A finding id as `scan` prints it, checked before the account is read for it."""
    finding_id = text.strip().lower()
    if not FINDING_ID.fullmatch(finding_id):
        raise CommandError(
            f"not a finding id: {text!r} (16 hex digits, as `rolewarden scan` prints them)"
        )
    return finding_id


def run_restore(args: argparse.Namespace, session: boto3.Session, regions: Sequence[str]) -> int:
    service, clients, journal = _service(args, session, regions)
    journal_ids = list(args.journal_ids)
    if journal is not None:  # without one, the restore itself refuses and says how to set it
        journal_ids = _with_migration_steps(journal, journal_ids)
        _all_journaled(journal, journal_ids)
    request = Request(actor=caller(clients), apply=args.apply, force=args.force)
    outcomes = [service.restore(journal_id, request) for journal_id in journal_ids]
    return report(outcomes, args.output, applying=args.apply)


def _with_migration_steps(journal: Journal, journal_ids: Sequence[str]) -> list[str]:
    """A migration id stands for its steps, newest first (a migration without steps is an
    error, as an unknown journal id is)."""
    expanded: list[str] = []
    for journal_id in journal_ids:
        if not is_migration_id(journal_id):
            expanded.append(journal_id)
            continue
        steps = migration_steps(journal, journal_id)
        if not steps:
            raise CommandError(
                f"no step of migration {journal_id} in table {journal.table}; nothing was restored"
            )
        expanded += steps
    return expanded


def _all_journaled(journal: Journal, journal_ids: Sequence[str]) -> None:
    """Every id named is in the journal, before any of them is restored (a typo in the
    third id must not leave the first two undone and the third not)."""
    missing = [journal_id for journal_id in journal_ids if journal.get(journal_id) is None]
    if missing:
        raise CommandError(
            f"no journal entry {', '.join(missing)} in table {journal.table} "
            "(`rolewarden journal` lists them); nothing was restored"
        )


def run_journal(args: argparse.Namespace, session: boto3.Session) -> int:
    clients = AwsClients(session)
    if args.journal_command == "create-table":
        if Settings.from_env().dry_run:
            raise CommandError("ROLEWARDEN_DRY_RUN=true: read-only, no table created")
        created = create_signed_table(clients, args.name)
        emit(render_created(args.name, created))
        if created.writer.endswith(":root"):
            warn(ROOT_KEY)
        return EXIT_OK
    settings = Settings.from_env()
    table = args.journal_table or settings.journal_table
    if not table:
        raise CommandError("no journal table: set ROLEWARDEN_JOURNAL_TABLE or pass --journal-table")
    key = settings.journal_key
    signer = JournalSigner(clients.client("kms"), key) if key else None
    checked = Journal(clients.client("dynamodb"), table, signer).checked_entries()
    if signer is None and checked:
        warn("no journal key (ROLEWARDEN_JOURNAL_KEY): signatures were not checked")
    if args.output == "json":
        emit(json.dumps([listed.as_json() for listed in checked], indent=2, default=str))
    else:
        emit(render_journal(checked))
    return EXIT_OK


@dataclass(frozen=True)
class CreatedJournal:
    """What `journal create-table` made, besides the table."""

    key: str  # the ARN of the HMAC key that signs its entries
    writer: str  # the caller's principal, the only one the key lets sign
    userid: str  # its `aws:userid` pattern, the only one the table lets write items


def create_signed_table(clients: AwsClients, name: str) -> CreatedJournal:
    """A journal table and the HMAC key that signs its entries: only this caller may sign
    with the key, and write the table's items, as only the remediate role may in the
    stack."""
    account, partition = clients.account_and_partition()
    try:
        writer = principal_of(clients.client("iam"), caller(clients))
        key = create_key(clients.client("kms"), name, account, partition, writer)
    except (ActionError, SigningError) as error:
        raise CommandError(f"no journal table created: {error}") from error
    userid = writer_userid(caller(clients), clients.caller_user_id())
    create_table(clients.client("dynamodb"), name, writer_policy(writer, userid))
    return CreatedJournal(key, writer, userid)


def render_created(name: str, created: CreatedJournal) -> str:
    denied = ", ".join(action.removeprefix("dynamodb:") for action in WRITE_ACTIONS)
    return printable_lines(
        [
            f"created journal table {name} and its signing key {created.key}; use them with "
            f"ROLEWARDEN_JOURNAL_TABLE={name} ROLEWARDEN_JOURNAL_KEY={created.key}",
            f"only {created.writer} (aws:userid {created.userid}) may write its entries: "
            f"the table's policy denies {denied} to every other caller; remediate and "
            "restore as that caller",
        ]
    )


def warn(message: str) -> None:
    print(f"rolewarden: warning: {printable(message)}", file=sys.stderr)


def principal_of(iam: IAMClient, caller_arn: str) -> str:
    """A key policy names a role, not one of its sessions (the next session has another
    name): an assumed role's session ARN becomes its role's ARN, path included."""
    caller = Arn.parse(caller_arn)
    kind, rest = caller.resource_type, caller.resource_id
    if kind != "assumed-role":
        return caller_arn
    role = call(ActionError, "iam:GetRole", iam.get_role, RoleName=rest.split("/", 1)[0])["Role"]
    return str(role["Arn"])


def caller(clients: AwsClients) -> str:
    """The person running the CLI, as AWS knows them (the journal's actor)."""
    return clients.caller_arn()


def _service(
    args: argparse.Namespace, session: boto3.Session, regions: Sequence[str]
) -> tuple[RemediationService, AwsClients, Journal | None]:
    settings = Settings.from_env()
    if args.journal_table:
        settings = settings.model_copy(update={"journal_table": args.journal_table})
    clients = AwsClients(session, home_region=regions[0])
    journal = journal_of(clients, settings.journal_table, settings.journal_key)
    return RemediationService(clients, settings, regions, journal, cli=True), clients, journal


def report(outcomes: list[Outcome], output: str, *, applying: bool) -> int:
    if output == "json":
        data = [outcome.as_json() for outcome in outcomes]
        emit(json.dumps(data[0] if len(data) == 1 else data, indent=2, default=str))
    else:
        emit("\n\n".join(render_outcome(outcome) for outcome in outcomes))
    statuses = {outcome.status for outcome in outcomes}
    if OutcomeStatus.FAILED in statuses:
        return EXIT_ERROR
    if OutcomeStatus.REFUSED in statuses:
        return EXIT_REFUSED if applying else EXIT_PLAN_REFUSED
    return EXIT_OK


def render_outcome(outcome: Outcome) -> str:
    subject = outcome.subject
    named = (subject.finding_id or subject.restore, subject.rule, subject.resource_arn)
    lines = ["  ".join([outcome.status.value.upper(), *(part for part in named if part)])]
    lines += [f"  - {reason}" for reason in outcome.reasons]
    if outcome.plan and not outcome.journal:
        lines.append("  plan:")
        lines += [f"    {change.summary}" for change in outcome.plan]
    for entry in outcome.journal:
        lines.append(f"  journal {entry.journal_id}: {entry.change.summary} [{entry.status.value}]")
        if entry.error:
            lines.append(f"    error: {entry.error}")
    undo = [
        e.journal_id for e in outcome.journal if e.status is Status.VERIFIED and not e.restore_of
    ]
    if undo:
        lines.append(f"  to undo: rolewarden restore {' '.join(undo)} --apply")
    if outcome.plan_only:
        lines.append("  to apply: run the same command with --apply")
    return printable_lines(lines)


def render_journal(checked: list[CheckedEntry]) -> str:
    if not checked:
        return "The journal is empty."
    id_width = max(len(listed.entry.journal_id) for listed in checked)
    width = max(len(listed.entry.action) for listed in checked)
    lines = [
        f"{'JOURNAL ID':<{id_width}}  {'STATUS':<9} {'SIGNATURE':<9} {'ACTION':<{width}}  "
        "RESOURCE, BY"
    ]
    for listed in checked:
        entry = listed.entry
        restore = f" (restore of {entry.restore_of})" if entry.restore_of else ""
        forced = " FORCED" if entry.forced else ""
        lines.append(
            f"{entry.journal_id:<{id_width}}  {entry.status.value:<9} "
            f"{listed.signature.value:<9} {entry.action:<{width}}  "
            f"{entry.resource_arn}  by {entry.actor}{restore}{forced}"
        )
    return printable_lines(lines)
