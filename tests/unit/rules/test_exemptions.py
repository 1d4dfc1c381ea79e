"""exemption_of: the rolewarden:exempt-until, -reason and -rules tags (exemptions.py Scenarios)."""

from __future__ import annotations

from datetime import date

import pytest

from rolewarden.rules.exemptions import Exemption, ExemptionStatus, exemption_of
from rolewarden.rules.ids import RULE_IDS

TODAY = date(2025, 6, 1)
UNTIL = "rolewarden:exempt-until"
REASON = "rolewarden:exempt-reason"
RULES = "rolewarden:exempt-rules"
VALID = {UNTIL: "2025-12-31", REASON: "vendor appliance, ticket SEC-142"}
IMDS = "ecs-host-imds-exposed"
NO_PROFILE = "ec2-instance-without-profile"


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


# --- rolewarden:exempt-rules -------------------------------------------------------------


def test_scenario_2_without_a_rules_tag_every_rule_is_exempt() -> None:
    # Given a valid exemption without rolewarden:exempt-rules
    exemption = exemption_of(VALID, TODAY, 365)

    # When each rule looks at it / Then it exempts every one of them
    assert exemption.rules is None
    assert all(exemption.for_rule(rule).exempts for rule in RULE_IDS)
    assert "rules" not in exemption.as_json()  # findings' evidence as before the tag existed


@pytest.mark.parametrize(
    "text",
    [
        f"{IMDS} {NO_PROFILE}",
        f"  {IMDS}\t {NO_PROFILE}\n",
        f"{IMDS} {NO_PROFILE} {IMDS}",
    ],
    ids=["spaces", "extra-whitespace", "repeated"],
)
def test_scenario_5_named_rules_only_are_exempt(text: str) -> None:
    # Given a valid exemption limited to two rules (however spaced)
    exemption = exemption_of({**VALID, RULES: text}, TODAY, 365)

    # When read / Then it names those two, once each, in the order written
    assert exemption == Exemption(
        ExemptionStatus.VALID,
        "2025-12-31",
        "vendor appliance, ticket SEC-142",
        rules=(IMDS, NO_PROFILE),
    )
    # ... and exempts from them, and from no other rule
    exempt = [rule for rule in RULE_IDS if exemption.for_rule(rule).exempts]
    assert exempt == [NO_PROFILE, IMDS]  # RULE_IDS order


def test_scenario_5_another_rule_sees_other_rules_and_why() -> None:
    # Given a valid exemption limited to ecs-host-imds-exposed
    exemption = exemption_of({**VALID, RULES: IMDS}, TODAY, 365)

    # When ec2-instance-without-profile looks at it
    seen = exemption.for_rule(NO_PROFILE)

    # Then it does not exempt, and says which rules it covers
    assert seen.exempts is False
    assert seen.as_json() == {
        "status": "other-rules",
        "until": "2025-12-31",
        "reason": "vendor appliance, ticket SEC-142",
        "problem": f"covers only {IMDS} ({RULES})",
        "rules": [IMDS],
    }
    assert exemption.for_rule(IMDS) == exemption


def test_scenario_5_an_expired_exemption_of_other_rules_is_other_rules() -> None:
    # Given an expired exemption limited to ecs-host-imds-exposed
    exemption = exemption_of({UNTIL: "2025-05-31", REASON: "migration", RULES: IMDS}, TODAY, 365)

    # When each rule looks at it / Then the named rule learns it expired; another rule, that
    # it was never its exemption
    assert exemption.for_rule(IMDS).status is ExemptionStatus.EXPIRED
    assert exemption.for_rule(NO_PROFILE).status is ExemptionStatus.OTHER_RULES


