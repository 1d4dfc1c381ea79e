"""What a remediation or restore request came to: a plan, journal entries, or the reasons not."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rolewarden.remediation.change import Change
from rolewarden.remediation.journal import JournalEntry, Status


class OutcomeStatus(StrEnum):
    PLANNED = "planned"  # nothing changed: plan only, or a dry run
    APPLIED = "applied"  # changed and verified
    RESTORED = "restored"
    NOTHING_TO_DO = "nothing-to-do"  # already as it should be
    REFUSED = "refused"  # a guard, a cap, a mode, or no journal
    NO_LONGER_HOLDS = "no-longer-holds"  # the finding is gone (fixed, exempt, deleted)
    FAILED = "failed"  # an AWS call or the verification failed; see the journal


@dataclass
class Outcome:
    status: OutcomeStatus
    subject: dict[str, str]  # finding_id, rule and resource_arn, or the journal id restored
    reasons: list[str] = field(default_factory=list)
    plan: list[Change] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(entry.status is not Status.FAILED for entry in self.journal)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            **self.subject,
            "reasons": self.reasons,
            "plan": [change.as_plan() for change in self.plan],
            "journal": [entry.as_json() for entry in self.journal],
        }
