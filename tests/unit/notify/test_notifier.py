"""Every notice to every channel; a failing channel never stops the others."""

from __future__ import annotations

from typing import Any

import pytest

from rolewarden.notify import notifier
from rolewarden.notify.channel import NotifyError
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
