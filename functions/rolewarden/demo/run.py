"""`rolewarden demo`: the product end to end on an embedded AWS emulator, no account needed.

It starts moto's server on 127.0.0.1, seeds an account that breaks every rule next
to compliant resources, and scans it over HTTP with exactly the code path of
`rolewarden scan` (a session from the standard AWS settings). Then a change arrives as
a CloudTrail event, and the event evaluator judges just what it touched. Last, a person
remediates: a guard refuses what would break a running service, a fix is applied and
journaled, and a restore puts the account back as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rolewarden.aws.clients import session_from_environment
from rolewarden.cli.output import render_table
from rolewarden.demo.alerts import TOPIC_NAME, SlackStandIn, set_up_alerts, show_alerts
from rolewarden.demo.builders import seed_demo_account
from rolewarden.demo.emulator import Emulator
from rolewarden.demo.event import ATTACHED_POLICY, attach_role_policy_event, evaluate_event
from rolewarden.demo.remediation import remediation_loop
from rolewarden.evaluation.account import scan_account
from rolewarden.settings import Settings

Say = Callable[[str], None]


def run_demo(say: Say = print) -> int:
    settings = Settings.from_env()
    with Emulator() as emulator:
        emulator.pin_ecs_tasks_running()
        with emulator.export_environment() as environment:
            say(f"AWS emulator (moto) listening on {emulator.endpoint_url}")
            session = session_from_environment()
            region = environment["AWS_REGION"]
            account = seed_demo_account(session)
            say(
                f"Seeded account {account.account_id} in {region}: ECS clusters shop (hosts whose "
                "role holds S3 and DynamoDB permissions, a task without a task role) and payments "
                "(compliant), plain EC2 instances, an exempt one.\n"
            )
            say(f"$ rolewarden scan --region {region}\n")
            result = scan_account(session, [region], settings, settings.enabled_rules())
            say(render_table(result))
            with SlackStandIn() as slack:
                alerts = set_up_alerts(session, slack.url)
                say(
                    f"\nAlerts go to SNS topic {TOPIC_NAME} (a queue is subscribed) and to Slack "
                    "(a local stand-in for the webhook, its URL in Secrets Manager)."
                )
                with _environment(alerts.settings):
                    _an_event_arrives(session, account.account_id, region, settings, say)
                show_alerts(session, alerts, slack, say)
            restored = remediation_loop(session, account, say)
    say("\nDone. Against a real account: AWS_PROFILE=... rolewarden scan --output json")
    return 0 if restored else 1


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The functions read their settings from the environment, as in Lambda."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _an_event_arrives(
    session: Any, account: str, region: str, settings: Settings, say: Say = print
) -> None:
    role = "payments-ecs-host"
    say(
        f"\nAn operator attaches {ATTACHED_POLICY.rsplit('/', 1)[-1]} to {role}, the compliant "
        "host role. CloudTrail reports AttachRolePolicy; the event evaluator judges that role:"
    )
    session.client("iam").attach_role_policy(RoleName=role, PolicyArn=ATTACHED_POLICY)
    outcome = evaluate_event(session, attach_role_policy_event(account, role, ATTACHED_POLICY))
    new = set(outcome.get("findings", []))
    after = scan_account(session, [region], settings, settings.enabled_rules())
    for finding in after.findings:
        if finding.finding_id in new:
            say(f"  {finding.finding_id}  {finding.severity.value.upper()}  {finding.title}")
    if not new:
        say(f"  no finding ({outcome.get('status')}: {outcome.get('reason', '')})")
