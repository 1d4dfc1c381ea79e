"""The scheduled sweep: the whole account, in each region RoleWarden covers.

Findings of rules in remediate mode are handed to the remediate function, at most
ROLEWARDEN_MAX_REMEDIATIONS_PER_RUN of them.
"""

from __future__ import annotations

from typing import Any

from rolewarden.evaluation.account import scan_account
from rolewarden.observability import count
from rolewarden.remediation.automatic import remediate_automatically
from rolewarden.triggers.wiring import Wiring

# One message per new finding, the most severe first; the digest counts the rest (Slack
# takes about one message a second, and the first sweep of an account finds everything).
MESSAGES_PER_SWEEP = 50


def sweep(wiring: Wiring, request_id: str) -> dict[str, Any]:
    settings, alerts = wiring.settings, wiring.alerts()
    result = scan_account(wiring.session, wiring.regions, settings, settings.enabled_rules())
    due = alerts.findings(result.findings, trigger="sweep", limit=MESSAGES_PER_SWEEP)
    remediations = remediate_automatically(
        result.findings, settings, wiring.dispatcher(result.account), actor=f"sweep:{request_id}"
    )
    resolved = alerts.digest(result, due)
    for kind, examined in result.examined.items():
        count(f"ResourcesExamined.{kind}", examined)
    for service, calls in result.api_calls.items():
        count(f"ApiCalls.{service}", calls)
    count("EvaluationErrors", len(result.errors))
    count("SweepCompleted")  # the heartbeat: an alarm fires when it stops
    return {
        **result.summary(),
        "new_findings": [finding.finding_id for finding in due.new],
        "resolved_findings": resolved,
        "remediations": remediations,
    }
