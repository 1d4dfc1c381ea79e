"""A channel carries notices somewhere (SNS, Slack). A failing channel raises NotifyError;
the notifier logs and counts it and goes on with the other channels."""

from __future__ import annotations

from typing import Protocol

from rolewarden.notify.notice import Notice


class NotifyError(Exception):
    """A notice could not be delivered; the message never contains a secret."""


class Channel(Protocol):
    name: str

    def send(self, notice: Notice) -> None: ...
