"""Sends each notice to every configured channel. A failing channel never blocks another
(nor the remediation that caused the notice): the failure is logged and counted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rolewarden.notify.channel import Channel, NotifyError
from rolewarden.notify.notice import Notice
from rolewarden.observability import count, logger


class Notifier:
    def __init__(self, channels: Sequence[Channel]) -> None:
        self.channels = list(channels)

    def send(self, notices: Iterable[Notice]) -> int:
        """Deliveries made (a notice to one channel is one delivery). A channel that failed
        is not tried again in this call: its retries would eat the function's time."""
        delivered = 0
        broken: set[str] = set()
        for notice in notices:
            for channel in self.channels:
                if channel.name in broken:
                    self._failed(channel.name, notice, "not tried: it failed earlier")
                    continue
                try:
                    channel.send(notice)
                except NotifyError as error:
                    broken.add(channel.name)
                    self._failed(channel.name, notice, str(error))
                except Exception as error:  # its text may hold a URL: only its type is logged
                    broken.add(channel.name)
                    self._failed(channel.name, notice, type(error).__name__)
                else:
                    delivered += 1
                    count(f"NotificationsSent.{channel.name}")
        return delivered

    @staticmethod
    def _failed(channel: str, notice: Notice, reason: str) -> None:
        count(f"NotificationsFailed.{channel}")
        logger.error("notification failed", channel=channel, kind=notice.kind.value, reason=reason)
