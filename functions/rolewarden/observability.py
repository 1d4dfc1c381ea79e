"""Logger, Tracer and Metrics: one instance each, shared by every handler.

Powertools reads POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE from the
environment (the template sets them); the defaults here serve the CLI and tests.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from rolewarden.rules.model import Finding

# Each function names itself (template.yaml): its metrics carry its own `service` dimension.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "rolewarden")
NAMESPACE = "RoleWarden"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)


@contextmanager
def for_the_command_line() -> Iterator[None]:
    """The CLI prints its own report: its logs stay quiet unless POWERTOOLS_LOG_LEVEL asks."""
    previous = logger.log_level
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL") or "CRITICAL")
    try:
        yield
    finally:
        logger.setLevel(previous)


def count_findings(findings: Iterable[Finding]) -> None:
    """Findings by rule and by severity (one metric each, so dashboards can slice)."""
    findings = list(findings)
    metrics.add_metric(name="Findings", unit=MetricUnit.Count, value=len(findings))
    for rule, number in Counter(finding.rule for finding in findings).items():
        metrics.add_metric(name=f"Findings.{rule}", unit=MetricUnit.Count, value=number)
    for severity, number in Counter(finding.severity.value for finding in findings).items():
        metrics.add_metric(name=f"Findings.{severity}", unit=MetricUnit.Count, value=number)


def count(name: str, value: float = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
