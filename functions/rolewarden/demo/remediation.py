"""The demo's third act: a person remediates, the account is fixed, then restored.

The same code as `rolewarden remediate`, `journal` and `restore` (each command is shown,
then its output). First the guard: the host role's fix would cut off a task and a service
that use those permissions today, so it is refused and the reason names them. Then an
instance without a profile gets the baseline profile, journaled, and is put back.
"""

from __future__ import annotations

from collections.abc import Callable

import boto3

from rolewarden.aws.clients import AwsClients
from rolewarden.cli.remediation import (
    caller,
    create_signed_table,
    render_created,
    render_journal,
    render_outcome,
)
from rolewarden.demo.builders import (
    SSM_CORE_POLICY_ARN,
    DemoAccount,
    create_instance_profile,
    create_role,
)
from rolewarden.evaluation.account import scan_account
from rolewarden.remediation.request import Request
from rolewarden.remediation.service import RemediationService, journal_of
from rolewarden.rules import ids
from rolewarden.rules.model import finding_id
from rolewarden.settings import Settings

JOURNAL_TABLE = "rolewarden-journal"
BASELINE_PROFILE = "rolewarden-baseline"

Say = Callable[[str], None]


def remediation_loop(session: boto3.Session, account: DemoAccount, say: Say = print) -> bool:
    """Returns whether the account ended as it began (the restore put everything back)."""
    region = account.region
    clients = AwsClients(session, home_region=region)
    iam = session.client("iam")
    create_role(iam, BASELINE_PROFILE, managed_policy_arns=(SSM_CORE_POLICY_ARN,))
    create_instance_profile(iam, BASELINE_PROFILE, BASELINE_PROFILE)
    say(f"\n$ rolewarden journal create-table {JOURNAL_TABLE}")
    created = create_signed_table(clients, JOURNAL_TABLE)
    say(render_created(JOURNAL_TABLE, created))
    key = created.key
    journal = journal_of(clients, JOURNAL_TABLE, key)
    assert journal is not None
    settings = Settings.from_env().model_copy(
        update={
            "journal_table": JOURNAL_TABLE,
            "journal_key": key,
            "baseline_instance_profile": BASELINE_PROFILE,
        }
    )
    say(
        f"With ROLEWARDEN_JOURNAL_TABLE={JOURNAL_TABLE}, ROLEWARDEN_JOURNAL_KEY={key} (the "
        f"key that signs its entries) and ROLEWARDEN_BASELINE_INSTANCE_PROFILE={BASELINE_PROFILE}:"
    )
    service = RemediationService(clients, settings, [region], journal, cli=True)
    person = caller(clients)

    host_role = finding_id(ids.INSTANCE_ROLE_APP_PERMISSIONS, account.shop_host_role_arn)
    say(f"\n$ rolewarden remediate {host_role} --apply")
    say(render_outcome(service.by_finding_id(host_role, Request(person, apply=True))))

    instance = account.legacy_batch_instance_id
    arn = f"arn:aws:ec2:{region}:{account.account_id}:instance/{instance}"
    bare = finding_id(ids.EC2_INSTANCE_WITHOUT_PROFILE, arn)
    before = _open_findings(session, region, settings)
    say(f"\n$ rolewarden remediate {bare} --apply")
    outcome = service.by_finding_id(bare, Request(person, apply=True))
    say(render_outcome(outcome))
    fixed = bare not in _open_findings(session, region, settings)
    say(f"\n$ rolewarden scan  -> finding {bare} {'is gone' if fixed else 'is STILL OPEN'}")

    say("\n$ rolewarden journal")
    say(render_journal(journal.checked_entries()))
    ids_ = " ".join(entry.journal_id for entry in outcome.journal)
    say(f"\n$ rolewarden restore {ids_} --apply")
    for entry in outcome.journal:
        say(render_outcome(service.restore(entry.journal_id, Request(person, apply=True))))
    after = _open_findings(session, region, settings)
    same = after == before
    say(
        f"\n$ rolewarden scan  -> finding {bare} "
        + ("is back: the account is as before" if same else "differs from before the fix")
    )
    return fixed and same


def _open_findings(session: boto3.Session, region: str, settings: Settings) -> set[str]:
    result = scan_account(session, [region], settings, settings.enabled_rules())
    return {finding.finding_id for finding in result.findings}
