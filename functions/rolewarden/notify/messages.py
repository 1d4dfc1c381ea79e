"""What RoleWarden says, as JSON: one builder per kind of notice (pure; no AWS).

A person reading an alert needs: what is wrong, where (with a console link), the key
evidence, what RoleWarden did or why it did not, and the command to go on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rolewarden.aws.arn import Arn, MalformedArnError
from rolewarden.notify.findings_state import Due
from rolewarden.notify.notice import Kind, Notice, subject_line
from rolewarden.remediation.journal import Status
from rolewarden.remediation.outcome import Outcome
from rolewarden.rules.exemptions import EXEMPT_RULES_TAG
from rolewarden.rules.ids import INSTANCE_ROLE_APP_PERMISSIONS
from rolewarden.rules.model import Finding

if TYPE_CHECKING:  # the event models: only the event function needs them at run time
    from rolewarden.evaluation.cloudtrail import ExemptionChange


def finding_notice(finding: Finding, trigger: str) -> Notice:
    remediation = finding.remediation
    message: dict[str, Any] = {
        "kind": Kind.FINDING.value,
        "trigger": trigger,
        "finding": finding.as_json(),
        "console_url": console_url(finding.resource_arn),
        "command": (
            f"rolewarden remediate {finding.finding_id} --region {finding.region}"
            if remediation
            else None
        ),
    }
    migrate = migrate_command(finding)
    if migrate:
        message["migrate_command"] = migrate
    return Notice(
        kind=Kind.FINDING,
        subject=subject_line(f"RoleWarden {finding.severity.value.upper()}: {finding.title}"),
        message=message,
        rule=finding.rule,
        severity=finding.severity.value,
        account=finding.account,
        region=finding.region,
        action=remediation.action if remediation else None,
    )


def migrate_command(finding: Finding) -> str | None:
    """A host role whose permissions tasks use through IMDS: the way out is a task role of
    their own per family, which `rolewarden migrate` plans (its outage guard holds the
    remediation back until then)."""
    if finding.rule != INSTANCE_ROLE_APP_PERMISSIONS or not finding.evidence.get(
        "on_its_credentials"
    ):
        return None
    role = finding.evidence["role"]["name"]
    return f"rolewarden migrate {role} --region {finding.region}"


def remediation_notice(outcome: Outcome, account: str, region: str) -> Notice:
    """A remediation applied, failed or refused, or a restore."""
    status = outcome.status.value
    subject = outcome.subject
    resource = subject.resource_arn or ""
    what = "restore" if subject.restore is not None else "remediation"
    undo = [e.journal_id for e in outcome.journal if e.status is Status.VERIFIED]
    command = (
        f"rolewarden restore {' '.join(undo)} --apply" if undo and what == "remediation" else None
    )
    return Notice(
        kind=Kind.REMEDIATION,
        subject=subject_line(f"RoleWarden {what} {status}: {resource}"),
        message={
            "kind": Kind.REMEDIATION.value,
            "outcome": outcome.as_json(),
            "account": account,
            "region": region,
            "console_url": console_url(resource) if resource else None,
            "command": command,
        },
        rule=subject.rule,
        account=account,
        region=region,
        action=status,
    )


def digest_notice(summary: dict[str, Any], due: Due, resolved: list[str]) -> Notice:
    """One per sweep: the account's state, and what changed since the last sweep."""
    counts = summary["findings_by_severity"]
    open_ = ", ".join(f"{n} {level}" for level, n in counts.items() if n) or "none"
    return Notice(
        kind=Kind.DIGEST,
        subject=subject_line(
            f"RoleWarden sweep of {summary['account']}: {summary['findings']} findings "
            f"({open_}), {len(due.new)} new, {len(resolved)} resolved"
        ),
        message={
            "kind": Kind.DIGEST.value,
            "summary": summary,
            "new_findings": [finding.finding_id for finding in due.new],
            "reminded_findings": [finding.finding_id for finding in due.reminders],
            "not_sent_one_by_one": due.held_back,
            "resolved_findings": resolved,
        },
        account=summary["account"],
        region=",".join(summary["regions"]),
    )


def exemption_notice(change: ExemptionChange, account: str, region: str) -> Notice:
    until = f" until {change.until}" if change.until else ""
    what = _exemption_change_text(change)
    rules = f" for {' '.join(change.rules)}" if change.rules and what == change.change else ""
    return Notice(
        kind=Kind.EXEMPTION,
        subject=subject_line(
            f"RoleWarden exemption {what} on {change.resource}{until}{rules} by {change.actor}"
        ),
        message={
            "kind": Kind.EXEMPTION.value,
            "change": change.change,
            "description": what,
            "resource": change.resource,
            "actor": change.actor,
            "until": change.until,
            "reason": change.reason,
            "rules": list(change.rules) if change.rules is not None else None,
            "tags": list(change.tags),
            "event_name": change.event_name,
            "account": account,
            "region": region,
        },
        account=account,
        region=region,
        action=change.change,
    )


def _exemption_change_text(change: ExemptionChange) -> str:
    """What the change does to the accepted risk: `rolewarden:exempt-rules` alone narrows an
    exemption to some rules (added) or widens it to every rule (removed)."""
    if change.tags != (EXEMPT_RULES_TAG,):
        return change.change
    if change.change == "removed":
        return "widened to every rule"
    return f"narrowed to {' '.join(change.rules)}" if change.rules else change.change


def console_url(arn: str) -> str | None:
    """The AWS console page of an instance, role, task definition or task (aws partition)."""
    try:
        parsed = Arn.parse(arn)
    except MalformedArnError:
        return None
    if parsed.partition != "aws":
        return None
    service, region = parsed.service, parsed.region
    kind, rest = parsed.resource_type, parsed.resource_id
    if service == "ec2" and kind == "instance":
        return (
            f"https://{region}.console.aws.amazon.com/ec2/home?region={region}"
            f"#InstanceDetails:instanceId={rest}"
        )
    if service == "iam" and kind == "role":
        return f"https://console.aws.amazon.com/iam/home#/roles/details/{parsed.name}"
    if service == "ecs" and kind == "task-definition":
        family, _, revision = rest.partition(":")
        return (
            f"https://{region}.console.aws.amazon.com/ecs/v2/task-definitions/"
            f"{family}/{revision}?region={region}"
        )
    if service == "ecs" and kind == "task" and parsed.cluster:
        return (
            f"https://{region}.console.aws.amazon.com/ecs/v2/clusters/{parsed.cluster}/tasks/"
            f"{parsed.name}?region={region}"
        )
    return None