@pytest.mark.parametrize("text", ["", "   "], ids=["empty", "blank"])
def test_scenario_6_an_empty_rules_tag_is_malformed(text: str) -> None:
    # Given a valid date and reason, and a rules tag that names nothing
    exemption = exemption_of({**VALID, RULES: text}, TODAY, 365)

    # When read / Then it exempts from no rule, and says so to every rule
    assert exemption == Exemption(
        ExemptionStatus.MALFORMED,
        "2025-12-31",
        "vendor appliance, ticket SEC-142",
        f"{RULES} is empty: name rule ids separated by spaces, "
        "or remove the tag to exempt from every rule",
        (),
    )
    assert {exemption.for_rule(rule) for rule in RULE_IDS} == {exemption}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            f"{IMDS} ec2-instance-without-profle",
            "names unknown rule id 'ec2-instance-without-profle' "
            "(did you mean ec2-instance-without-profile?)",
        ),
        (
            "Ecs-Host-IMDS-Exposed",
            "names unknown rule id 'Ecs-Host-IMDS-Exposed' (did you mean ecs-host-imds-exposed?)",
        ),
        (
            f"{IMDS},{NO_PROFILE}",
            f"names unknown rule id '{IMDS},{NO_PROFILE}' "
            "(separate rule ids with spaces, not commas)",
        ),
        ("all everything", "names unknown rule id 'all', 'everything'"),
    ],
    ids=["typo", "case", "commas", "not-rule-ids"],
)
def test_scenario_6_an_unknown_rule_id_is_malformed_for_every_rule(text: str, problem: str) -> None:
    # Given a valid date and reason, and a rules tag with an id no rule has
    exemption = exemption_of({**VALID, RULES: text}, TODAY, 365)

    # When read / Then it is malformed, naming the id (and the likely fix)
    assert exemption.status is ExemptionStatus.MALFORMED
    assert exemption.problem == f"{RULES} {problem}"
    # ... and no rule is exempt, not even one it names correctly: which was meant is unknown
    assert {exemption.for_rule(rule) for rule in RULE_IDS} == {exemption}


def test_scenario_6_the_malformed_rules_tag_is_reported_before_expiry() -> None:
    # Given an expired exemption whose rules tag has a typo
    tags = {UNTIL: "2025-05-31", REASON: "migration", RULES: "ecs-host-imds"}

    # When read / Then the typo is what the finding names (fixing the date alone would not do)
    exemption = exemption_of(tags, TODAY, 365)
    assert exemption.status is ExemptionStatus.MALFORMED
    assert exemption.problem == (
        f"{RULES} names unknown rule id 'ecs-host-imds' (did you mean ecs-host-imds-exposed?)"
    )


def test_scenario_4_a_rules_tag_without_a_date_is_malformed() -> None:
    # Given only rolewarden:exempt-rules: someone meant to exempt, and did not finish
    exemption = exemption_of({RULES: IMDS}, TODAY, 365)

    # When read / Then it is malformed, not "no exemption"
    assert exemption == Exemption(
        ExemptionStatus.MALFORMED, None, None, f"{RULES} without {UNTIL}", (IMDS,)
    )


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (
            "rolewarden:exempt-rule",
            "unknown exemption tag 'rolewarden:exempt-rule' "
            "(did you mean rolewarden:exempt-rules?)",
        ),
        (
            "RoleWarden:Exempt-Rules",
            "unknown exemption tag 'RoleWarden:Exempt-Rules' "
            "(did you mean rolewarden:exempt-rules?)",
        ),
    ],
    ids=["misspelt", "mis-cased"],
)
def test_scenario_7_a_misspelt_rules_tag_is_malformed_not_ignored(key: str, problem: str) -> None:
    # Given a valid exemption whose rules tag key is misspelt: ignoring it would exempt from
    # every rule instead of the one meant
    exemption = exemption_of({**VALID, key: IMDS}, TODAY, 365)

    # When read / Then it exempts from no rule, naming the tag
    assert exemption == Exemption(
        ExemptionStatus.MALFORMED, "2025-12-31", "vendor appliance, ticket SEC-142", problem
    )
    assert {exemption.for_rule(rule) for rule in RULE_IDS} == {exemption}


def test_scenario_7_a_mis_cased_date_tag_alone_is_malformed_not_none() -> None:
    # Given only a mis-cased exempt-until and the reason: someone meant to exempt
    exemption = exemption_of({"Rolewarden:Exempt-Until": "2025-12-31", REASON: "x"}, TODAY, 365)

    # When read / Then it does not exempt, and the finding will say why
    assert exemption.status is ExemptionStatus.MALFORMED
    assert exemption.problem == (
        "unknown exemption tag 'Rolewarden:Exempt-Until' (did you mean rolewarden:exempt-until?)"
    )
