"""One measurement of the policy engine, in a fresh process:

    python -m benchmarks.policy_once rolewarden|policy_sentry|<worst case> OUTPUT.json

`rolewarden` evaluates and classifies every AWS managed policy, each as the single policy
of a role, as a scan does; `policy_sentry` expands the wildcards of the same documents
with policy_sentry's `get_expanded_policy`. Each side first loads its data (imports
included): that is timed apart, so the corpus time is the work per policy. A worst case
(see WORST_CASES) is one role evaluated and classified twice: cold (the catalogue loads
what the role needs) and warm (as a later role of the same scan). Times are CPU seconds
of this process (`time.process_time`).
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rolewarden.policy.catalogue import ActionCatalogue, default_catalogue
from rolewarden.policy.classify import Baseline, RoleVerdict, classify_role, load_baseline
from rolewarden.policy.evaluate import PolicyInput, PolicyRef, evaluate_role

ROLEWARDEN = "rolewarden"
POLICY_SENTRY = "policy_sentry"
EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}
WORST_CASES: dict[str, list[dict[str, Any]]] = {
    "star": [EVERYTHING],
    "not-action": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
    "star-deny-iam": [EVERYTHING, {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}],
}
WORST_CASE_NAMES = {
    "star": "`*` on `*`",
    "not-action": "NotAction iam:* on `*`",
    "star-deny-iam": "`*` on `*`, Deny iam:* on `*`",
}


@dataclass(frozen=True)
class ManagedPolicy:
    arn: str
    document: dict[str, Any]


def managed_policies() -> list[ManagedPolicy]:
    """Every AWS managed policy moto ships, with its default version's document."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415 - slow

    policies = json.loads(aws_managed_policies_data)
    return [
        ManagedPolicy(f"arn:aws:iam::aws:policy{policy['Path']}{name}", policy["Document"])
        for name, policy in sorted(policies.items())
    ]


def cpu_seconds(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.process_time()
    result = call()
    return result, time.process_time() - started


def rolewarden_corpus(policies: Sequence[ManagedPolicy]) -> dict[str, Any]:
    def load() -> tuple[ActionCatalogue, Baseline]:
        catalogue = default_catalogue()
        catalogue.expand("*")  # every service: what a role granting `*` makes it read
        return catalogue, load_baseline()

    (catalogue, baseline), load_seconds = cpu_seconds(load)
    # Each verdict is counted and let go: kept, the corpus's 226,000 grants (as many as ten
    # roles granting `*`) would make the garbage collector's passes most of what is measured.
    counts, corpus_seconds = cpu_seconds(
        lambda: [
            _counted(scan_role(policy.arn, policy.document, catalogue, baseline))
            for policy in policies
        ]
    )
    return {
        "load_seconds": load_seconds,
        "corpus_seconds": corpus_seconds,
        "policies": len(counts),
        "grants": sum(grants for grants, _, _ in counts),
        "offending": sum(offending for _, offending, _ in counts),
        "unreadable": sum(unreadable for _, _, unreadable in counts),
    }


def _counted(verdict: RoleVerdict) -> tuple[int, bool, bool]:
    """Grants, whether the role has application permissions, whether a policy was unreadable."""
    evaluation = verdict.evaluation
    return len(evaluation.grants), bool(verdict.offending), bool(evaluation.errors)


def scan_role(
    arn: str, document: Mapping[str, Any], catalogue: ActionCatalogue, baseline: Baseline
) -> RoleVerdict:
    """A role whose only policy is this one, evaluated and classified as a scan does."""
    ref = PolicyRef("managed", arn.rsplit("/", 1)[-1], arn)
    evaluation = evaluate_role([PolicyInput(ref, document)], catalogue)
    return classify_role(evaluation, [ref], baseline, catalogue)


def policy_sentry_corpus(policies: Sequence[ManagedPolicy]) -> dict[str, Any]:
    def load() -> Callable[[dict[str, Any]], dict[str, Any]]:
        # Importing it loads its database; it is only installed for `make bench`.
        from policy_sentry.analysis.expand import get_expanded_policy  # noqa: PLC0415
        from policy_sentry.querying.all import get_all_actions  # noqa: PLC0415

        get_all_actions()  # what a policy granting `*` makes it list
        # It warns on every NotAction statement; the warnings are not the work compared.
        logging.getLogger("policy_sentry").setLevel(logging.ERROR)
        expand: Callable[[dict[str, Any]], dict[str, Any]] = get_expanded_policy
        return expand

    expand, load_seconds = cpu_seconds(load)
    expanded, corpus_seconds = cpu_seconds(lambda: [expand(policy.document) for policy in policies])
    return {
        "load_seconds": load_seconds,
        "corpus_seconds": corpus_seconds,
        "policies": len(expanded),
        "actions": sum(_actions(document) for document in expanded),
    }


def _actions(document: Mapping[str, Any]) -> int:
    statements = document["Statement"]
    if isinstance(statements, Mapping):
        statements = [statements]
    return sum(
        1 if isinstance(listed, str) else len(listed)
        for statement in statements
        for listed in [statement.get("Action") or statement.get("NotAction") or []]
    )


def worst_case(name: str) -> dict[str, Any]:
    """One role with this policy inline, evaluated and classified cold, then warm."""
    baseline = load_baseline()
    ref = PolicyRef("inline", name)
    document = {"Version": "2012-10-17", "Statement": WORST_CASES[name]}

    def scan() -> RoleVerdict:
        catalogue = default_catalogue()
        return classify_role(
            evaluate_role([PolicyInput(ref, document)], catalogue), [ref], baseline, catalogue
        )

    verdict, cold_seconds = cpu_seconds(scan)
    _, warm_seconds = cpu_seconds(scan)
    return {
        "cold_seconds": cold_seconds,
        "warm_seconds": warm_seconds,
        "grants": len(verdict.evaluation.grants),
        "critical": verdict.critical,
    }


def main() -> None:
    what, output = sys.argv[1], Path(sys.argv[2])
    if what in WORST_CASES:
        result = worst_case(what)
    else:
        measure = {ROLEWARDEN: rolewarden_corpus, POLICY_SENTRY: policy_sentry_corpus}[what]
        policies = managed_policies()
        # The corpus (85,000 objects) is the harness's, not either side's work: the garbage
        # collector's full passes skip it on both sides.
        gc.freeze()
        result = measure(policies)
    output.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
