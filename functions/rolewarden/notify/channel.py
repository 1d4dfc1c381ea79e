"""A channel carries notices somewhere (SNS, Slack). A failing channel raises NotifyError;
the notifier logs and counts it and goes on with the other channels.

A channel with a batch API (SNS PublishBatch) also hands the notifier its calls ready to
make, several notices each; a call can deliver some of its notices and refuse others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rolewarden.notify.notice import Notice


class NotifyError(Exception):
    """A notice could not be delivered; the message never contains a secret."""


class Channel(Protocol):
    name: str

    def send(self, notice: Notice) -> None: ...


@dataclass(frozen=True)
class Call:
    """One call of a channel, ready to make. `positions` are the notices it carries (their
    places in the list given to the channel); `make` returns those it did not deliver, with
    the reason, and raises when the call itself failed (then none was delivered)."""

    positions: list[int]
    make: Callable[[], dict[int, str]]


@runtime_checkable
class BatchChannel(Channel, Protocol):
    def calls(self, notices: Sequence[Notice]) -> list[Call]:
        """The calls that carry these notices, each notice in exactly one, in order."""
        ...
