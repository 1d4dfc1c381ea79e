"""What the MetadataNoToken pre-flight tells a person, and the window it may read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rolewarden.remediation.actions.imds_usage import ImdsV1Use
from rolewarden.settings import Settings, SettingsError


def test_calls_in_the_window_say_how_many_and_the_hour_of_the_last() -> None:
    use = ImdsV1Use("i-0abc", 14, calls=7, last=datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert use.reasons() == [
        "IMDSv1 in use: i-0abc answered 7 IMDSv1 calls (CloudWatch MetadataNoToken) in the "
        "last 14 days, the last in the hour from 2026-12-01 10:00 UTC; requiring IMDSv2 would "
        "break what makes them: move it to IMDSv2 (a current AWS SDK or CLI) first"
    ]


def test_no_call_in_the_window_is_no_reason_and_unknown_is_one() -> None:
    assert ImdsV1Use("i-0abc", 14, calls=0).reasons() == []
    unknown = ImdsV1Use("i-0abc", 14, unknown_because="MetadataNoToken could not be read (x)")
    assert unknown.reasons() == [
        "IMDSv1 use unknown: MetadataNoToken could not be read (x); requiring IMDSv2 would "
        "break anything on i-0abc that still uses IMDSv1"
    ]


@pytest.mark.parametrize("days", ["0", "456", "-1"])
def test_the_lookback_is_bounded_by_what_cloudwatch_keeps(days: str) -> None:
    with pytest.raises(SettingsError, match="ROLEWARDEN_IMDS_LOOKBACK_DAYS"):
        Settings.from_env({"ROLEWARDEN_IMDS_LOOKBACK_DAYS": days})


def test_the_lookback_defaults_to_two_weeks() -> None:
    assert Settings.from_env({}).imds_lookback_days == 14
    assert Settings.from_env({"ROLEWARDEN_IMDS_LOOKBACK_DAYS": "455"}).imds_lookback_days == 455
