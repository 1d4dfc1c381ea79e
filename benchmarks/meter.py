"""Counts the AWS calls a boto3 Session makes, and the time spent waiting on the emulator.

Attach it to the Session before any client is made (botocore copies the Session's event
handlers into each new client). Each call is counted twice: as sent to the emulator, and
as AWS would need it (`aws_pages.aws_calls`: moto ignores page sizes).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import boto3

from benchmarks.aws_pages import aws_calls

_REQUEST = "benchmarks.request"


class CallMeter:
    def __init__(self) -> None:
        self.sent: Counter[tuple[str, str]] = Counter()
        self.aws: Counter[tuple[str, str]] = Counter()
        self.emulator_seconds = 0.0
        self.sns_messages = 0  # Publish: one; PublishBatch: one per entry
        self._sent_at: float | None = None

    def attach(self, session: boto3.Session) -> CallMeter:
        events = session.events
        events.register("before-parameter-build", self._remember_request)
        events.register("before-send", self._started)
        events.register("response-received", self._answered)
        events.register("after-call", self._count)
        return self

    def reset(self) -> None:
        self.sent.clear()
        self.aws.clear()
        self.emulator_seconds = 0.0
        self.sns_messages = 0

    def per_service(self, counter: Counter[tuple[str, str]] | None = None) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (service, _operation), calls in (counter if counter is not None else self.aws).items():
            totals[service] += calls
        return dict(sorted(totals.items()))

    def per_operation(self) -> dict[str, int]:
        return {f"{service}:{op}": calls for (service, op), calls in sorted(self.aws.items())}

    @property
    def total(self) -> int:
        return sum(self.aws.values())

    # botocore event handlers

    def _remember_request(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_REQUEST] = dict(params)

    def _started(self, **_: Any) -> None:
        self._sent_at = time.perf_counter()

    def _answered(self, **_: Any) -> None:
        if self._sent_at is not None:
            self.emulator_seconds += time.perf_counter() - self._sent_at
            self._sent_at = None

    def _count(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        key = (model.service_model.service_name, model.name)
        request = context.get(_REQUEST, {})
        self.sent[key] += 1
        self.aws[key] += aws_calls(*key, request, parsed)
        if key == ("sns", "Publish"):
            self.sns_messages += 1
        elif key == ("sns", "PublishBatch"):
            self.sns_messages += len(request.get("PublishBatchRequestEntries", []))
