"""Cold start: a function loads what its invocations use, with the garbage collector
paused while RoleWarden's modules load and running after; in Lambda it is still traced.

Each check runs a fresh interpreter: what a module imports is decided once per process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rolewarden.observability import tracing_enabled

# Imported by no handler module (outside Lambda).
NO_FUNCTION = (
    "aws_xray_sdk",  # outside Lambda nothing is traced
    "aws_lambda_powertools.utilities.parser",  # our own envelope model is cheaper
    "rolewarden.notify.slack",  # only where a Slack secret is set
    "yaml",  # only for a stack's template written in YAML
)
# What other functions use, not this one.
OTHER_FUNCTIONS = {
    "sweep": (
        "aws_lambda_powertools.utilities.idempotency",
        "rolewarden.evaluation.cloudtrail",
        "rolewarden.remediation.remediator",  # the remediate function changes the account
    ),
    "events": ("rolewarden.remediation.remediator", "rolewarden.evaluation.account"),
    "config_rule": (
        "aws_lambda_powertools.utilities.idempotency",
        "rolewarden.evaluation.cloudtrail",
        "rolewarden.remediation.remediator",
    ),
    "remediate": ("rolewarden.evaluation.cloudtrail",),
}


def _clean_environment(**extra: str) -> dict[str, str]:
    """No AWS, Powertools or RoleWarden setting of the machine running the tests."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "POWERTOOLS_", "ROLEWARDEN_", "LAMBDA_", "_X_AMZN"))
    }
    return env | extra


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )


@pytest.mark.parametrize("function", sorted(OTHER_FUNCTIONS))
def test_a_handler_module_loads_only_what_its_function_uses(function: str) -> None:
    # Given a fresh interpreter outside Lambda / When it imports the function's handler
    code = f"import sys, rolewarden.handlers.{function}\nprint('\\n'.join(sorted(sys.modules)))"
    loaded = set(_python(code, _clean_environment()).stdout.split())

    # Then neither the X-Ray SDK, nor Powertools' parser models, nor machinery that only
    # other functions (or other settings) use were loaded
    assert f"rolewarden.handlers.{function}" in loaded
    unwanted = {*NO_FUNCTION, *OTHER_FUNCTIONS[function]}
    assert sorted(unwanted & loaded) == []


COLLECTOR = """
import gc, json
counted = lambda: sum(generation["collections"] for generation in gc.get_stats())
import boto3, pydantic, aws_lambda_powertools
before = counted()
import rolewarden.handlers.{function}
print(json.dumps({{
    "collections": counted() - before,
    "enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count() > 0,
}}))
"""


@pytest.mark.parametrize("function", sorted(OTHER_FUNCTIONS))
def test_a_handler_module_loads_with_the_collector_paused_and_leaves_it_running(
    function: str,
) -> None:
    # Given a fresh interpreter that loaded the libraries / When it imports the handler
    printed = _python(COLLECTOR.format(function=function), _clean_environment()).stdout

    # Then no collection ran while RoleWarden's modules loaded, what they loaded is out of
    # later collections' way, and the collector runs for the invocations
    assert json.loads(printed) == {"collections": 0, "enabled": True, "frozen": True}


def test_the_collector_resumes_when_a_module_fails_to_load_and_stays_off_if_it_was() -> None:
    code = """
import gc
from rolewarden.handlers.cold_start import loading
try:
    with loading():
        import rolewarden.no_such_module
except ImportError:
    pass
resumed = gc.isenabled()
gc.disable()
with loading():
    pass
print(resumed, gc.isenabled())
"""
    assert _python(code, _clean_environment()).stdout.split() == ["True", "False"]


@pytest.mark.parametrize(
    ("environment", "traced"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({}, False),  # the CLI, the tests
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
    ],
)
def test_tracing_follows_powertools_own_rule(environment: dict[str, str], traced: bool) -> None:
    assert tracing_enabled(environment) is traced


INVOKE_TWICE = """
import json
from types import SimpleNamespace

from rolewarden.handlers.config_rule import handler
from rolewarden.observability import tracer

context = SimpleNamespace(
    function_name="rolewarden-config-rule",
    function_version="$LATEST",
    invoked_function_arn="arn:aws:lambda:us-east-1:111122223333:function:rolewarden-config-rule",
    memory_limit_in_mb=256,
    aws_request_id="request-1",
    log_group_name="/aws/lambda/rolewarden-config-rule",
    log_stream_name="stream",
)
for _ in range(2):
    handler({"not": "a Config rule invocation"}, context)
from aws_xray_sdk.core.patcher import _PATCHED_MODULES
print(json.dumps({"tracer": type(tracer).__name__, "patched": sorted(_PATCHED_MODULES)}))
"""


def test_in_lambda_a_handler_is_traced_and_counts_its_cold_start(tmp_path: Path) -> None:
    # Given a Lambda environment (tracing active) whose X-Ray daemon is a local socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(10)
        host, port = daemon.getsockname()
        env = _clean_environment(
            LAMBDA_TASK_ROOT=str(tmp_path),
            AWS_REGION="us-east-1",
            AWS_LAMBDA_FUNCTION_NAME="rolewarden-config-rule",
            AWS_XRAY_DAEMON_ADDRESS=f"{host}:{port}",
            _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            POWERTOOLS_SERVICE_NAME="rolewarden-config-rule",
        )

        # When the function is invoked twice in one container
        printed = _python(INVOKE_TWICE, env).stdout.splitlines()
        segments = [_segment(daemon.recv(65536)) for _ in range(2)]

    # Then Powertools' Tracer wraps the handler, AWS calls would be subsegments too, and
    # each invocation's subsegment reaches the daemon, the first one marked a cold start
    assert json.loads(printed[-1]) == {"tracer": "Tracer", "patched": ["botocore"]}
    assert [segment["name"] for segment in segments] == ["## handler", "## handler"]
    assert [segment["annotations"]["ColdStart"] for segment in segments] == [True, False]
    # And no result reaches X-Ray: a result names roles, policies and journal documents
    assert [segment.get("metadata") for segment in segments] == [None, None]
    # And the ColdStart metric is emitted by the first invocation only
    cold_starts = [line for line in printed if '"ColdStart"' in line and '"_aws"' in line]
    assert len(cold_starts) == 1
    assert json.loads(cold_starts[0])["ColdStart"] == [1.0]


def _segment(datagram: bytes) -> dict[str, object]:
    """The daemon protocol: a JSON header line, then the (sub)segment document."""
    _header, _, document = datagram.decode().partition("\n")
    return dict(json.loads(document))
