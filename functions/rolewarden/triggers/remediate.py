"""A request to remediate a finding or restore a journal entry (a person, or RoleWarden's
own event and sweep functions): refused when a setting names another stack's journal,
key or findings table; otherwise acted on, counted and announced."""

from __future__ import annotations

from typing import Any

from rolewarden.observability import count, logger
from rolewarden.remediation.payload import RemediatePayload
from rolewarden.remediation.service import RemediationService, act_on, journal_of
from rolewarden.triggers.wiring import Wiring


def refused_settings(wiring: Wiring) -> dict[str, Any] | None:
    """The refusal when a setting points away from the stack's own resources."""
    foreign = wiring.foreign_settings()
    if not foreign:
        return None
    count("RemediationsRefused")
    logger.error("settings name another stack's resources", reasons=foreign)
    return {"status": "refused", "reasons": foreign}


def remediate(wiring: Wiring, payload: RemediatePayload, caller_arn: str | None) -> dict[str, Any]:
    settings, clients = wiring.settings, wiring.clients
    journal = journal_of(clients, settings.journal_table, settings.journal_key)
    service = RemediationService(clients, settings, wiring.regions, journal, cli=False)
    outcome = act_on(service, payload, caller_arn)
    count(f"Remediate.{outcome.status.value}")
    wiring.alerts().remediations(
        [outcome], service.account, wiring.home_region, automatic=payload.automatic
    )
    return outcome.as_json()
