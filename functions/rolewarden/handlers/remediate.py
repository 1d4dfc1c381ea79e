"""Remediate function: a person (or RoleWarden's own event and sweep functions) asks it
to remediate a finding or restore a journal entry, by direct invoke.

A direct invoke does not say who invoked it, so the payload names the requester
(`requested_by`), journaled and alerted as self-declared (CloudTrail's Invoke record holds
the caller's identity). Through a Function URL with IAM auth, AWS names the caller
(requestContext.authorizer.iam): that ARN is the actor. Dry run unless asked otherwise.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from rolewarden.handlers.cold_start import loading

with loading():
    from rolewarden.handlers.idempotency import once
    from rolewarden.handlers.malformed import reject
    from rolewarden.observability import lambda_handler, logger
    from rolewarden.remediation.payload import RemediatePayload
    from rolewarden.triggers.remediate import refused_settings, remediate
    from rolewarden.triggers.wiring import Container, Wiring, this_container


@lambda_handler
def handler(
    event: dict[str, Any], context: LambdaContext, container: Container | None = None
) -> dict[str, Any]:
    wiring = Wiring.for_changes(container or this_container())
    try:
        body, caller_arn = unwrap(event)
        payload = RemediatePayload.model_validate(body)
    except (ValidationError, ValueError) as error:
        return reject("remediate payload", error)
    logger.info(
        "remediation requested", request=payload.model_dump(exclude_none=True), caller=caller_arn
    )
    if refusal := refused_settings(wiring):
        return refusal
    if payload.automatic and payload.event_id:  # a retried delivery changes nothing twice
        key = f"{payload.event_id}|{payload.rule}|{payload.resource_arn}"
        return once(wiring, key, lambda: remediate(wiring, payload, caller_arn), context)
    return remediate(wiring, payload, caller_arn)


def unwrap(event: dict[str, Any]) -> tuple[Any, str | None]:
    """The payload, and the caller's ARN when AWS vouches for it: a Function URL request
    with IAM auth carries it in requestContext.authorizer.iam; a direct invoke does not."""
    context = event.get("requestContext")
    if not isinstance(context, dict) or "body" not in event:
        return event, None
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as error:
        raise ValueError(f"the request body is not JSON: {error}") from error
    iam = (context.get("authorizer") or {}).get("iam") or {}
    caller = iam.get("userArn")
    if isinstance(payload, dict) and caller and "requested_by" not in payload:
        payload = {**payload, "requested_by": caller}
    return payload, str(caller) if caller else None
