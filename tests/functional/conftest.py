"""Functional tests: RoleWarden in-process against moto (`mock_aws`).

A moto account with AWS managed policies loaded costs a fraction of a second (they
are parsed once per process: tests/load_once.py), seeding the demo account about half a
second. Most test modules still build one small account per class or module
(`moto_account`) and give each scenario its own resources. `mock_aws` is the
function-scoped variant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import boto3
import pytest
from moto import mock_aws as moto_mock_aws

from rolewarden.demo.emulator import (
    pin_ecs_tasks_running_in_process,
    serialise_moto_dynamodb,
    support_missing_moto_filters,
    unpin_ecs_tasks_in_process,
)
from rolewarden.evaluation.account import ScanResult, scan_account
from rolewarden.observability import metrics
from rolewarden.rules.ids import RULE_IDS
from rolewarden.settings import Settings

REGION = "us-east-1"
# A fixed "today": exemption dates in the tests are relative to it.
TODAY = date(2030, 1, 1)

_FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}
_REAL_AWS_SETTINGS = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
)


def fake_aws_environment(env: pytest.MonkeyPatch) -> None:
    """Fake credentials in us-east-1; nothing that could reach a real account."""
    for name, value in _FAKE_ENVIRONMENT.items():
        env.setenv(name, value)
    for name in _REAL_AWS_SETTINGS:
        env.delenv(name, raising=False)


@contextmanager
def fresh_moto_account() -> Iterator[boto3.Session]:
    """An empty moto account with ECS tasks pinned RUNNING, for any fixture scope."""
    with pytest.MonkeyPatch.context() as env:
        fake_aws_environment(env)
        pin_ecs_tasks_running_in_process()
        try:
            with moto_mock_aws():
                yield boto3.Session(region_name=REGION)
        finally:
            unpin_ecs_tasks_in_process()


@pytest.fixture(autouse=True, scope="session")
def moto_knows_the_filters_aws_has() -> None:
    support_missing_moto_filters()
    serialise_moto_dynamodb()  # conditional writes are atomic, as in DynamoDB


@pytest.fixture(autouse=True)
def no_metrics_counted_before() -> None:
    """Powertools' Metrics store is process-wide, and code outside a handler (the
    remediation modules, a scan) counts into it without flushing: without this, a
    handler test would read what the tests before it in the process counted, which
    depends on the order (and, in parallel, on which worker ran what)."""
    metrics.clear_metrics()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)


@pytest.fixture
def mock_aws(aws_credentials: None) -> Iterator[boto3.Session]:
    """A fresh moto account (function scope) and a Session on it."""
    pin_ecs_tasks_running_in_process()
    try:
        with moto_mock_aws():
            yield boto3.Session(region_name=REGION)
    finally:
        unpin_ecs_tasks_in_process()


def run_scan(
    session: boto3.Session,
    *,
    today: date = TODAY,
    rules: tuple[str, ...] = RULE_IDS,
    **settings: Any,
) -> ScanResult:
    """Scan the session's region with every rule (or `rules`) and these settings."""
    return scan_account(session, [REGION], Settings(**settings), list(rules), today=today)


@pytest.fixture(scope="session")
def moto_account() -> Callable[[], Any]:
    """For class- or module-scoped accounts: `with moto_account() as session: ...`."""
    return fresh_moto_account


@pytest.fixture(scope="session")
def scan() -> Callable[..., ScanResult]:
    """`scan(session, **settings)`: the ScanResult of every rule on the account."""
    return run_scan
