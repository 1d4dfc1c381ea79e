"""The `rolewarden` command.

Exit codes of `scan`: 0 no finding at or above --fail-on, 1 a finding at or above it,
2 an error (bad arguments, bad settings, no credentials, AWS unreachable or answering
with an error), or an incomplete scan without such a finding (some resources could not
be read: an account RoleWarden could not see is not a clean account). `remediate`,
`restore` and `journal`: see cli/remediation.py; `migrate`: cli/migrate.py. The README
has them all in one table.

An error is one line on stderr, never a traceback; what the command prints is escaped
(output.printable) and a closed pipe ends it quietly (output.emit).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from rolewarden.aws.clients import AwsClients, session_from_environment
from rolewarden.aws.errors import InventoryError
from rolewarden.cli.migrate import add_parser as add_migrate_parser
from rolewarden.cli.migrate import run_migrate
from rolewarden.cli.output import emit, printable, render_table
from rolewarden.cli.remediation import (
    CommandError,
    add_parsers,
    run_journal,
    run_remediate,
    run_restore,
)
from rolewarden.evaluation.account import ScanResult, scan_account
from rolewarden.evaluation.resource import ResourceArnError
from rolewarden.migration.plan import MigrationRefusedError
from rolewarden.observability import for_the_command_line
from rolewarden.remediation.journal import JournalError
from rolewarden.rules.ids import RULE_IDS
from rolewarden.rules.model import Severity
from rolewarden.settings import REGION_PATTERN, Settings, SettingsError
from rolewarden.settings.baseline_policies import check_extra_baseline_policies

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """A command-line argument is wrong; the message says which."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    with for_the_command_line():
        return _run(parser, args)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        if args.command in ("scan", "remediate", "restore", "journal", "migrate"):
            _check_settings(args)
        if args.command == "scan":
            return _scan(args)
        if args.command in ("remediate", "restore", "migrate"):
            session = _session()
            regions = _regions(args.region, Settings.from_env(), session)
            run = {"remediate": run_remediate, "restore": run_restore, "migrate": run_migrate}
            return run[args.command](args, session, regions)
        if args.command == "journal":
            return run_journal(args, _session())
        if args.command == "demo":
            from rolewarden.demo.run import run_demo  # noqa: PLC0415 - moto only for the demo

            return int(run_demo())
    except (
        UsageError,
        SettingsError,
        InventoryError,
        CommandError,
        JournalError,
        ResourceArnError,
        MigrationRefusedError,
    ) as error:
        _error(str(error))
        return EXIT_ERROR
    except (BotoCoreError, ClientError, ResponseParserError) as error:
        _error(f"AWS error: {aws_error(error)}")
        return EXIT_ERROR
    except Exception:  # a bug: say so, and never exit with the "findings" code
        traceback.print_exc()
        return EXIT_ERROR
    parser.print_help(sys.stderr)
    return EXIT_ERROR


def aws_error(error: BotoCoreError | ClientError | ResponseParserError) -> str:
    """What went wrong, without the response body botocore appends to a parse error."""
    if isinstance(error, ResponseParserError):
        first = str(error).strip().splitlines()[0].rstrip(":")
        return f"an answer that is not an AWS response (a proxy, or AWS_ENDPOINT_URL?): {first}"
    return str(error)


def _error(message: str) -> None:
    print(f"rolewarden: {printable(message.strip())}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rolewarden",
        description="Find EC2 instances and ECS tasks that get the wrong AWS credentials.",
    )
    commands = parser.add_subparsers(dest="command")
    scan = commands.add_parser(
        "scan", help="scan the account (honours AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL)"
    )
    scan.add_argument(
        "--region",
        action="append",
        help="region to scan (repeatable); default ROLEWARDEN_REGIONS, else the current region",
    )
    scan.add_argument(
        "--rules", help="comma-separated rule ids (default: every rule not set to off)"
    )
    scan.add_argument("--output", choices=("table", "json"), default="table")
    scan.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        default=Severity.LOW.value,
        help="exit 1 when a finding is at or above this severity (default: low, any finding)",
    )
    add_parsers(commands)
    add_migrate_parser(commands)
    commands.add_parser("demo", help="run RoleWarden end to end on an embedded AWS emulator")
    return parser


def _scan(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    rule_ids = _rule_ids(args.rules, settings)
    session = _session()
    regions = _regions(args.region, settings, session)
    result = scan_account(session, regions, settings, rule_ids)
    print_result(result, args.output)
    code = exit_code(result, Severity(args.fail_on))
    if code == EXIT_ERROR:
        _error(f"scan incomplete: {len(result.errors)} read error(s), see the summary")
    return code


def _check_settings(args: argparse.Namespace) -> None:
    """Warn of what the settings ignore; where a change could follow, an unknown
    ROLEWARDEN_* variable is an error (a misspelled kill switch must never apply)."""
    changes = getattr(args, "apply", False) or getattr(args, "journal_command", None) == (
        "create-table"
    )
    settings = Settings.from_env(refuse_unknown=changes)
    for warning in settings.warnings:
        print(f"rolewarden: warning: {warning}", file=sys.stderr)
    # Every command but `journal` judges with the baseline.
    if settings.extra_baseline_policy_arns and args.command != "journal":
        check_extra_baseline_policies(settings, AwsClients(_session()))


def _session() -> boto3.Session:
    try:
        return session_from_environment()
    except BotoCoreError as error:  # e.g. AWS_PROFILE names a profile that does not exist
        raise UsageError(str(error)) from error


def _regions(given: list[str] | None, settings: Settings, session: boto3.Session) -> list[str]:
    regions = (
        given or list(settings.regions) or ([session.region_name] if session.region_name else [])
    )
    if not regions:
        raise UsageError("no region: pass --region or set AWS_REGION (or ROLEWARDEN_REGIONS)")
    bad = [region for region in regions if not REGION_PATTERN.match(region)]
    if bad:
        raise UsageError(f"not a region name: {', '.join(bad)}")
    return regions


def _rule_ids(text: str | None, settings: Settings) -> list[str]:
    if text is None:
        return settings.enabled_rules()
    wanted = [item.strip() for item in text.split(",") if item.strip()]
    if not wanted:  # `--rules "$RULES"` with RULES unset must not scan nothing and pass
        raise UsageError(
            f"--rules {text!r} names no rule: give comma-separated rule ids "
            f"(known: {', '.join(RULE_IDS)}), or leave --rules out for every rule not off"
        )
    unknown = [rule for rule in wanted if rule not in RULE_IDS]
    if unknown:
        raise UsageError(f"unknown rule id(s): {', '.join(unknown)} (known: {', '.join(RULE_IDS)})")
    return wanted


def print_result(result: ScanResult, output: str) -> None:
    if output == "json":
        emit(json.dumps(result.as_json(), indent=2, default=str))
    else:
        emit(render_table(result))


def exit_code(result: ScanResult, fail_on: Severity) -> int:
    if any(finding.severity.rank >= fail_on.rank for finding in result.findings):
        return EXIT_FINDINGS
    return EXIT_ERROR if result.errors else EXIT_OK
