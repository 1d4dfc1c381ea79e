"""Split what a role is granted into infrastructure baseline and application.

A host needs the ECS agent, image pulls, logs, SSM and the CloudWatch agent.
The AWS managed policies for those are baseline by identity; in any other policy
an action is baseline when one of those policies grants it (see
data/baseline.json). Everything else a host role grants is an application
permission, which belongs in a task role.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from rolewarden.policy.catalogue import (
    ActionCatalogue,
    ActionPatterns,
    default_catalogue,
    matches,
)
from rolewarden.policy.document import ALLOW, PolicyDocument
from rolewarden.policy.evaluate import ActionGrant, PolicyRef, RoleEvaluation, expand_statement

ECS_AGENT_POLICY = "policy/service-role/AmazonEC2ContainerServiceforEC2Role"

PRIVILEGE_ESCALATION_ACTIONS = frozenset(
    {
        "iam:passrole",
        "iam:createaccesskey",
        "iam:createloginprofile",
        "iam:updateloginprofile",
        "iam:updateassumerolepolicy",
    }
)
ASSUME_ROLE = "sts:assumerole"
PERMISSIONS_MANAGEMENT = "Permissions management"
# A NotAction Allow that leaves at least this share of all actions is as good as `*`.
ALMOST_EVERYTHING = 0.9


def policy_identity(arn: str) -> str:
    """An ARN without partition and account: AWS managed policies are the same everywhere."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[4] == "aws":
        return parts[5]
    return arn


@dataclass(frozen=True)
class Baseline:
    policy_identities: frozenset[str]
    action_patterns: tuple[str, ...]

    def is_baseline_policy(self, policy: PolicyRef) -> bool:
        return policy.arn is not None and policy_identity(policy.arn) in self.policy_identities

    def is_baseline_action(self, action: str) -> bool:
        return self._baseline_actions.match(action)

    @functools.cached_property
    def _baseline_actions(self) -> ActionPatterns:
        return ActionPatterns(self.action_patterns)


@functools.lru_cache(maxsize=65536)
def _matches_any(patterns: tuple[str, ...], action: str) -> bool:
    return any(matches(pattern, action) for pattern in patterns)


def load_baseline(
    extra_actions: Iterable[str] = (), extra_policy_arns: Iterable[str] = ()
) -> Baseline:
    data = json.loads(
        resources.files("rolewarden.policy").joinpath("data/baseline.json").read_text()
    )
    identities = {policy_identity(arn) for arn in data["policies"]}
    identities |= {policy_identity(arn) for arn in extra_policy_arns}
    patterns = [action for policy in data["policies"].values() for action in policy["actions"]]
    patterns += list(extra_actions)
    return Baseline(
        policy_identities=frozenset(identities),
        action_patterns=tuple(sorted({pattern.lower() for pattern in patterns})),
    )


def grants_critical_action(pattern: str, catalogue: ActionCatalogue | None = None) -> bool:
    """Does an action pattern cover a permissions-management or privilege-escalation action?"""
    catalogue = catalogue or default_catalogue()
    return any(
        key in PRIVILEGE_ESCALATION_ACTIONS
        or key == ASSUME_ROLE
        or PERMISSIONS_MANAGEMENT in catalogue.info(key).access_levels
        for key in catalogue.expand(pattern)
    )


def is_ecs_agent_policy(arn: str) -> bool:
    return policy_identity(arn) == ECS_AGENT_POLICY


@dataclass
class PolicyVerdict:
    """What one policy of a role contributes, after boundary and denies."""

    policy: PolicyRef
    baseline_by_identity: bool
    application: list[ActionGrant] = field(default_factory=list)
    baseline: list[ActionGrant] = field(default_factory=list)
    critical: list[str] = field(default_factory=list)

    @property
    def mixed(self) -> bool:
        return bool(self.application) and bool(self.baseline)

    @property
    def offending(self) -> bool:
        return bool(self.application)


@dataclass
class RoleVerdict:
    policies: list[PolicyVerdict]
    evaluation: RoleEvaluation

    @property
    def offending(self) -> list[PolicyVerdict]:
        return [verdict for verdict in self.policies if verdict.offending]

    @property
    def critical(self) -> list[str]:
        return sorted({reason for verdict in self.offending for reason in verdict.critical})


