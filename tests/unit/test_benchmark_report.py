"""The benchmarks' table: each target is judged from the measurements."""

from __future__ import annotations

from benchmarks.account_bench import AccountBench, SweepRun
from benchmarks.accounts import SIZES, SeededAccount
from benchmarks.artifact import FLOOR, Artifact
from benchmarks.report import Row, rows, table


def sweep(calls: dict[str, int], findings: int, peak_mb: int = 150) -> SweepRun:
    cost = {
        "aws_calls": calls,
        "findings": findings,
        "wall_seconds": 2.0,
        "cpu_seconds": 0.5,
        "emulator_seconds": 1.5,
        "peak_rss_bytes": peak_mb << 20,
    }
    return SweepRun(cost=cost, minimum={"ecs": 100, "iam": 10})


def account(runs: list[SweepRun], open_ids: set[str] | None = None) -> AccountBench:
    seeded = SeededAccount(SIZES["large"], 6, "123456789012", "us-east-1")
    seeded.violations = {("ec2-instance-without-profile", "arn:aws:ec2:::instance/i-1")}
    return AccountBench(seeded, 1.0, runs, seeded.finding_ids if open_ids is None else open_ids)


def judged(all_rows: list[Row], measure: str) -> bool | None:
    return next(row.met for row in all_rows if row.measure.startswith(measure))


def test_calls_within_the_ratio_and_the_exact_findings_meet_their_targets() -> None:
    bench = account([sweep({"ecs": 105, "iam": 12}, findings=1)] * 2)

    all_rows = list(rows([bench], None))

    assert judged(all_rows, "AWS calls, a later sweep") is True
    assert judged(all_rows, "findings") is True
    assert judged(all_rows, "peak memory") is True


def test_too_many_calls_a_finding_missing_or_too_much_memory_miss_them() -> None:
    bench = account([sweep({"ecs": 140, "iam": 10}, findings=1, peak_mb=300)], open_ids=set())

    all_rows = list(rows([bench], None))

    assert judged(all_rows, "AWS calls, the first sweep") is False  # 150 / 110 > 1.2
    assert judged(all_rows, "findings") is False  # the findings table lacks it
    assert judged(all_rows, "peak memory") is False
    assert "**no**" in table(all_rows)


def test_a_handler_import_is_judged_against_the_floor_not_bare_boto3() -> None:
    artifact = Artifact(where="test", imports={"boto3": 0.2, FLOOR: 0.24} | dict.fromkeys(
        ("rolewarden.handlers.config_rule", "rolewarden.handlers.events"), 0.25)
        | {"rolewarden.handlers.remediate": 0.31, "rolewarden.handlers.sweep": 0.4})  # fmt: skip

    all_rows = list(rows([], artifact))

    assert judged(all_rows, "import rolewarden.handlers.events") is True  # 1.04x the floor
    assert judged(all_rows, "import rolewarden.handlers.remediate") is True  # 1.55x boto3
    assert judged(all_rows, "import rolewarden.handlers.sweep") is False  # 1.67x the floor


def test_the_floor_and_each_handlers_own_share_are_shown() -> None:
    artifact = Artifact(where="test", imports={"boto3": 0.2, FLOOR: 0.3} | dict.fromkeys(
        ("rolewarden.handlers.config_rule", "rolewarden.handlers.events",
         "rolewarden.handlers.remediate", "rolewarden.handlers.sweep"), 0.34))  # fmt: skip

    shown = {row.measure: row.value for row in rows([], artifact)}

    assert shown[f"floor: {FLOOR}"].startswith("300 ms = 1.50x boto3")
    assert shown["import rolewarden.handlers.sweep"] == (
        "340 ms = 1.13x the floor (1.70x boto3); RoleWarden's own 40 ms"
    )


def decided(event: str, calls: dict[str, int], **cold: dict[str, int]) -> dict[str, object]:
    return {
        "event": event,
        "status": "evaluated",
        "evaluations": 1,
        "findings": 1,
        "scan_errors": [],
        "aws_calls": calls,
        "wall_seconds": 0.2,
        "cpu_seconds": 0.1,
        **{f"{key}_aws_calls": value for key, value in cold.items()},
    }


def test_the_role_event_shows_its_cold_calls_and_is_judged_on_its_warm_ones() -> None:
    bench = account([sweep({"ecs": 105, "iam": 12}, findings=1)])
    bench.events = [
        decided("AttachRolePolicy", {"ecs": 5, "iam": 6}, cold={"ecs": 77, "iam": 6}),
        decided("RunTask", {"ecs": 3}),
    ]

    all_rows = list(rows([bench], None))
    shown = {row.measure: row for row in all_rows if row.section.startswith("event")}

    assert shown["AttachRolePolicy, the first event of a cold container"].value == (
        "83 calls (ecs 77, iam 6)"
    )
    warm = shown["AttachRolePolicy, a warm container"]
    assert warm.value.startswith("11 calls (ecs 5, iam 6); decided in 200 ms")
    assert (warm.target, warm.met) == ("<= 25 calls", True)
    assert shown["RunTask"].met is None  # no target of its own


def test_a_role_event_above_25_calls_in_a_warm_container_misses_its_target() -> None:
    bench = account([sweep({"ecs": 105, "iam": 12}, findings=1)])
    bench.events = [decided("AttachRolePolicy", {"ecs": 20, "iam": 6}, cold={"ecs": 90})]

    assert judged(list(rows([bench], None)), "AttachRolePolicy, a warm") is False
