"""Verification reads back until the change shows, briefly, and says what it saw."""

from __future__ import annotations

from rolewarden.remediation.change import Change, Poll, matches


def test_a_state_matches_when_every_expected_key_has_its_value() -> None:
    assert matches(
        {"HttpTokens": "required", "HttpEndpoint": "enabled"}, {"HttpTokens": "required"}
    )
    assert not matches({"HttpTokens": "optional"}, {"HttpTokens": "required"})
    assert matches({}, {"document": None}) is not False  # a missing key reads as None


def test_polling_stops_as_soon_as_the_change_shows() -> None:
    states = iter([{"attached": True}, {"attached": True}, {"attached": False}])
    waits: list[float] = []
    took, seen = Poll(attempts=5, first_delay=0.5, sleep=waits.append).until(
        lambda: next(states), {"attached": False}
    )
    assert (took, seen) == (True, {"attached": False})
    assert waits == [0.5, 1.0]  # backs off, and stops waiting once it shows


def test_polling_gives_up_after_its_attempts_with_what_it_last_read() -> None:
    reads: list[int] = []

    def read() -> dict[str, bool]:
        reads.append(1)
        return {"attached": True}

    waits: list[float] = []
    took, seen = Poll(attempts=3, first_delay=0.5, sleep=waits.append).until(
        read, {"attached": False}
    )
    assert (took, seen, len(reads)) == (False, {"attached": True}, 3)
    assert waits == [0.5, 1.0]


def test_a_change_survives_the_journal_round_trip() -> None:
    change = Change(
        "delete-inline-policy",
        "us-east-1",
        {"role_name": "shop-ecs-host", "policy_name": "orders-table"},
        before={"document": {"Version": "2012-10-17", "Statement": []}},
        after={"document": None},
        summary="delete inline policy orders-table",
    )
    assert Change.from_json(change.as_json()) == change
