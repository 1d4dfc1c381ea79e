"""AWS Config custom rule evaluator: one function for every RoleWarden rule Config can see
(triggers/config_rule.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from rolewarden.handlers.cold_start import loading

with loading():
    from rolewarden.evaluation.config_events import ConfigRuleInvocation
    from rolewarden.evaluation.config_rule import ConfigRuleError
    from rolewarden.handlers.malformed import reject
    from rolewarden.observability import lambda_handler
    from rolewarden.triggers.config_rule import evaluate_config_rule
    from rolewarden.triggers.wiring import Container, Wiring, this_container


@lambda_handler
def handler(
    event: dict[str, Any], context: LambdaContext, container: Container | None = None
) -> dict[str, Any]:
    wiring = Wiring.for_detection(container or this_container())
    try:
        invocation = ConfigRuleInvocation.model_validate(event)
        return evaluate_config_rule(wiring, invocation)
    except (ValidationError, ConfigRuleError) as error:
        return reject("config rule invocation", error)
