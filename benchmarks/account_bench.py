"""One account size, end to end: seed it on an emulator process, sweep it several times
(each sweep a fresh process, as a cold Lambda container), and decide each event type.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from benchmarks.accounts import AccountSize, SeededAccount, seed_account
from benchmarks.aws_pages import minimum_sweep_calls
from benchmarks.lambda_process import FUNCTION_ENVIRONMENT
from benchmarks.server import EmulatorProcess

FINDINGS_TABLE = "rolewarden-findings"
IDEMPOTENCY_TABLE = "rolewarden-idempotency"
TOPIC = "rolewarden-alerts"
_DROPPED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "ROLEWARDEN_")


@dataclass
class SweepRun:
    """One sweep's measurement (`sweep_once`), with the minimum it is compared to."""

    cost: dict[str, Any]
    minimum: dict[str, int]

    @property
    def calls(self) -> int:
        return sum(self.cost["aws_calls"].values())

    @property
    def ratio(self) -> float:
        return self.calls / sum(self.minimum.values())


@dataclass
class AccountBench:
    seeded: SeededAccount
    seed_seconds: float
    sweeps: list[SweepRun]  # the first sweep of the account, then the steady ones
    open_findings: set[str]  # in the findings table after the first sweep
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> SweepRun:
        return self.sweeps[0]

    @property
    def steady(self) -> list[SweepRun]:
        return self.sweeps[1:] or self.sweeps

    def median(self, key: str) -> float:
        return float(statistics.median(run.cost[key] for run in self.steady))

    @property
    def peak_rss_bytes(self) -> int:
        return max(int(run.cost["peak_rss_bytes"]) for run in self.sweeps)

    @property
    def findings_match(self) -> bool:
        reported = {run.cost["findings"] for run in self.sweeps}
        return reported == {len(self.seeded.violations)} and (
            self.open_findings == self.seeded.finding_ids
        )


def bench_account(
    size: AccountSize, sweeps: int, seed: int, with_events: bool, log: Any = print
) -> AccountBench:
    with EmulatorProcess() as emulator:
        session = emulator.session()
        log(f"  seeding {size.name} ({size.resources:,} resources) ...")
        started = time.perf_counter()
        seeded = seed_account(session, size, seed)
        seed_seconds = time.perf_counter() - started
        topic = _alert_targets(session)
        environment = _function_environment(emulator.environment(), topic)
        runs: list[SweepRun] = []
        open_findings: set[str] = set()
        for number in range(1 + sweeps):
            log(f"  sweep {number + 1} of {1 + sweeps} ...")
            cost = _child("benchmarks.sweep_once", environment)
            table_items, table_bytes = _findings_table(session)
            if number == 0:
                open_findings = {item["finding_id"]["S"] for item in table_items}
            announced = max(0, cost["sns_messages"] - 1)  # the last message is the digest
            minimum = minimum_sweep_calls(seeded.counts, cost["findings"], announced, table_bytes)
            runs.append(SweepRun(cost, minimum))
        bench = AccountBench(seeded, seed_seconds, runs, open_findings)
        if with_events:
            log("  events ...")
            bench.events = _child("benchmarks.events_once", environment, seeded.samples)
    return bench


def _alert_targets(session: boto3.Session) -> str:
    """The findings and idempotency tables and the topic, as the template makes them."""
    dynamodb = session.client("dynamodb")
    for table, key in ((FINDINGS_TABLE, "finding_id"), (IDEMPOTENCY_TABLE, "id")):
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        )
    arn: str = session.client("sns").create_topic(Name=TOPIC)["TopicArn"]
    return arn


def _function_environment(aws: dict[str, str], topic: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    return {
        **inherited,
        **FUNCTION_ENVIRONMENT,
        **aws,
        "ROLEWARDEN_FINDINGS_TABLE": FINDINGS_TABLE,
        "ROLEWARDEN_IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        "ROLEWARDEN_TOPIC_ARN": topic,
    }


def _findings_table(session: boto3.Session) -> tuple[list[dict[str, Any]], int]:
    """Open findings, and the size of the table a sweep's Scan reads (JSON: an upper bound
    of DynamoDB's item size)."""
    pages = session.client("dynamodb").get_paginator("scan").paginate(TableName=FINDINGS_TABLE)
    items = [item for page in pages for item in page["Items"]]
    open_items = [item for item in items if "resolved_at" not in item]
    return open_items, len(json.dumps(items))


def _child(module: str, environment: dict[str, str], argument: Any = None) -> Any:
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "out.json"
        arguments = [str(output)]
        if argument is not None:
            given = Path(directory) / "in.json"
            given.write_text(json.dumps(argument))
            arguments.insert(0, str(given))
        subprocess.run(
            [sys.executable, "-m", module, *arguments],
            env=environment,
            check=True,
            stdout=subprocess.DEVNULL,  # the function's logs and metrics
        )
        return json.loads(output.read_text())
