"""Every notice to every channel; a failing channel never stops the others."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import pytest

from rolewarden.notify import notifier
from rolewarden.notify.channel import Call, NotifyError
from rolewarden.notify.notice import Kind, Notice
from rolewarden.notify.notifier import Notifier


class Recording:
    def __init__(self, name: str, fails_with: Exception | None = None) -> None:
        self.name = name
        self.fails_with = fails_with
        self.attempts = 0
        self.sent: list[str] = []

    def send(self, notice: Notice) -> None:
        self.attempts += 1
        if self.fails_with:
            raise self.fails_with
        self.sent.append(notice.subject)


NOTICES = [Notice(Kind.FINDING, "one"), Notice(Kind.FINDING, "two")]


def test_each_notice_reaches_every_channel() -> None:
    sns, slack = Recording("sns"), Recording("slack")
    assert Notifier([sns, slack]).send(NOTICES) == 4
    assert sns.sent == slack.sent == ["one", "two"]


@pytest.mark.parametrize(
    "error", [NotifyError("HTTP 500 from Slack"), RuntimeError("https://hooks.slack.com/x")]
)
def test_a_failing_channel_is_tried_once_and_the_others_still_deliver(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged: list[dict[str, Any]] = []
    monkeypatch.setattr(notifier.logger, "error", lambda message, **fields: logged.append(fields))
    slack, sns = Recording("slack", fails_with=error), Recording("sns")
    assert Notifier([slack, sns]).send(NOTICES) == 2
    assert sns.sent == ["one", "two"]
    assert slack.attempts == 1  # not retried for the second notice
    assert [entry["channel"] for entry in logged] == ["slack", "slack"]
    assert "hooks.slack.com" not in str(logged)  # an unknown error is logged by type only


class Batching:
    """A channel with a batch API: two notices a call; refuses the subjects in `refuses`,
    and fails every call once `fails_with` is set."""

    def __init__(self, refuses: tuple[str, ...] = (), fails_with: Exception | None = None) -> None:
        self.name = "batching"
        self.refuses = refuses
        self.fails_with = fails_with
        self.calls_made: list[list[str]] = []
        self.sent: list[str] = []

    def send(self, notice: Notice) -> None:
        raise AssertionError("a batch channel gets its notices through its calls")

    def calls(self, notices: Sequence[Notice]) -> list[Call]:
        def make(positions: list[int]) -> dict[int, str]:
            self.calls_made.append([notices[p].subject for p in positions])
            if self.fails_with:
                raise self.fails_with
            self.sent += [notices[p].subject for p in positions if p not in refused]
            return {p: "InternalError" for p in positions if p in refused}

        refused = {p for p, notice in enumerate(notices) if notice.subject in self.refuses}
        pairs = [
            list(range(len(notices)))[start : start + 2] for start in range(0, len(notices), 2)
        ]
        return [Call(pair, partial(make, pair)) for pair in pairs]


FIVE = [Notice(Kind.FINDING, name) for name in ("one", "two", "three", "four", "five")]


def test_a_batch_channel_delivers_each_call_and_says_which_notices_arrived(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a batch channel that refuses one entry, and a channel without a batch API
    counted: list[str] = []
    monkeypatch.setattr(notifier, "count", counted.append)
    batching, slack = Batching(refuses=("three",)), Recording("slack", NotifyError("HTTP 500"))

    # When five notices are delivered
    delivered = Notifier([batching, slack]).deliver(FIVE)

    # Then the batch channel made three calls; the refused notice alone is not delivered
    assert batching.calls_made == [["one", "two"], ["three", "four"], ["five"]]
    assert delivered == [True, True, False, True, True]
    # And the refusal did not stop the batch channel, while Slack's failure stopped Slack
    assert counted.count("NotificationsSent.batching") == 4
    assert counted.count("NotificationsFailed.batching") == 1
    assert (slack.attempts, counted.count("NotificationsFailed.slack")) == (1, 5)


def test_a_failed_batch_call_is_not_followed_by_another(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[str] = []
    monkeypatch.setattr(notifier, "count", counted.append)
    batching, sns = Batching(fails_with=NotifyError("sns:PublishBatch: NotFound")), Recording("sns")
    delivered = Notifier([batching, sns]).deliver(FIVE)
    assert len(batching.calls_made) == 1  # the other two calls are not made
    assert counted.count("NotificationsFailed.batching") == 5
    assert delivered == [True] * 5  # the other channel received them all
    assert Notifier([batching]).deliver(FIVE) == [False] * 5


def test_without_a_channel_every_notice_counts_as_delivered() -> None:
    assert Notifier([]).deliver(FIVE[:2]) == [True, True]
    assert Notifier([]).send(FIVE[:2]) == 0
