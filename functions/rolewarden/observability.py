"""Logger, Tracer and Metrics: one instance each, shared by every handler.

Powertools reads POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE from the
environment (the template sets them); the defaults here serve the CLI and tests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

# Each function names itself (template.yaml): its metrics carry its own `service` dimension.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "rolewarden")
NAMESPACE = "RoleWarden"
_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})  # Powertools' spellings of true


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Powertools' own rule: traced in Lambda (not under `sam local`), unless
    POWERTOOLS_TRACE_DISABLED is true."""
    in_lambda = bool(environ.get("LAMBDA_TASK_ROOT")) and not environ.get("AWS_SAM_LOCAL")
    switched_off = environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in _TRUE
    return in_lambda and not switched_off


class Untraced:
    """Where nothing is traced (the CLI, tests, `sam local`): the handler runs as written.

    A disabled Powertools Tracer would still import the X-Ray SDK, which outside Lambda
    builds X-Ray clients for its sampler on import (about 150 ms for nothing)."""

    def capture_lambda_handler(
        self, lambda_handler: Callable[..., Any], capture_response: bool = True
    ) -> Callable[..., Any]:
        return lambda_handler


def _tracer() -> Tracer | Untraced:
    if not tracing_enabled():
        return Untraced()
    # Only AWS calls (botocore) become subsegments: patch_all would also import sqlite3
    # and whatever else is installed, for calls RoleWarden never makes.
    return Tracer(service=SERVICE, patch_modules=["botocore"])


AWS_SDK_LOGGERS = ("botocore", "boto3")


def keep_aws_wire_out_of_logs() -> None:
    """At DEBUG botocore logs each request's parameters and each response's body: a
    secret's value (GetSecretValue), a decrypted parameter. Whatever the log level (the
    template's LogLevel sets the root logger's in Lambda), its loggers stay at INFO."""
    for name in AWS_SDK_LOGGERS:
        sdk_logger = logging.getLogger(name)
        sdk_logger.setLevel(max(sdk_logger.level, logging.INFO))


keep_aws_wire_out_of_logs()
logger = Logger(service=SERVICE)
tracer = _tracer()
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)


def lambda_handler(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A Lambda handler as every RoleWarden function runs it: its logs carry the Lambda
    context, its metrics are flushed (with the cold start) when it returns, and it is
    traced without its result (a result names roles and policies, and a remediation's
    carries the documents it journaled)."""
    traced = tracer.capture_lambda_handler(handler, capture_response=False)
    measured = metrics.log_metrics(traced, capture_cold_start_metric=True)
    return logger.inject_lambda_context(measured)


@contextmanager
def for_the_command_line() -> Iterator[None]:
    """The CLI prints its own report: its logs stay quiet unless POWERTOOLS_LOG_LEVEL asks."""
    previous = logger.log_level
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL") or "CRITICAL")
    try:
        yield
    finally:
        logger.setLevel(previous)


def count(name: str, value: float = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
