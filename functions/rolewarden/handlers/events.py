"""EventBridge event evaluator: CloudTrail calls that change credentials, ECS task starts.

Evaluates only the resources the call touched; IAM calls re-evaluate the role's hosts in
every region RoleWarden covers. A repeated delivery of the same event is handled once.
An event of another account is refused before anything is read or announced.
Findings of rules in remediate mode are handed to the remediate function (this function
changes nothing itself).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from rolewarden.evaluation.cloudtrail import (
    TRIGGER_EVENT,
    CloudTrailEvent,
    Skip,
    TriggerEvent,
    exemption_changes,
    request_fallback,
    targets_of,
)
from rolewarden.evaluation.targets import evaluate_targets
from rolewarden.handlers import runtime
from rolewarden.handlers.idempotency import once
from rolewarden.handlers.malformed import refuse_foreign_account, reject
from rolewarden.notify.alerts import AlertSink
from rolewarden.observability import count, logger, metrics, traced
from rolewarden.remediation.automatic import remediate_automatically


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.settings()
    alerts = runtime.alerts()  # a findings table not the stack's stops start-up
    try:
        parsed = TRIGGER_EVENT.validate_python(event)
    except ValidationError as error:
        return reject("EventBridge event", error)
    return once(parsed.id, lambda: _evaluate(parsed, alerts), context)  # repeats: once


def _evaluate(parsed: TriggerEvent, alerts: AlertSink) -> dict[str, Any]:
    settings = runtime.settings()
    changes, targets = exemption_changes(parsed), targets_of(parsed)
    # Only an event with something to read or announce needs to know whose it is.
    if (changes or not isinstance(targets, Skip)) and (
        own := runtime.own_account()
    ) != parsed.account:
        return refuse_foreign_account(parsed.account, own)
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
        runtime.clients(),
        targets,
        runtime.scope(parsed.account, region),
        runtime.rule_context(),
        settings.enabled_rules(),
        runtime.context_cache(),
    )
    alerts.findings(result.findings, trigger=f"event:{parsed.id}")
    alerts.resolved(result.evaluations)
    count("EvaluationErrors", len(result.errors))
    remediations = remediate_automatically(
        result.findings,
        settings,
        runtime.dispatcher(parsed.account, alerts),
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
