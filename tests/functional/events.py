"""The sample events of `events/`, and what invoking a handler in-process needs.

`load_event(name, **replace)` reads `events/<name>.json` and swaps the fixed ids the
samples use (the constants below, listed in events/README.md) for the ones the moto
account really has, by string substitution on the JSON text, longest id first:

    load_event("cloudtrail-run-instances", **{INSTANCE_ID: host.instance_id})

Each id to replace must occur in the file (a typo fails loudly). Config sends
`invokingEvent` and `ruleParameters` as JSON text inside the JSON, so a replacement
may not contain a quote or a backslash.

The rest serves the handler tests: a fake Lambda context, a session whose AWS calls
are recorded (and PutEvaluations without TestMode answered, which moto cannot do),
and the metrics and log lines a handler printed.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functional.journals import with_journal_key
from rolewarden.observability import logger
from rolewarden.triggers.wiring import Container

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"

# The fixed ids of the samples (events/README.md).
ACCOUNT = "123456789012"
REGION = "us-east-1"
INSTANCE_ID = "i-0abc1234def567890"
ROLE_NAME = "shop-ecs-host"
ROLE_ID = "AROAEXAMPLESHOPHOST01"
INSTANCE_PROFILE_NAME = "shop-ecs-instance-profile"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/orders-data"
POLICY_ID = "ANPAEXAMPLEORDERSDATA"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop"
TASK_DEFINITION_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/orders-api:1"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/shop/4f6bd8c1e2a94e7c9b3d2a1f0e5c6b7a"
CONTAINER_INSTANCE_ARN = (
    f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/shop/9c2e4b7a1d3f4e5a8b6c0d9e8f7a6b5c"
)
ACTOR_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-admin/jane.doe"
JOURNAL_ID = "20300101T093512Z-0a1b2c3d"
EXEMPT_UNTIL = "2030-03-01"
EXEMPT_REASON = "vendor appliance, ticket SEC-142"
# Config items: when the item was captured, when Config notified.
CAPTURE_TIME = "2030-01-01T09:35:12.345Z"
NOTIFICATION_TIME = "2030-01-01T09:36:01.678Z"


def event_names(prefix: str = "") -> list[str]:
    """The sample names (file stems) starting with `prefix`, sorted."""
    return sorted(path.stem for path in EVENTS_DIR.glob(f"{prefix}*.json"))


def load_event(name: str, **replace: str) -> dict[str, Any]:
    """events/<name>.json, with each fixed id (key) replaced by the real one (value)."""
    text = (EVENTS_DIR / f"{name}.json").read_text()
    for fixed in sorted(replace, key=len, reverse=True):
        real = replace[fixed]
        if fixed not in text:
            raise KeyError(f"{fixed!r} does not occur in events/{name}.json")
        if '"' in real or "\\" in real:
            raise ValueError(f"a replacement may not hold a quote or a backslash: {real!r}")
        text = text.replace(fixed, real)
    event: dict[str, Any] = json.loads(text)
    return event


# --- invoking a handler --------------------------------------------------------------


@dataclass(frozen=True)
class FakeLambdaContext:
    """What Powertools reads from the Lambda context."""

    function_name: str = "rolewarden-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rolewarden-test"
    aws_request_id: str = "5f2b8e1c-0d3a-4b6e-9c7f-1a2b3c4d5e6f"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


@dataclass(frozen=True)
class AwsCall:
    service: str
    operation: str
    params: dict[str, Any]
    region: str


@dataclass
class AwsCalls:
    """Every AWS call made through a recorded session, with its parameters."""

    calls: list[AwsCall] = field(default_factory=list)

    def clear(self) -> None:
        self.calls.clear()

    @property
    def operations(self) -> list[str]:
        return [f"{call.service}:{call.operation}" for call in self.calls]

    def of(self, operation: str) -> list[dict[str, Any]]:
        """Parameters of each call of `operation` ("PutEvaluations")."""
        return [call.params for call in self.calls if call.operation == operation]

    @property
    def writes(self) -> list[str]:
        """Calls that are not reads (Describe, List, Get, BatchGet...)."""
        reads = ("Describe", "List", "Get", "BatchGet", "Lookup", "Select")
        return [
            f"{call.service}:{call.operation}"
            for call in self.calls
            if not call.operation.startswith(reads)
        ]

    def per_service(self) -> Counter[str]:
        return Counter(call.service for call in self.calls)


def recorded_session(calls: AwsCalls, region: str = REGION) -> boto3.Session:
    """A Session whose clients record each call in `calls`.

    moto implements PutEvaluations only with TestMode; without it the call is recorded
    and answered here (as Config would answer: nothing failed). Lambda Invoke is
    recorded and answered as an asynchronous invoke (moto runs functions only in Docker).
    """
    session = boto3.Session(region_name=region)

    def record(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        calls.calls.append(
            AwsCall(
                model.service_model.service_name,
                model.name,
                copy.deepcopy(params),
                str(context.get("client_region")),
            )
        )
        if model.name == "PutEvaluations" and not params.get("TestMode"):
            context[_ANSWER_HERE] = {"FailedEvaluations": []}
        if model.name == "Invoke":  # moto runs functions only in Docker; Lambda says 202
            context[_ANSWER_HERE] = {"StatusCode": 202}

    def answer(context: dict[str, Any], **_: Any) -> Any:
        canned = context.get(_ANSWER_HERE)
        if canned is None:
            return None
        return SimpleNamespace(status_code=200, headers={}), canned

    session.events.register("before-parameter-build", record)
    session.events.register("before-call", answer)
    return session


_ANSWER_HERE = "rolewarden_test_answers_here"


# --- what a handler printed ------------------------------------------------------------


def printed_json(stdout: str) -> Iterator[dict[str, Any]]:
    for line in stdout.splitlines():
        if line.lstrip().startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def emitted_metrics(stdout: str) -> dict[str, float]:
    """Metric name -> value, from the EMF blobs Powertools printed (ColdStart left out)."""
    values: dict[str, float] = {}
    for blob in printed_json(stdout):
        if "_aws" not in blob:
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                name = metric["Name"]
                if name == "ColdStart":
                    continue
                value = blob[name]
                values[name] = values.get(name, 0) + sum(
                    value if isinstance(value, list) else [value]
                )
    return values


def log_records(stdout: str, message: str | None = None) -> list[dict[str, Any]]:
    """The structured log lines printed (those with `message`, when given)."""
    return [
        blob
        for blob in printed_json(stdout)
        if "_aws" not in blob
        and "level" in blob
        and (message is None or blob["message"] == message)
    ]


@contextmanager
def logs_to_current_stdout() -> Iterator[None]:
    """Powertools' handler keeps the stdout of import time: point it at today's (capsys)."""
    handler = logger.registered_handler
    previous = handler.setStream(sys.stdout)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


# --- one invocation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """What one handler invocation returned, printed and called."""

    result: dict[str, Any]
    stdout: str
    calls: list[AwsCall]

    @property
    def metrics(self) -> dict[str, float]:
        return emitted_metrics(self.stdout)

    def logs(self, message: str | None = None) -> list[dict[str, Any]]:
        return log_records(self.stdout, message)

    @property
    def operations(self) -> list[str]:
        return [f"{call.service}:{call.operation}" for call in self.calls]

    def params_of(self, operation: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.operation == operation]

    def regions_of(self, operation: str) -> set[str]:
        """The regions `operation` ("ec2:DescribeInstances") was called in."""
        return {
            call.region for call in self.calls if f"{call.service}:{call.operation}" == operation
        }

    @property
    def writes(self) -> list[str]:
        return AwsCalls(list(self.calls)).writes


class Invoker:
    """Invokes a handler in-process as Lambda would, inside the moto account in use.

    Per test: AWS_REGION and the Powertools variables are set, every ROLEWARDEN_*
    variable is cleared and only those given are set. One Invoker is one warm container
    (`container`, on a recorded session): its invocations share `cache` (what the
    container remembers of earlier events) and what CloudFormation said of the
    function's stack, which no other test sees.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self._env = monkeypatch
        self._capsys = capsys
        self.calls = AwsCalls()
        for name in list(os.environ):
            if name.startswith("ROLEWARDEN_"):
                monkeypatch.delenv(name)
        for name, value in {
            "AWS_REGION": REGION,
            "POWERTOOLS_SERVICE_NAME": "rolewarden",
            "POWERTOOLS_METRICS_NAMESPACE": "RoleWarden",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "ROLEWARDEN_CONFIG_TEST_MODE": "true",
        }.items():
            monkeypatch.setenv(name, value)
        # One session per test, as Lambda has one per container (the account is asked once).
        self.container = Container(session=recorded_session(self.calls))
        self.cache = self.container.context_cache

    def settings(self, **values: str) -> None:
        """ROLEWARDEN_<NAME>=value for each (an empty value unsets it). A journal table
        comes with its signing key (functional.journals) unless a key is named."""
        for name, value in with_journal_key(values).items():
            variable = "ROLEWARDEN_" + name.upper()
            if value:
                self._env.setenv(variable, value)
            else:
                self._env.delenv(variable, raising=False)

    def __call__(self, handler: Any, event: dict[str, Any], **settings: str) -> Invocation:
        self.settings(**settings)
        self.calls.clear()
        self._capsys.readouterr()
        with logs_to_current_stdout():
            result = handler(event, FakeLambdaContext(), container=self.container)
        return Invocation(result, self._capsys.readouterr().out, list(self.calls.calls))
