"""exemption_of: the rolewarden:exempt-until / rolewarden:exempt-reason tags."""

from __future__ import annotations

from datetime import date

import pytest

from rolewarden.rules.exemptions import Exemption, ExemptionStatus, exemption_of

TODAY = date(2025, 6, 1)
UNTIL = "rolewarden:exempt-until"
REASON = "rolewarden:exempt-reason"


def test_no_tags_is_no_exemption() -> None:
    exemption = exemption_of({"Name": "web"}, TODAY, 365)
    assert exemption == Exemption(ExemptionStatus.NONE)
    assert exemption.exempts is False


def test_valid_exemption_exempts() -> None:
    # Given both tags, a date within the allowed window
    tags = {UNTIL: "2025-12-31", REASON: "vendor appliance, ticket SEC-142"}

    # When read / Then it exempts, keeping date and reason
    exemption = exemption_of(tags, TODAY, 365)
    assert exemption == Exemption(
        ExemptionStatus.VALID, "2025-12-31", "vendor appliance, ticket SEC-142"
    )
    assert exemption.exempts is True


def test_expired_exemption_does_not_exempt() -> None:
    exemption = exemption_of({UNTIL: "2025-05-31", REASON: "migration"}, TODAY, 365)
    assert exemption == Exemption(
        ExemptionStatus.EXPIRED, "2025-05-31", "migration", "expired on 2025-05-31"
    )
    assert exemption.exempts is False


@pytest.mark.parametrize("text", ["31/12/2025", "2025-13-01", "20251231", "soon", ""])
def test_malformed_date_does_not_exempt(text: str) -> None:
    exemption = exemption_of({UNTIL: text, REASON: "migration"}, TODAY, 365)
    assert exemption.status is ExemptionStatus.MALFORMED
    assert exemption.exempts is False
    assert exemption.problem == f"{UNTIL} must be a date YYYY-MM-DD, got {text!r}"


@pytest.mark.parametrize("reason", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_missing_reason_does_not_exempt(reason: str | None) -> None:
    tags = {UNTIL: "2025-12-31"} if reason is None else {UNTIL: "2025-12-31", REASON: reason}
    exemption = exemption_of(tags, TODAY, 365)
    assert exemption == Exemption(
        ExemptionStatus.MALFORMED, "2025-12-31", None, f"{REASON} is missing or empty"
    )


def test_reason_without_date_does_not_exempt() -> None:
    exemption = exemption_of({REASON: "migration"}, TODAY, 365)
    assert exemption == Exemption(
        ExemptionStatus.MALFORMED, None, "migration", f"{REASON} without {UNTIL}"
    )


def test_exemption_beyond_max_days_does_not_exempt() -> None:
    # Given max 30 days and a date 31 days ahead
    exemption = exemption_of({UNTIL: "2025-07-02", REASON: "migration"}, TODAY, 30)
    assert exemption == Exemption(
        ExemptionStatus.TOO_LONG,
        "2025-07-02",
        "migration",
        "ends more than 30 days ahead (ROLEWARDEN_MAX_EXEMPTION_DAYS)",
    )


def test_exemption_ending_today_still_exempts() -> None:
    # Given an exemption until today (inclusive)
    exemption = exemption_of({UNTIL: "2025-06-01", REASON: "migration"}, TODAY, 365)
    assert exemption.status is ExemptionStatus.VALID


def test_exemption_of_exactly_max_days_exempts() -> None:
    # Given max 30 days and a date exactly 30 days ahead
    exemption = exemption_of({UNTIL: "2025-07-01", REASON: "migration"}, TODAY, 30)
    assert exemption.status is ExemptionStatus.VALID


def test_iso_week_date_is_malformed() -> None:
    # Given an exempt-until written as an ISO week date (not YYYY-MM-DD)
    exemption = exemption_of({UNTIL: "2025-W27-1", REASON: "migration"}, TODAY, 365)

    # When / Then it does not exempt
    assert exemption.status is ExemptionStatus.MALFORMED
