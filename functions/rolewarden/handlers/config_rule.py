"""AWS Config custom rule evaluator: one function for every RoleWarden rule Config can see.

The rule id comes in the rule parameters (`{"rule": "..."}`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from rolewarden.evaluation.config_events import ConfigRuleInvocation
from rolewarden.evaluation.config_reporter import fetch_item, put_evaluations
from rolewarden.evaluation.config_rule import ConfigRuleError, evaluate_invocation
from rolewarden.handlers import runtime
from rolewarden.handlers.malformed import reject
from rolewarden.observability import count, logger, metrics, traced
from rolewarden.rules.modes import Mode


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = runtime.settings()
    alerts = runtime.alerts()  # a findings table not the stack's stops start-up
    try:
        invocation = ConfigRuleInvocation.model_validate(event)
    except ValidationError as error:
        return reject("config rule invocation", error)
    rule = invocation.rule_parameters.rule
    if settings.mode(rule) is Mode.OFF:  # "off" is not evaluated at all
        logger.info("rule is off", rule=rule)
        count("RuleOff")
        return {"rule": rule, "status": "off", "evaluations": 0}
    clients = runtime.clients()
    try:
        result = evaluate_invocation(
            invocation,
            clients,
            runtime.scope(invocation.account),
            runtime.rule_context(),
            lambda summary: fetch_item(clients, summary),
        )
    except ConfigRuleError as error:
        return reject("config rule invocation", error)
    calls = put_evaluations(
        clients, result.verdicts, invocation.result_token, settings.config_test_mode
    )
    alerts.findings(result.findings, trigger=f"config:{invocation.config_rule_name}")
    count("EvaluationErrors", len(result.errors))
    return {
        "rule": rule,
        "status": "evaluated",
        "evaluations": len(result.verdicts),
        "put_evaluations_calls": calls,
        "findings": [finding.finding_id for finding in result.findings],
        "scan_errors": [error.as_json() for error in result.errors],
    }
