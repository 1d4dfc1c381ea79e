"""What a remediation or restore request came to: a plan, journal entries, or the reasons not."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from rolewarden.remediation.change import Change
from rolewarden.remediation.journal import JournalEntry, Status


class OutcomeStatus(StrEnum):
    PLANNED = "planned"  # nothing changed: plan only (see Outcome.plan_only), or a dry run
    APPLIED = "applied"  # changed and verified
    RESTORED = "restored"
    NOTHING_TO_DO = "nothing-to-do"  # already as it should be
    REFUSED = "refused"  # a guard, a cap, a mode, or no journal
    NO_LONGER_HOLDS = "no-longer-holds"  # the finding is gone (fixed, exempt, deleted)
    FAILED = "failed"  # an AWS call or the verification failed; see the journal


@dataclass(frozen=True)
class Subject:
    """What an outcome is about: a finding (its id, or its rule and resource), or the
    journal entry restored (and, once read, its rule and resource); and who asked."""

    finding_id: str | None = None
    restore: str | None = None  # the journal id restored
    rule: str | None = None
    resource_arn: str | None = None
    requested_by: str | None = None
    caused_by: str | None = None

    def as_json(self) -> dict[str, str]:
        """The fields it has, in this order (the outcome's JSON shows them at its top level)."""
        named = ((item.name, getattr(self, item.name)) for item in fields(self))
        return {name: value for name, value in named if value is not None}


@dataclass
class Outcome:
    status: OutcomeStatus
    subject: Subject
    reasons: list[str] = field(default_factory=list)
    plan: list[Change] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)
    # PLANNED because the request asked only for a plan (not the kill switch): applying it
    # is the next step. Not in the JSON, whose reasons say so in words.
    plan_only: bool = False

    @property
    def changed(self) -> bool:
        return any(entry.status is not Status.FAILED for entry in self.journal)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            **self.subject.as_json(),
            "reasons": self.reasons,
            "plan": [change.as_plan() for change in self.plan],
            "journal": [entry.as_json() for entry in self.journal],
        }
