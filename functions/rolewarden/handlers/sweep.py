"""Scheduled sweep: the whole account, in each region RoleWarden covers (triggers/sweep.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from rolewarden.handlers.cold_start import loading

with loading():
    from rolewarden.observability import lambda_handler
    from rolewarden.triggers.sweep import sweep
    from rolewarden.triggers.wiring import Container, Wiring, this_container


@lambda_handler
def handler(
    event: dict[str, Any], context: LambdaContext, container: Container | None = None
) -> dict[str, Any]:
    wiring = Wiring.for_detection(container or this_container())
    return sweep(wiring, context.aws_request_id)
