"""What the measuring child processes share: a Lambda-like environment and a measurement
of one handler call (the Lambda context is the demo's).

Each measurement runs in a fresh interpreter, as a cold Lambda container would: process-
wide caches start empty, and the peak RSS is that of one invocation.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.meter import CallMeter

# What the template sets for every function, minus what needs a Lambda around it.
FUNCTION_ENVIRONMENT = {
    "POWERTOOLS_METRICS_NAMESPACE": "RoleWarden",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
}


def peak_rss_bytes() -> int:
    """This process's peak RSS. On Linux from VmHWM: getrusage's ru_maxrss survives fork
    and exec, so a child would report its parent's peak when that was higher."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def measure(meter: CallMeter, call: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """Run `call`; return its result and what it cost."""
    meter.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return result, {
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "emulator_seconds": meter.emulator_seconds,
        "aws_calls": meter.per_service(),
        "aws_calls_by_operation": meter.per_operation(),
        "emulator_calls": meter.per_service(meter.sent),
        "sns_messages": meter.sns_messages,
    }
