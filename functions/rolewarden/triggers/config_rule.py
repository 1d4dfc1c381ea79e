"""An AWS Config custom rule invocation: evaluate, report to Config, alert.

The rule id comes in the rule parameters (`{"rule": "..."}`); a rule that is off is not
evaluated at all.
"""

from __future__ import annotations

from typing import Any

from rolewarden.evaluation.config_events import ConfigRuleInvocation
from rolewarden.evaluation.config_reporter import fetch_item, put_evaluations
from rolewarden.evaluation.config_rule import evaluate_invocation
from rolewarden.observability import count, logger
from rolewarden.rules.modes import Mode
from rolewarden.triggers.wiring import Wiring


def evaluate_config_rule(wiring: Wiring, invocation: ConfigRuleInvocation) -> dict[str, Any]:
    """The invocation's result; ConfigRuleError when Config's item cannot be served."""
    settings, clients = wiring.settings, wiring.clients
    rule = invocation.rule_parameters.rule
    if settings.mode(rule) is Mode.OFF:
        logger.info("rule is off", rule=rule)
        count("RuleOff")
        return {"rule": rule, "status": "off", "evaluations": 0}
    result = evaluate_invocation(
        invocation,
        clients,
        wiring.scope(invocation.account),
        wiring.rule_context(),
        lambda summary: fetch_item(clients, summary),
    )
    calls = put_evaluations(
        clients, result.verdicts, invocation.result_token, settings.config_test_mode
    )
    wiring.alerts().findings(result.findings, trigger=f"config:{invocation.config_rule_name}")
    count("EvaluationErrors", len(result.errors))
    return {
        "rule": rule,
        "status": "evaluated",
        "evaluations": len(result.verdicts),
        "put_evaluations_calls": calls,
        "findings": [finding.finding_id for finding in result.findings],
        "scan_errors": [error.as_json() for error in result.errors],
    }
