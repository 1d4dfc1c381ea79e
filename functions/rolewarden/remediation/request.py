"""A request to change something, and the answers common to remediation and restore."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rolewarden.observability import count, logger
from rolewarden.remediation.journal import Journal, JournalEntry, JournalError
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.rules.model import Finding
from rolewarden.settings import Settings

PLAN_ONLY = "plan only: nothing was changed (apply to change)"
NO_JOURNAL = (
    "no journal: set ROLEWARDEN_JOURNAL_TABLE (or pass --journal-table); "
    "RoleWarden makes no change it could not undo"
)
NO_JOURNAL_KEY = (
    "no journal key: set ROLEWARDEN_JOURNAL_KEY to the journal's KMS HMAC key (`rolewarden "
    "journal create-table` makes one); an unsigned entry is never restored, so RoleWarden "
    "makes no change without it"
)


@dataclass(frozen=True)
class Request:
    actor: str  # who asked: a person, or the event or sweep that found it
    # The name came from the request itself (a direct invoke's `requested_by`), not from AWS.
    actor_self_declared: bool = False
    # An automatic change: who caused it (the triggering call's CloudTrail userIdentity ARN),
    # or "sweep".
    caused_by: str | None = None
    apply: bool = False  # False: plan only
    force: bool = False  # a person overrides the guards that allow it (journaled)
    automatic: bool = False  # RoleWarden acting on its own: every guard, and the caps
    action: str | None = None  # one of the proposal's actions only
    task_role_arn: str | None = None
    update_service: bool = False
    migration_id: str | None = None  # a migration's finish step: its entries join it


def entry_fields(
    request: Request, subject: Finding | JournalEntry, forced: list[str]
) -> dict[str, Any]:
    """The journal entry's fields that say who asked, who caused it, the finding the change is
    for (the finding itself, or the entry a restore undoes), and the guards forced."""
    return {
        "actor": request.actor,
        "actor_self_declared": request.actor_self_declared,
        "caused_by": request.caused_by,
        "rule": subject.rule,
        "finding_id": subject.finding_id,
        "resource_arn": subject.resource_arn,
        "account": subject.account,
        "forced": forced,
        "migration_id": request.migration_id,
    }


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Held:
    """Why a request changes nothing at all: the kill switch, a plan asked for, no journal."""

    status: OutcomeStatus
    reason: str
    plan_only: bool = False

    def answer(self, outcome: Outcome, notes: Sequence[str] = ()) -> Outcome:
        outcome.plan_only = self.plan_only
        return answer(outcome, self.status, [self.reason, *notes])


def gate(settings: Settings, journal: Journal | None, request: Request) -> Held | None:
    """Whether this request may change anything at all (None: it may)."""
    if settings.dry_run:
        return Held(OutcomeStatus.PLANNED, settings.kill_switch)
    if not request.apply:
        return Held(OutcomeStatus.PLANNED, PLAN_ONLY, plan_only=True)
    if journal is None:
        return Held(OutcomeStatus.REFUSED, NO_JOURNAL)
    if journal.signer is None:
        return Held(OutcomeStatus.REFUSED, NO_JOURNAL_KEY)
    return None


def answer(outcome: Outcome, status: OutcomeStatus, reasons: list[str]) -> Outcome:
    outcome.status = status
    outcome.reasons += reasons
    return outcome


def refused(outcome: Outcome, reasons: list[str]) -> Outcome:
    count("RemediationsRefused")
    logger.warning("remediation refused", subject=outcome.subject.as_json(), reasons=reasons)
    return answer(outcome, OutcomeStatus.REFUSED, reasons)


def journal_failure(outcome: Outcome, error: JournalError) -> Outcome:
    """The journal failed: what was changed so far stays in the outcome's entries."""
    count("RemediationFailed")
    logger.error("journal unavailable", subject=outcome.subject.as_json(), error=str(error))
    return answer(outcome, OutcomeStatus.FAILED, [str(error)])
