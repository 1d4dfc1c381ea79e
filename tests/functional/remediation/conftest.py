"""Fixtures of the remediation tests: one account per module, a journal per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.retries import bucket, standard

from functional.events import emitted_metrics
from functional.remediation.support import start_rolewarden, tables
from rolewarden.observability import metrics
from rolewarden.remediation import lost_reply


@pytest.fixture(scope="module")
def session(moto_account: Any) -> Iterator[Any]:
    with moto_account() as session:
        yield session


@pytest.fixture
def rolewarden(session: Any) -> SimpleNamespace:
    """RoleWarden as the CLI runs it: its own clients, and a journal of its own per test."""
    return start_rolewarden(session, f"journal-{next(tables)}", create=True)


@pytest.fixture
def no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries as configured (adaptive), without its backoff and rate waits."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True)


@pytest.fixture
def lost_reply_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits before looking for what a lost reply created: recorded, not waited."""
    waits: list[float] = []
    monkeypatch.setattr(lost_reply, "wait", waits.append)
    return waits


@pytest.fixture
def emitted(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], dict[str, float]]]:
    """The metrics counted since the test started, as the handlers would emit them."""
    metrics.clear_metrics()

    def flush() -> dict[str, float]:
        capsys.readouterr()
        metrics.flush_metrics()
        return emitted_metrics(capsys.readouterr().out)

    yield flush
    metrics.clear_metrics()
