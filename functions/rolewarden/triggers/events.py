"""An EventBridge event (a CloudTrail call that changes credentials, an ECS task start):
evaluate what it touched, alert, hand remediate-mode findings over.

IAM calls re-evaluate the role's hosts in every region RoleWarden covers. An event of
another account is refused before anything is read or announced.
"""

from __future__ import annotations

from typing import Any

from rolewarden.evaluation.cloudtrail import (
    CloudTrailEvent,
    Skip,
    TriggerEvent,
    exemption_changes,
    request_fallback,
    targets_of,
)
from rolewarden.evaluation.targets import evaluate_targets
from rolewarden.observability import count, logger
from rolewarden.remediation.automatic import remediate_automatically
from rolewarden.triggers.wiring import Wiring


def evaluate_event(wiring: Wiring, parsed: TriggerEvent) -> dict[str, Any]:
    settings, alerts = wiring.settings, wiring.alerts()
    changes, targets = exemption_changes(parsed), targets_of(parsed)
    # Only an event with something to read or announce needs to know whose it is.
    if (changes or not isinstance(targets, Skip)) and wiring.account != parsed.account:
        return refuse_foreign_account(parsed.account, wiring.account)
    alerts.exemption_changes(changes, parsed.account, parsed.region)
    if isinstance(targets, Skip):
        details = {"reason": targets.reason, "event_id": parsed.id, **targets.details}
        logger.info("event skipped", extra=details)
        count("EventsSkipped")
        return {"status": "skipped", "reason": targets.reason}
    if fallback := request_fallback(parsed):
        logger.warning("resources named by the request only", extra=fallback)
    # IAM is global: judge it from the function's region, across every covered region.
    region = None if targets.touches_iam else parsed.region
    result = evaluate_targets(
        wiring.clients,
        targets,
        wiring.scope(parsed.account, region),
        wiring.rule_context(),
        settings.enabled_rules(),
        wiring.context_cache,
    )
    alerts.findings(result.findings, trigger=f"event:{parsed.id}")
    alerts.resolved(result.evaluations)
    count("EvaluationErrors", len(result.errors))
    remediations = remediate_automatically(
        result.findings,
        settings,
        wiring.dispatcher(parsed.account),
        actor=f"event:{parsed.id}",
        event_id=parsed.id,
        caused_by=caused_by(parsed),
    )
    return {
        "status": "evaluated",
        "evaluations": len(result.evaluations),
        "findings": [finding.finding_id for finding in result.findings],
        "remediations": remediations,
        "scan_errors": [error.as_json() for error in result.errors],
    }


def caused_by(parsed: TriggerEvent) -> str:
    """Who caused what the event shows: the call's caller as CloudTrail recorded it."""
    if isinstance(parsed, CloudTrailEvent):
        return parsed.detail.actor
    return f"{parsed.detail_type} {parsed.id} (no caller: an AWS state change)"


def refuse_foreign_account(event_account: str, own_account: str) -> dict[str, Any]:
    """An event of another account: this function can read only its own account, so
    nothing is evaluated (until the organization mode), and nothing names either account
    wrongly."""
    reason = (
        f"event of account {event_account}, but this function reads account {own_account}: "
        "it has no credentials for that account, so nothing is evaluated"
    )
    logger.error(
        "event of another account refused",
        event_account=event_account,
        own_account=own_account,
        reason=reason,
    )
    count("ForeignAccountEvents")
    return {"status": "refused", "reason": reason}
