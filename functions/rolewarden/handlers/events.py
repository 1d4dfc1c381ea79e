"""EventBridge event evaluator: CloudTrail calls that change credentials, ECS task starts.

A repeated delivery of the same event is handled once (triggers/events.py says what is
done with it). Findings of rules in remediate mode are handed to the remediate function:
this function changes nothing itself.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from rolewarden.handlers.cold_start import loading

with loading():
    from rolewarden.evaluation.cloudtrail import TRIGGER_EVENT
    from rolewarden.handlers.idempotency import once
    from rolewarden.handlers.malformed import reject
    from rolewarden.observability import lambda_handler
    from rolewarden.triggers.events import evaluate_event
    from rolewarden.triggers.wiring import Container, Wiring, this_container


@lambda_handler
def handler(
    event: dict[str, Any], context: LambdaContext, container: Container | None = None
) -> dict[str, Any]:
    wiring = Wiring.for_detection(container or this_container())
    try:
        parsed = TRIGGER_EVENT.validate_python(event)
    except ValidationError as error:
        return reject("EventBridge event", error)
    return once(wiring, parsed.id, lambda: evaluate_event(wiring, parsed), context)
