"""A request to change something, and the answers common to remediation and restore."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rolewarden.observability import count, logger
from rolewarden.remediation.journal import Journal, JournalError
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.settings import Settings

PLAN_ONLY = "plan only: nothing was changed (apply to change)"
NO_JOURNAL = (
    "no journal: set ROLEWARDEN_JOURNAL_TABLE (or pass --journal-table); "
    "RoleWarden makes no change it could not undo"
)


@dataclass(frozen=True)
class Request:
    actor: str  # who asked: a person, or the event or sweep that found it
    apply: bool = False  # False: plan only
    force: bool = False  # a person overrides the guards that allow it (journaled)
    automatic: bool = False  # RoleWarden acting on its own: every guard, and the caps
    action: str | None = None  # one of the proposal's actions only
    task_role_arn: str | None = None
    update_service: bool = False


def utc_now() -> datetime:
    return datetime.now(UTC)


def gate(
    settings: Settings, journal: Journal | None, request: Request
) -> tuple[OutcomeStatus, list[str]] | None:
    """Whether this request may change anything at all (None: it may)."""
    if settings.dry_run:
        return OutcomeStatus.PLANNED, [settings.kill_switch]
    if not request.apply:
        return OutcomeStatus.PLANNED, [PLAN_ONLY]
    if journal is None:
        return OutcomeStatus.REFUSED, [NO_JOURNAL]
    return None


def answer(outcome: Outcome, status: OutcomeStatus, reasons: list[str]) -> Outcome:
    outcome.status = status
    outcome.reasons += reasons
    return outcome


def refused(outcome: Outcome, reasons: list[str]) -> Outcome:
    count("RemediationsRefused")
    logger.warning("remediation refused", subject=outcome.subject, reasons=reasons)
    return answer(outcome, OutcomeStatus.REFUSED, reasons)


def journal_failure(outcome: Outcome, error: JournalError) -> Outcome:
    """The journal failed: what was changed so far stays in the outcome's entries."""
    count("RemediationFailed")
    logger.error("journal unavailable", subject=outcome.subject, error=str(error))
    return answer(outcome, OutcomeStatus.FAILED, [str(error)])
