"""Remediate function: a person (or RoleWarden's own event and sweep functions) asks it
to remediate a finding or restore a journal entry, by direct invoke.

Lambda does not say who invoked it, so the payload names the requester (`requested_by`);
CloudTrail's Invoke record holds the caller's identity. Dry run unless asked otherwise.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from rolewarden.handlers import runtime
from rolewarden.handlers.idempotency import once
from rolewarden.handlers.malformed import reject
from rolewarden.observability import count, logger, metrics, tracer
from rolewarden.remediate import RemediationService, act_on, journal_of
from rolewarden.remediation.payload import RemediatePayload


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.settings_for_changes()
    try:
        payload = RemediatePayload.model_validate(event)
    except ValidationError as error:
        return reject("remediate payload", error)
    logger.info("remediation requested", request=payload.model_dump(exclude_none=True))

    def act() -> dict[str, Any]:
        service = _service()
        outcome = act_on(service, payload)
        count(f"Remediate.{outcome.status.value}")
        runtime.alerts().remediations(
            [outcome], service.account, runtime.home_region(), automatic=payload.automatic
        )
        return outcome.as_json()

    if payload.automatic and payload.event_id:  # a retried delivery changes nothing twice
        key = f"{payload.event_id}|{payload.rule}|{payload.resource_arn}"
        return once(key, act, context)
    return act()


def _service() -> RemediationService:
    clients = runtime.clients()
    settings = runtime.settings()
    journal = journal_of(clients, settings.journal_table)
    return RemediationService(clients, settings, runtime.regions(), journal, cli=False)