def classify_role(
    evaluation: RoleEvaluation,
    policies: Iterable[PolicyRef],
    baseline: Baseline,
    catalogue: ActionCatalogue,
) -> RoleVerdict:
    verdicts = []
    for policy in policies:
        verdict = PolicyVerdict(
            policy=policy, baseline_by_identity=baseline.is_baseline_policy(policy)
        )
        for grant in evaluation.granted_by(policy):
            if verdict.baseline_by_identity or baseline.is_baseline_action(grant.info.name):
                verdict.baseline.append(grant)
            else:
                verdict.application.append(grant)
        verdict.application.sort(key=lambda grant: grant.info.name.lower())
        verdict.baseline.sort(key=lambda grant: grant.info.name.lower())
        document = evaluation.documents.get(policy.key)
        verdict.critical = _critical_reasons(verdict, document, catalogue)
        verdicts.append(verdict)
    return RoleVerdict(policies=verdicts, evaluation=evaluation)


def _critical_reasons(
    verdict: PolicyVerdict, document: PolicyDocument | None, catalogue: ActionCatalogue
) -> list[str]:
    if not verdict.application:
        return []
    reasons: set[str] = set()
    if document is not None:
        reasons |= _everything_grants(verdict, document, catalogue)
    permissions_management: list[str] = []
    for grant in verdict.application:
        key = grant.info.name.lower()
        own = [source for source in grant.sources if source.policy == verdict.policy]
        if PERMISSIONS_MANAGEMENT in grant.info.access_levels:
            permissions_management.append(grant.info.name)
        if key in PRIVILEGE_ESCALATION_ACTIONS:
            reasons.add(f"privilege escalation: {grant.info.name}")
        elif key == ASSUME_ROLE and any(_on_any_resource(source.resources) for source in own):
            reasons.add("privilege escalation: sts:AssumeRole on *")
    if permissions_management:
        reasons.add("permissions management: " + _some(permissions_management))
    return sorted(reasons)


def _some(names: list[str], shown: int = 5) -> str:
    text = ", ".join(names[:shown])
    return text if len(names) <= shown else f"{text} (+{len(names) - shown} more)"


def _everything_grants(
    verdict: PolicyVerdict, document: PolicyDocument, catalogue: ActionCatalogue
) -> set[str]:
    """`*`, or a NotAction Allow that leaves almost everything, after boundary and denies."""
    total = len(catalogue.expand("*"))
    granted = len(verdict.application) + len(verdict.baseline)
    if granted < ALMOST_EVERYTHING * total:
        return set()
    allows = [statement for statement in document.statements if statement.effect == ALLOW]
    if any(
        action.strip() in ("*", "*:*") for statement in allows for action in statement.actions or ()
    ):
        return {"grants every action (*)"}
    return {f"NotAction grant leaves {granted / total:.0%} of all actions"}


def _on_any_resource(resources: tuple[str, ...]) -> bool:
    """`*`, a NotResource, or every role of an account (`...:role/*`, any account or one)."""
    return any(
        resource == "*"
        or resource.startswith("NotResource:")
        or (resource.split(":")[2:3] == ["iam"] and resource.endswith(("role/*", ":*")))
        for resource in resources
    )


def baseline_only_document(
    document: PolicyDocument, baseline: Baseline, catalogue: ActionCatalogue
) -> dict[str, Any]:
    """The split proposed for a mixed policy: its statements cut down to baseline actions.

    Deny statements are kept as they are. The application part belongs in a task role.
    """
    statements: list[dict[str, Any]] = []
    for statement in document.statements:
        if statement.effect != ALLOW:
            statements.append(statement.as_json())
            continue
        kept = sorted(
            catalogue.info(key).name
            for key in expand_statement(catalogue, statement)
            if baseline.is_baseline_action(key)
        )
        if not kept:
            continue
        body = statement.as_json()
        body.pop("NotAction", None)
        body["Action"] = kept
        statements.append(body)
    return {"Version": "2012-10-17", "Statement": statements}
