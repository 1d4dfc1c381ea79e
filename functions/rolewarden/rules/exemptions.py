"""Accepted risk: `rolewarden:exempt-until` (YYYY-MM-DD) and `rolewarden:exempt-reason` tags,
optionally `rolewarden:exempt-rules` (space-separated rule ids; without it, every rule).

Scenarios:
  1. No exemption tag -> no exemption.
  2. A date within ROLEWARDEN_MAX_EXEMPTION_DAYS (today included) and a reason -> exempt
     from every rule.
  3. Expired, or beyond ROLEWARDEN_MAX_EXEMPTION_DAYS -> does not exempt; the finding says so.
  4. A malformed date, no reason, or a reason or rules tag without a date -> malformed.
  5. `rolewarden:exempt-rules` naming known rule ids (extra whitespace, repeats tolerated)
     -> exempt from those rules only; to any other rule the exemption is `other-rules`.
  6. `rolewarden:exempt-rules` empty, or naming an unknown rule id -> malformed for every
     rule, naming the id: a typo neither exempts nor fails to exempt silently.
  7. A tag that looks like an exemption tag but is not one (`rolewarden:exempt-rule`,
     `RoleWarden:Exempt-Rules`) -> malformed, naming the tag.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from rolewarden.rules.ids import RULE_IDS

EXEMPT_UNTIL_TAG = "rolewarden:exempt-until"
EXEMPT_REASON_TAG = "rolewarden:exempt-reason"
EXEMPT_RULES_TAG = "rolewarden:exempt-rules"
EXEMPTION_TAGS = (EXEMPT_UNTIL_TAG, EXEMPT_REASON_TAG, EXEMPT_RULES_TAG)
EXEMPT_TAG_PREFIX = "rolewarden:exempt"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ExemptionStatus(StrEnum):
    NONE = "none"
    VALID = "valid"
    EXPIRED = "expired"
    MALFORMED = "malformed"
    TOO_LONG = "too-long"
    OTHER_RULES = "other-rules"  # `rolewarden:exempt-rules` names other rules, not this one


@dataclass(frozen=True)
class Exemption:
    status: ExemptionStatus
    until: str | None = None
    reason: str | None = None
    problem: str | None = None
    rules: tuple[str, ...] | None = None  # as `rolewarden:exempt-rules` names them; None: all

    @property
    def exempts(self) -> bool:
        return self.status is ExemptionStatus.VALID

    def for_rule(self, rule: str) -> Exemption:
        """The exemption as `rule` sees it: one limited to other rules does not concern it,
        whatever its state. Unknown rule ids leave it malformed for every rule: which rule
        the typo meant cannot be known."""
        if self.rules is None or rule in self.rules or _rules_problem(self.rules) is not None:
            return self
        return dataclasses.replace(
            self,
            status=ExemptionStatus.OTHER_RULES,
            problem=f"covers only {', '.join(self.rules)} ({EXEMPT_RULES_TAG})",
        )

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "status": self.status.value,
            "until": self.until,
            "reason": self.reason,
            "problem": self.problem,
        }
        if self.rules is not None:
            document["rules"] = list(self.rules)
        return document


def exemption_of(tags: Mapping[str, str], today: date, max_days: int) -> Exemption:
    until_text = tags.get(EXEMPT_UNTIL_TAG)
    reason = (tags.get(EXEMPT_REASON_TAG) or "").strip() or None
    rules_text = tags.get(EXEMPT_RULES_TAG)
    rules = None if rules_text is None else tuple(dict.fromkeys(rules_text.split()))
    stray = sorted(key for key in tags if _looks_like_exemption_tag(key))
    if until_text is None and reason is None and rules is None and not stray:
        return Exemption(ExemptionStatus.NONE)
    until = _date_of(until_text)
    problem = _malformed(until_text, until, reason, rules, stray)
    if problem is not None:
        return Exemption(ExemptionStatus.MALFORMED, until_text, reason, problem, rules)
    assert until is not None  # _malformed said so
    if until < today:
        return Exemption(
            ExemptionStatus.EXPIRED, until_text, reason, f"expired on {until_text}", rules
        )
    if until > today + timedelta(days=max_days):
        return Exemption(
            ExemptionStatus.TOO_LONG,
            until_text,
            reason,
            f"ends more than {max_days} days ahead (ROLEWARDEN_MAX_EXEMPTION_DAYS)",
            rules,
        )
    return Exemption(ExemptionStatus.VALID, until_text, reason, rules=rules)


def _date_of(text: str | None) -> date | None:
    # fromisoformat alone also takes week dates such as 2026-W27-1
    if text is None or not ISO_DATE.fullmatch(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _malformed(
    until_text: str | None,
    until: date | None,
    reason: str | None,
    rules: tuple[str, ...] | None,
    stray: list[str],
) -> str | None:
    """Why the tags are not an exemption at all, whatever the date (None: they are one)."""
    if stray:
        return "unknown exemption tag " + ", ".join(map(_unknown_tag, stray))
    if until_text is None:
        given = EXEMPT_REASON_TAG if reason is not None else EXEMPT_RULES_TAG
        return f"{given} without {EXEMPT_UNTIL_TAG}"
    if until is None:
        return f"{EXEMPT_UNTIL_TAG} must be a date YYYY-MM-DD, got {until_text!r}"
    if reason is None:
        return f"{EXEMPT_REASON_TAG} is missing or empty"
    return None if rules is None else _rules_problem(rules)


def _looks_like_exemption_tag(key: str) -> bool:
    """A misspelt or mis-cased exemption tag: ignoring `rolewarden:Exempt-Rules` would widen
    the exemption to every rule without a word."""
    return key.lower().startswith(EXEMPT_TAG_PREFIX) and key not in EXEMPTION_TAGS


def _unknown_tag(key: str) -> str:
    close = difflib.get_close_matches(key.lower(), EXEMPTION_TAGS, n=1)
    return f"{key!r} (did you mean {close[0]}?)" if close else repr(key)


def _rules_problem(rules: tuple[str, ...]) -> str | None:
    """Why the rule ids of `rolewarden:exempt-rules` do not hold (None: they do)."""
    if not rules:
        return (
            f"{EXEMPT_RULES_TAG} is empty: name rule ids separated by spaces, "
            "or remove the tag to exempt from every rule"
        )
    unknown = [name for name in rules if name not in RULE_IDS]
    if not unknown:
        return None
    return f"{EXEMPT_RULES_TAG} names unknown rule id " + ", ".join(map(_unknown, unknown))


def _unknown(name: str) -> str:
    """An unknown id, with the likeliest fix."""
    if "," in name:
        return f"{name!r} (separate rule ids with spaces, not commas)"
    close = difflib.get_close_matches(name.lower(), RULE_IDS, n=1)
    return f"{name!r} (did you mean {close[0]}?)" if close else repr(name)
