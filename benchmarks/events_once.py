"""Each CloudTrail event type, measured: `python -m benchmarks.events_once SAMPLES.json OUT.json`.

The event function's handler runs in this fresh process against the seeded account, fed
with the samples of `events/`, their fixed ids (events/README.md) swapped for resources
of the account (SAMPLES.json, from `accounts.SeededAccount.samples`). The IAM role event
(`COLD_EVENT`) is decided first, in the cold process: its calls are those of a fresh
container, whose context cache is empty. Then a first event warms the process, as a warm
Lambda container would be, and each event type is decided `REPEATS` times. Calls are
those of its first decision (the role event's: warm); times are the median.
"""

from __future__ import annotations

import functools
import json
import re
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

from benchmarks.lambda_process import measure
from benchmarks.meter import CallMeter
from rolewarden.demo.event import DemoLambdaContext
from rolewarden.handlers import events
from rolewarden.triggers.wiring import this_container

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
REPEATS = 3
COLD_EVENT = "cloudtrail-attach-role-policy.json"  # measured cold and warm
SAMPLE_ACCOUNT = "123456789012"
SAMPLE_ARN = f"arn:aws:ecs:us-east-1:{SAMPLE_ACCOUNT}"


def fixed_ids(samples: dict[str, str]) -> dict[str, str]:
    """The samples' fixed ids -> the seeded account's resources."""
    definition = samples["task_definition"].rsplit("/", 1)[-1]  # family:revision
    return {
        f"{SAMPLE_ARN}:task/shop/4f6bd8c1e2a94e7c9b3d2a1f0e5c6b7a": samples["task"],
        f"{SAMPLE_ARN}:container-instance/shop/9c2e4b7a1d3f4e5a8b6c0d9e8f7a6b5c": samples[
            "container_instance"
        ],
        f"{SAMPLE_ARN}:task-definition/orders-api:1": samples["task_definition"],
        f"{SAMPLE_ARN}:service/shop/orders": samples["service"],
        f"{SAMPLE_ARN}:cluster/shop": samples["cluster"],
        f"arn:aws:iam::{SAMPLE_ACCOUNT}:policy/orders-data": samples["policy"],
        "shop-ecs-instance-profile": samples["profile"],
        "shop-ecs-host": samples["role"],
        "i-0abc1234def567890": samples["host_instance"],
        '"orders-api:1"': f'"{definition}"',
        '"orders-api"': f'"{definition.split(":")[0]}"',
        '"orders"': f'"{samples["service"].rsplit("/", 1)[-1]}"',
        '"shop"': f'"{samples["cluster"].rsplit("/", 1)[-1]}"',
    }


def sample_event(path: Path, ids: dict[str, str]) -> dict[str, Any]:
    text = path.read_text()
    for fixed in sorted(ids, key=len, reverse=True):
        text = text.replace(fixed, ids[fixed])
    event: dict[str, Any] = json.loads(text)
    return event


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """A new delivery (idempotency would otherwise answer a repeat from its table)."""
    return {**event, "id": str(uuid.uuid4())}


def event_type(event: dict[str, Any], sample: str) -> str:
    """The call's name, and what sets its sample apart from the call's plain one
    (`cloudtrail-run-task-without-cluster-arn` -> "RunTask (without cluster arn)")."""
    if event.get("detail-type") == "ECS Task State Change":
        return "ECS Task State Change (RUNNING)"
    name = str(event["detail"]["eventName"])
    if event["detail"].get("errorCode"):
        return f"{name} (failed call)"
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
    variant = sample.removeprefix("cloudtrail-").removeprefix(kebab).strip("-")
    return f"{name} ({variant.replace('-', ' ')})" if variant else name


def _decide(event: dict[str, Any], context: DemoLambdaContext) -> dict[str, Any]:
    result: dict[str, Any] = events.handler(fresh(event), context)
    return result


def main() -> None:
    ids = fixed_ids(json.loads(Path(sys.argv[1]).read_text()))
    paths = [
        *sorted(EVENTS_DIR.glob("cloudtrail-*.json")),
        EVENTS_DIR / "ecs-task-state-change-running.json",
    ]
    samples = [sample_event(path, ids) for path in paths]
    names = [path.stem for path in paths]
    meter = CallMeter().attach(this_container().session)
    context = DemoLambdaContext()
    cold_event = samples[paths.index(EVENTS_DIR / COLD_EVENT)]
    _, cold = measure(meter, functools.partial(_decide, cold_event, context))
    events.handler(fresh(samples[0]), context)  # warm-up, not measured
    measured = []
    for event, name in zip(samples, names, strict=True):
        decide = functools.partial(_decide, event, context)
        runs = [measure(meter, decide) for _ in range(REPEATS)]
        result, first = runs[0]
        entry: dict[str, Any] = {
            "event": event_type(event, name),
            "status": result.get("status"),
            "evaluations": result.get("evaluations", 0),
            "findings": len(result.get("findings", [])),
            "scan_errors": result.get("scan_errors", []),
            "aws_calls": first["aws_calls"],
            "aws_calls_by_operation": first["aws_calls_by_operation"],
            "wall_seconds": statistics.median(cost["wall_seconds"] for _, cost in runs),
            "cpu_seconds": statistics.median(cost["cpu_seconds"] for _, cost in runs),
            "emulator_seconds": statistics.median(cost["emulator_seconds"] for _, cost in runs),
        }
        if event is cold_event:
            entry["cold_aws_calls"] = cold["aws_calls"]
            entry["cold_aws_calls_by_operation"] = cold["aws_calls_by_operation"]
        measured.append(entry)
    Path(sys.argv[2]).write_text(json.dumps(measured))


if __name__ == "__main__":
    main()
