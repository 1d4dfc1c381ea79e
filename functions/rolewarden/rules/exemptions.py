"""Accepted risk: `rolewarden:exempt-until` (YYYY-MM-DD) and `rolewarden:exempt-reason` tags.

An exemption counts only when both tags are present, the date is well formed, not
past, and at most `max_days` ahead. Anything else does not exempt, and the
finding says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

EXEMPT_UNTIL_TAG = "rolewarden:exempt-until"
EXEMPT_REASON_TAG = "rolewarden:exempt-reason"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ExemptionStatus(StrEnum):
    NONE = "none"
    VALID = "valid"
    EXPIRED = "expired"
    MALFORMED = "malformed"
    TOO_LONG = "too-long"


@dataclass(frozen=True)
class Exemption:
    status: ExemptionStatus
    until: str | None = None
    reason: str | None = None
    problem: str | None = None

    @property
    def exempts(self) -> bool:
        return self.status is ExemptionStatus.VALID

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "until": self.until,
            "reason": self.reason,
            "problem": self.problem,
        }


def exemption_of(tags: Mapping[str, str], today: date, max_days: int) -> Exemption:
    until_text = tags.get(EXEMPT_UNTIL_TAG)
    reason = (tags.get(EXEMPT_REASON_TAG) or "").strip() or None
    if until_text is None and reason is None:
        return Exemption(ExemptionStatus.NONE)
    if until_text is None:
        return Exemption(
            ExemptionStatus.MALFORMED,
            None,
            reason,
            f"{EXEMPT_REASON_TAG} without {EXEMPT_UNTIL_TAG}",
        )
    try:
        if not ISO_DATE.fullmatch(until_text.strip()):
            raise ValueError  # fromisoformat alone also takes week dates such as 2026-W27-1
        until = date.fromisoformat(until_text.strip())
    except ValueError:
        return Exemption(
            ExemptionStatus.MALFORMED,
            until_text,
            reason,
            f"{EXEMPT_UNTIL_TAG} must be a date YYYY-MM-DD, got {until_text!r}",
        )
    if reason is None:
        return Exemption(
            ExemptionStatus.MALFORMED, until_text, None, f"{EXEMPT_REASON_TAG} is missing or empty"
        )
    if until < today:
        return Exemption(ExemptionStatus.EXPIRED, until_text, reason, f"expired on {until_text}")
    if until > today + timedelta(days=max_days):
        return Exemption(
            ExemptionStatus.TOO_LONG,
            until_text,
            reason,
            f"ends more than {max_days} days ahead (ROLEWARDEN_MAX_EXEMPTION_DAYS)",
        )
    return Exemption(ExemptionStatus.VALID, until_text, reason)
