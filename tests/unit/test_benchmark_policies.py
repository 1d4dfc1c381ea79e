"""The policy engine's benchmark: its corpus, what each side measures, and the judgement.

policy_sentry is installed for `make bench` only: its timing is faked here, except in the
one test that skips without it. Times are never asserted (performance is measured in
`make bench`, not in tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.policy_bench import PolicyBench, policy_rows
from benchmarks.policy_once import (
    ManagedPolicy,
    managed_policies,
    policy_sentry_corpus,
    rolewarden_corpus,
    worst_case,
)
from benchmarks.report import Row, table
from rolewarden.policy.catalogue import default_catalogue
from rolewarden.policy.document import parse_policy_document

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ECS_AGENT = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"


@pytest.fixture(scope="module")
def corpus() -> dict[str, ManagedPolicy]:
    return {policy.arn: policy for policy in managed_policies()}


def test_the_corpus_is_every_aws_managed_policy_moto_ships_under_its_arn(
    corpus: dict[str, ManagedPolicy],
) -> None:
    # Given / When moto's AWS managed policies are loaded
    # Then there are over a thousand, each under its ARN with its path, each readable
    assert len(corpus) > 1000
    assert corpus[ADMIN].document["Statement"] == [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}
    ]
    assert ECS_AGENT in corpus
    for policy in corpus.values():
        parse_policy_document(policy.document)


def test_rolewarden_evaluates_and_classifies_each_policy_as_the_only_policy_of_a_role(
    corpus: dict[str, ManagedPolicy],
) -> None:
    # Given AdministratorAccess and the ECS agent's policy
    # When RoleWarden's side is measured on them
    measured = rolewarden_corpus([corpus[ADMIN], corpus[ECS_AGENT]])
    # Then both are evaluated: the first grants every action and is application
    # permissions, the second is the baseline itself
    everything = len(default_catalogue().expand("*"))
    assert measured["policies"] == 2
    assert everything < measured["grants"] < everything + 100
    assert (measured["offending"], measured["unreadable"]) == (1, 0)
    assert measured["load_seconds"] >= 0 and measured["corpus_seconds"] >= 0


def test_a_worst_case_is_one_role_evaluated_cold_then_warm() -> None:
    # Given the role granting `*` with a Deny of iam:*
    # When it is measured
    measured = worst_case("star-deny-iam")
    # Then it grants every action but IAM's, is critical, and both times are taken
    catalogue = default_catalogue()
    assert measured["grants"] == len(catalogue.expand("*") - catalogue.expand("iam:*"))
    assert (
        "grants 99% of all actions (* except what Deny statements remove: iam:*)"
        in (measured["critical"])
    )
    assert "grants every action (*)" not in measured["critical"]
    assert measured["cold_seconds"] >= 0 and measured["warm_seconds"] >= 0


def test_policy_sentry_expands_the_same_documents(corpus: dict[str, ManagedPolicy]) -> None:
    # Skipped without policy_sentry: the only test that runs it (`make bench` installs it)
    pytest.importorskip("policy_sentry")
    # Given AdministratorAccess / When policy_sentry's side is measured
    measured = policy_sentry_corpus([corpus[ADMIN]])
    # Then its `*` is expanded into every action policy_sentry knows
    assert measured["policies"] == 1
    assert measured["actions"] > 10000


def run(corpus_seconds: float, load_seconds: float = 0.2) -> dict[str, Any]:
    return {
        "load_seconds": load_seconds,
        "corpus_seconds": corpus_seconds,
        "policies": 1582,
        "grants": 226071,
        "offending": 1518,
        "unreadable": 0,
        "actions": 90000,
    }


def worst(cold: float) -> dict[str, Any]:
    return {"cold_seconds": cold, "warm_seconds": cold / 3, "grants": 22321, "critical": []}


def judged(rows: list[Row], measure: str) -> Row:
    return next(row for row in rows if row.measure.startswith(measure))


def test_the_fastest_runs_are_compared_and_within_twice_policy_sentry_is_met() -> None:
    # Given (faked) runs: RoleWarden at best 0.6 s, policy_sentry at best 0.32 s
    bench = PolicyBench([run(0.9), run(0.6)], [run(0.32), run(0.4)], {"star": [worst(0.4)]})
    # When the rows are made
    rows = list(policy_rows(bench))
    # Then the ratio is of the fastest runs, under 2x, and the worst case under a second
    row = judged(rows, "evaluate and classify every policy")
    assert row.value == "0.60 s vs policy_sentry's get_expanded_policy 0.32 s = 1.88x"
    assert row.met is True
    assert judged(rows, "one role: `*` on `*`").met is True


def test_more_than_twice_policy_sentry_or_a_slow_worst_case_misses_its_target() -> None:
    bench = PolicyBench([run(0.9)], [run(0.3)], {"not-action": [worst(1.2)]})

    rows = list(policy_rows(bench))

    assert judged(rows, "evaluate and classify every policy").met is False  # 3x
    assert judged(rows, "one role: NotAction iam:* on `*`").met is False
    assert "**no**" in table(rows)


def test_without_policy_sentry_the_ratio_is_not_judged_and_the_row_says_how_to_install() -> None:
    bench = PolicyBench([run(0.6)], None)

    row = judged(list(policy_rows(bench)), "evaluate and classify every policy")

    assert row.met is None
    assert "policy_sentry not installed (pip install" in row.value
    assert "benchmarks/requirements.txt" in row.value


def test_policy_sentry_is_for_the_benchmarks_only() -> None:
    # Given the functions' code and the layer's and the package's dependencies
    # Then none of them names policy_sentry; the benchmarks' requirements pin it
    sources = [path.read_text() for path in (ROOT / "functions").rglob("*.py")]
    assert not [text for text in sources if "policy_sentry" in text]
    runtime = (ROOT / "layers" / "dependencies" / "requirements.txt").read_text()
    assert "policy-sentry" not in runtime.lower() and "policy_sentry" not in runtime.lower()
    assert "policy-sentry" not in (ROOT / "pyproject.toml").read_text()
    assert "policy-sentry==" in (ROOT / "benchmarks" / "requirements.txt").read_text()
