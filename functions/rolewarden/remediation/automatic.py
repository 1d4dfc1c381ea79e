"""RoleWarden acting on its own: the event and sweep paths hand over what they found.

Only findings of rules in `remediate` mode whose proposal no guard blocks are handed
over, at most ROLEWARDEN_MAX_REMEDIATIONS_PER_RUN per invocation; for the rest of those
rules' findings the result says why they were only notified. Where the remediation happens:
- `ViaFunction`: the deployed stack. The remediate function, the only role that may
  write, judges the resource again and applies every guard (asynchronous invoke).
- `InProcess`: without the stack (the demo, the CLI): this process's credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.observability import count, logger
from rolewarden.remediation.caps import RunBudget
from rolewarden.remediation.change import ActionError
from rolewarden.remediation.outcome import Outcome
from rolewarden.remediation.request import Request
from rolewarden.rules.model import Finding
from rolewarden.rules.modes import Mode
from rolewarden.settings import Settings

SWEEP = "sweep"  # what caused a change the scheduled sweep found


class Dispatcher(Protocol):
    def dispatch(
        self, finding: Finding, actor: str, event_id: str | None, caused_by: str
    ) -> dict[str, Any]: ...


class InProcess:
    def __init__(
        self,
        remediate: Callable[[Finding, Request], Outcome],
        announce: Callable[[Outcome], None] = lambda _: None,
    ) -> None:
        self.remediate = remediate  # a Remediator's
        self.announce = announce

    def dispatch(
        self, finding: Finding, actor: str, event_id: str | None, caused_by: str
    ) -> dict[str, Any]:
        request = Request(actor=actor, apply=True, automatic=True, caused_by=caused_by)
        outcome = self.remediate(finding, request)
        self.announce(outcome)
        return outcome.as_json()


class ViaFunction:
    def __init__(self, clients: AwsClients, function_name: str) -> None:
        self.clients = clients
        self.function_name = function_name

    def dispatch(
        self, finding: Finding, actor: str, event_id: str | None, caused_by: str
    ) -> dict[str, Any]:
        payload = {
            "rule": finding.rule,
            "resource_arn": finding.resource_arn,
            "dry_run": False,
            "requested_by": actor,
            "automatic": True,
            "event_id": event_id,
            "caused_by": caused_by,
        }
        call(
            ActionError,
            "lambda:InvokeFunction",
            self.clients.client("lambda").invoke,
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )
        return {
            "status": "requested",
            "finding_id": finding.finding_id,
            "function": self.function_name,
        }


def remediate_automatically(
    findings: Sequence[Finding],
    settings: Settings,
    dispatcher: Dispatcher,
    actor: str,
    event_id: str | None = None,
    caused_by: str = SWEEP,
) -> list[dict[str, Any]]:
    """Hand over the findings of rules in remediate mode; say why for those held back.

    `caused_by`: the triggering call's caller (CloudTrail userIdentity ARN), or SWEEP."""
    budget = RunBudget(settings.max_remediations_per_run)
    results = []
    for finding in findings:
        if settings.mode(finding.rule) is not Mode.REMEDIATE or finding.remediation is None:
            continue  # notify mode: the finding itself is the whole answer
        held_back = [f"not automatic: {reason}" for reason in finding.remediation.blocked_by]
        if settings.dry_run:
            held_back = [settings.kill_switch]
        if not held_back and not budget.take():
            count("RemediationsCapped")
            held_back = [
                f"cap per run reached ({settings.max_remediations_per_run}, "
                "ROLEWARDEN_MAX_REMEDIATIONS_PER_RUN): notified, not changed"
            ]
        if held_back:
            logger.warning("remediation refused", finding_id=finding.finding_id, reasons=held_back)
            results.append(
                {"status": "refused", "finding_id": finding.finding_id, "reasons": held_back}
            )
            continue
        try:
            results.append(dispatcher.dispatch(finding, actor, event_id, caused_by))
        except ActionError as error:  # one failed hand-over must not stop the others
            count("RemediationFailed")
            logger.error("hand-over failed", finding_id=finding.finding_id, error=str(error))
            results.append(
                {"status": "failed", "finding_id": finding.finding_id, "reasons": [str(error)]}
            )
    return results
