"""Sends each notice to every configured channel. A failing channel never blocks another
(nor the remediation that caused the notice): the failure is logged and counted.

A channel with a batch API gets the notices in as few calls as it can; the others get one
call per notice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial

from rolewarden.notify.channel import BatchChannel, Call, Channel, NotifyError
from rolewarden.notify.notice import Notice
from rolewarden.observability import count, logger

NOT_TRIED = "not tried: it failed earlier"


class Notifier:
    def __init__(self, channels: Sequence[Channel]) -> None:
        self.channels = list(channels)

    def send(self, notices: Iterable[Notice]) -> int:
        """Deliveries made (a notice to one channel is one delivery)."""
        return sum(self._receivers(list(notices)))

    def deliver(self, notices: Sequence[Notice]) -> list[bool]:
        """Per notice, in order: delivered, that is received by at least one channel (or
        no channel is configured: there is nobody to deliver to)."""
        return [receivers > 0 or not self.channels for receivers in self._receivers(notices)]

    def _receivers(self, notices: Sequence[Notice]) -> list[int]:
        """Per notice, the number of channels that received it."""
        receivers = [0] * len(notices)
        for channel in self.channels:
            for position in self._through(channel, notices):
                receivers[position] += 1
        return receivers

    def _through(self, channel: Channel, notices: Sequence[Notice]) -> list[int]:
        """The positions of the notices the channel received. After a failed call the
        channel is not tried again in this send: its retries would eat the function's time."""
        delivered: list[int] = []
        broken = False
        for call in _calls(channel, notices):
            if broken:
                refused = dict.fromkeys(call.positions, NOT_TRIED)
            else:
                try:
                    refused = call.make()
                except NotifyError as error:
                    broken, refused = True, dict.fromkeys(call.positions, str(error))
                except Exception as error:  # its text may hold a URL: only its type is logged
                    broken, refused = True, dict.fromkeys(call.positions, type(error).__name__)
            for position in call.positions:
                if position in refused:
                    self._failed(channel.name, notices[position], refused[position])
                else:
                    delivered.append(position)
                    count(f"NotificationsSent.{channel.name}")
        return delivered

    @staticmethod
    def _failed(channel: str, notice: Notice, reason: str) -> None:
        count(f"NotificationsFailed.{channel}")
        logger.error("notification failed", channel=channel, kind=notice.kind.value, reason=reason)


def _calls(channel: Channel, notices: Sequence[Notice]) -> list[Call]:
    """The channel's batch calls, or one call per notice. Notices the batch channel cannot
    prepare make one failed call."""
    if not notices:
        return []
    if isinstance(channel, BatchChannel):
        try:
            return channel.calls(notices)
        except Exception as error:  # its text may hold a URL: only its type is logged
            return [Call(list(range(len(notices))), partial(_raise, type(error).__name__))]
    return [
        Call([position], partial(_send_one, channel, notice))
        for position, notice in enumerate(notices)
    ]


def _send_one(channel: Channel, notice: Notice) -> dict[int, str]:
    channel.send(notice)
    return {}


def _raise(reason: str) -> dict[int, str]:
    raise NotifyError(reason)
