"""The policy engine's cost: every AWS managed policy evaluated and classified, against
policy_sentry expanding the same documents, and the roles that grant (almost) everything.

Each measurement is a fresh process (`policy_once`), interleaved and repeated; the fastest
run counts, as for the cold start: a slower run is the machine's doing, not the code's.
No emulator: the engine is pure.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.policy_once import POLICY_SENTRY, ROLEWARDEN, WORST_CASE_NAMES, WORST_CASES
from benchmarks.report import Row, table

RUNS = 3
RATIO_TARGET = 2.0
WORST_CASE_TARGET_SECONDS = 1.0
SECTION = "policy engine"
INSTALL = "pip install -c tests/requirements.txt -r benchmarks/requirements.txt"


@dataclass
class PolicyBench:
    rolewarden: list[dict[str, Any]]
    policy_sentry: list[dict[str, Any]] | None  # None: policy_sentry is not installed
    worst: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.policy_sentry:
            return None
        return fastest(self.rolewarden, "corpus_seconds") / fastest(
            self.policy_sentry, "corpus_seconds"
        )


def fastest(runs: list[dict[str, Any]], key: str) -> float:
    return min(float(run[key]) for run in runs)


def bench_policies(runs: int = RUNS, log: Any = print) -> PolicyBench:
    sentry = importlib.util.find_spec(POLICY_SENTRY) is not None
    bench = PolicyBench([], [] if sentry else None)
    for number in range(runs):
        log(f"  policy engine, run {number + 1} of {runs} ...")
        bench.rolewarden.append(_child(ROLEWARDEN))
        if bench.policy_sentry is not None:
            bench.policy_sentry.append(_child(POLICY_SENTRY))
        for case in WORST_CASES:
            bench.worst.setdefault(case, []).append(_child(case))
    return bench


def _child(what: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "out.json"
        subprocess.run([sys.executable, "-m", "benchmarks.policy_once", what, output], check=True)
        result: dict[str, Any] = json.loads(output.read_text())
        return result


def policy_rows(bench: PolicyBench) -> Iterator[Row]:
    ours = min(bench.rolewarden, key=lambda run: float(run["corpus_seconds"]))
    runs = len(bench.rolewarden)
    yield Row(
        SECTION,
        "corpus",
        f"{ours['policies']:,} AWS managed policies (moto's), each the only policy of a role: "
        f"{ours['grants']:,} grants, {ours['offending']:,} roles with application "
        f"permissions, {ours['unreadable']} unreadable",
    )
    yield Row(SECTION, "data load (CPU)", _loads(ours, bench.policy_sentry))
    measure = f"evaluate and classify every policy (CPU, fastest of {runs})"
    if bench.policy_sentry is None or bench.ratio is None:
        yield Row(
            SECTION,
            measure,
            f"{ours['corpus_seconds']:.2f} s; policy_sentry not installed ({INSTALL})",
            f"<= {RATIO_TARGET:g}x policy_sentry",
        )
    else:
        theirs = fastest(bench.policy_sentry, "corpus_seconds")
        yield Row(
            SECTION,
            measure,
            f"{ours['corpus_seconds']:.2f} s vs policy_sentry's get_expanded_policy "
            f"{theirs:.2f} s = {bench.ratio:.2f}x",
            f"<= {RATIO_TARGET:g}x policy_sentry",
            bench.ratio <= RATIO_TARGET,
        )
    for case, case_runs in bench.worst.items():
        yield _worst_row(case, case_runs)


def _loads(ours: dict[str, Any], sentry: list[dict[str, Any]] | None) -> str:
    text = (
        f"RoleWarden's catalogue (every service) and baseline {ours['load_seconds'] * 1000:.0f} ms"
    )
    if sentry:
        text += f", policy_sentry's database {fastest(sentry, 'load_seconds') * 1000:.0f} ms"
    return text + " (not in the times below)"


def _worst_row(case: str, runs: list[dict[str, Any]]) -> Row:
    cold, warm = fastest(runs, "cold_seconds"), fastest(runs, "warm_seconds")
    reasons = runs[0]["critical"]
    critical = f"critical: {reasons[0]}" if reasons else "nothing critical"
    if len(reasons) > 1:
        critical += f" (+{len(reasons) - 1} more reasons)"
    return Row(
        SECTION,
        f"one role: {WORST_CASE_NAMES[case]}",
        f"cold {cold * 1000:.0f} ms (catalogue load included), warm {warm * 1000:.0f} ms; "
        f"{runs[0]['grants']:,} grants, {critical}",
        f"< {WORST_CASE_TARGET_SECONDS:g} s",
        cold < WORST_CASE_TARGET_SECONDS,
    )


def main() -> None:
    """`python -m benchmarks.policy_bench`: these rows alone (`make bench` has them too)."""
    print(table(list(policy_rows(bench_policies()))))


if __name__ == "__main__":
    main()
