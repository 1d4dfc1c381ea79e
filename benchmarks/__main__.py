"""`make bench`: every measurement, one table, printed and written to docs/benchmarks.md.

    python -m benchmarks [--sizes small,medium,large] [--sweeps 3] [--seed 6]
                         [--import-runs 11] [--events-on medium|none] [--no-artifact]
                         [--no-policies]

Exits 1 when a sweep's findings differ from the violations seeded (a correctness
failure); a missed performance target is reported in the table, not as a failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.account_bench import AccountBench, bench_account
from benchmarks.accounts import SIZES
from benchmarks.artifact import measure_artifact
from benchmarks.policy_bench import bench_policies, policy_rows
from benchmarks.report import machine, rows, table

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def size_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SIZES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or 'nothing'}: sizes are {', '.join(SIZES)}, comma-separated"
        )
    return names


def at_least(minimum: int) -> Callable[[str], int]:
    def number(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value}: at least {minimum}")
        return value

    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--sizes", type=size_names, default="small,medium,large")
    parser.add_argument(
        "--sweeps", type=at_least(0), default=3, help="later sweeps measured per size"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--import-runs", type=at_least(1), default=11)
    parser.add_argument(
        "--events-on", choices=[*SIZES, "none"], default="medium", help="account of the events"
    )
    parser.add_argument("--no-artifact", action="store_true", help="skip sam build and imports")
    parser.add_argument(
        "--policies",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the policy engine on every AWS managed policy, against policy_sentry",
    )
    parser.add_argument("--output", type=Path, default=DOCUMENT)
    args = parser.parse_args(argv)
    if args.events_on not in (*args.sizes, "none"):
        parser.error(f"--events-on {args.events_on}: not one of --sizes {','.join(args.sizes)}")
    sizes = [SIZES[name] for name in args.sizes]

    accounts: list[AccountBench] = []
    for size in sizes:
        print(f"{size.name} account:", flush=True)
        accounts.append(
            bench_account(size, args.sweeps, args.seed, with_events=size.name == args.events_on)
        )
    artifact = None
    if not args.no_artifact:
        print("sam build and cold start ...", flush=True)
        artifact = measure_artifact(args.import_runs)

    policies = None
    if args.policies:
        print("policy engine ...", flush=True)
        policies = bench_policies()

    result = table([*rows(accounts, artifact), *(policy_rows(policies) if policies else ())])
    header = [*machine(), f"- seed {args.seed}; {args.sweeps} later sweeps per size"]
    print("\n" + "\n".join(header) + "\n\n" + result)
    args.output.write_text(
        "# Benchmarks\n\n"
        "`make bench` wrote this file. How it measures, and what the minimum number of calls\n"
        "is: [benchmarks/README.md](../benchmarks/README.md).\n\n"
        + "\n".join(header)
        + "\n\n"
        + result
        + "\n"
    )
    print(f"\nwritten to {args.output}")
    return 0 if all(bench.findings_match for bench in accounts) else 1


if __name__ == "__main__":
    sys.exit(main())
