"""Split what a role is granted into infrastructure baseline and application.

A host needs the ECS agent, image pulls, logs, SSM and the CloudWatch agent.
The AWS managed policies for those are baseline by identity; in any other policy
an action is baseline when one of those policies grants it (see
data/baseline.json), except the actions that read application data
(`ssm:GetParameter`): those are baseline only on what a host needs (the CloudWatch
agent's parameters, AWS public parameters), and application permissions beyond it.
Everything else a host role grants is an application permission, which belongs in a
task role. Why an application grant is critical: see critical.py.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from rolewarden.aws.arn import Arn, MalformedArnError
from rolewarden.policy.catalogue import ActionCatalogue, ActionPatterns, matches
from rolewarden.policy.critical import ROLE_ACTIONS, RoleGrant, critical_reasons, role_grants
from rolewarden.policy.document import ALLOW, PolicyDocument, Statement
from rolewarden.policy.evaluate import (
    GrantList,
    GrantSource,
    PolicyRef,
    RoleEvaluation,
    expand_statement,
)
from rolewarden.policy.resource_globs import ResourceScope, covers

ECS_AGENT_POLICY = "policy/service-role/AmazonEC2ContainerServiceforEC2Role"
HOST_READS_SID = "HostParameters"


def policy_identity(arn: str) -> str:
    """An ARN without partition and account: AWS managed policies are the same everywhere."""
    try:
        parsed = Arn.parse(arn)
    except MalformedArnError:
        return arn
    return parsed.resource if parsed.is_aws_managed else arn


@dataclass(frozen=True)
class Baseline:
    policy_identities: frozenset[str]
    action_patterns: tuple[str, ...]
    # Baseline actions that read application data: baseline only on `host_resources`.
    host_scoped_actions: tuple[str, ...] = ()
    host_resources: tuple[str, ...] = ()

    def is_baseline_policy(self, policy: PolicyRef) -> bool:
        return policy.arn is not None and policy_identity(policy.arn) in self.policy_identities

    def is_baseline_action(self, action: str) -> bool:
        """Baseline on some resource (for a host-scoped read, on what a host needs)."""
        return self._baseline_actions.match(action)

    @functools.cached_property
    def _baseline_actions(self) -> ActionPatterns:
        return ActionPatterns(self.action_patterns)

    def baseline_keys(self, keys: AbstractSet[str], catalogue: ActionCatalogue) -> set[str]:
        """The action keys among these that are baseline actions (on some resource)."""
        # Set operations for the actions the catalogue knows: a role granting `*` has 22,000.
        found = set(_expanded(self.action_patterns, catalogue).intersection(keys))
        found |= {key for key in catalogue.unknown(keys) if self.is_baseline_action(key)}
        return found

    def is_host_scoped(self, action: str) -> bool:
        return _matches_any(self.host_scoped_actions, action.lower())

    @property
    def host_scope(self) -> ResourceScope:
        return ResourceScope(self.host_resources)

    def beyond_host_needs(self, sources: Iterable[GrantSource]) -> tuple[str, ...]:
        """Resources of these grants that reach past what a host needs (as written)."""
        return tuple(
            sorted(
                {
                    resource
                    for source in sources
                    if not self.host_scope.covers(source.scope)
                    for resource in source.resources
                }
            )
        )


@functools.lru_cache(maxsize=64)
def _expanded(patterns: tuple[str, ...], catalogue: ActionCatalogue) -> frozenset[str]:
    return frozenset(key for pattern in patterns for key in catalogue.expand(pattern))


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
    extras = [action.lower() for action in extra_actions]
    reads = data["host_scoped_reads"]
    # An action the settings name as baseline is baseline on every resource.
    scoped = [a.lower() for a in reads["actions"] if not _matches_any(tuple(extras), a.lower())]
    return Baseline(
        policy_identities=frozenset(identities),
        action_patterns=tuple(sorted({pattern.lower() for pattern in patterns + extras})),
        host_scoped_actions=tuple(sorted(scoped)),
        host_resources=tuple(reads["resources"]),
    )


def is_ecs_agent_policy(arn: str) -> bool:
    return policy_identity(arn) == ECS_AGENT_POLICY


@dataclass(frozen=True)
class HostReadBeyond:
    """A baseline data read granted past what a host needs: an application permission."""

    action: str
    resources: tuple[str, ...]  # those past what a host needs, as the policy writes them
    host_needs: tuple[str, ...]


@dataclass
class PolicyVerdict:
    """What one policy of a role contributes, after boundary and denies."""

    policy: PolicyRef
    baseline_by_identity: bool
    application: GrantList = field(default_factory=GrantList)
    baseline: GrantList = field(default_factory=GrantList)
    critical: list[str] = field(default_factory=list)
    beyond_host: list[HostReadBeyond] = field(default_factory=list)
    role_grants: list[RoleGrant] = field(default_factory=list)

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
    verdicts = [_classify_policy(evaluation, policy, baseline, catalogue) for policy in policies]
    return RoleVerdict(policies=verdicts, evaluation=evaluation)


def _classify_policy(
    evaluation: RoleEvaluation, policy: PolicyRef, baseline: Baseline, catalogue: ActionCatalogue
) -> PolicyVerdict:
    verdict = PolicyVerdict(policy=policy, baseline_by_identity=baseline.is_baseline_policy(policy))
    granted = evaluation.granted_by(policy)
    if verdict.baseline_by_identity:
        baseline_keys, application = set(granted), set()
    else:
        baseline_keys = baseline.baseline_keys(granted.keys(), catalogue)
        for key in sorted(baseline_keys):
            grant = granted[key]
            if baseline.is_host_scoped(key) and (
                beyond := baseline.beyond_host_needs(s for s in grant.sources if s.policy == policy)
            ):
                baseline_keys.discard(key)
                verdict.beyond_host.append(
                    HostReadBeyond(grant.info.name, beyond, baseline.host_resources)
                )
        application = granted.keys() - baseline_keys
    # Keys are the lower-case names: sorted, they list the grants by name.
    verdict.application = granted.listed(sorted(application))
    verdict.baseline = granted.listed(sorted(baseline_keys))
    verdict.critical = critical_reasons(policy, application, granted, evaluation, catalogue)
    document = evaluation.documents.get(policy.key)
    role_actions = [granted[key] for key in sorted(application & ROLE_ACTIONS)]
    verdict.role_grants = role_grants(policy, role_actions, document)
    return verdict


def baseline_only_document(
    document: PolicyDocument, baseline: Baseline, catalogue: ActionCatalogue
) -> dict[str, Any]:
    """The split proposed for a mixed policy: its statements cut down to baseline actions.

    Deny statements are kept as they are. A host-scoped read (ssm:GetParameter) is kept
    only on what a host needs, in a statement of its own when the original reaches
    further. The application part belongs in a task role.
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
        reads = [name for name in kept if baseline.is_host_scoped(name)]
        if reads and not baseline.host_scope.covers(statement.scope):
            kept = [name for name in kept if name not in reads]
            statements += _with_actions(statement, kept)
            statements += _host_reads(statement, reads, baseline)
        else:
            statements += _with_actions(statement, kept)
    return {"Version": "2012-10-17", "Statement": statements}


def _with_actions(statement: Statement, actions: list[str]) -> list[dict[str, Any]]:
    if not actions:
        return []
    body = statement.as_json()
    body.pop("NotAction", None)
    body["Action"] = actions
    return [body]


def _host_reads(statement: Statement, reads: list[str], baseline: Baseline) -> list[dict[str, Any]]:
    """The host-scoped reads of a statement, on what a host needs within its resources."""
    within = _within(statement.scope, baseline.host_resources)
    if not within:
        return []
    body: dict[str, Any] = {"Sid": statement.sid + HOST_READS_SID} if statement.sid else {}
    body.update(Effect=ALLOW, Action=reads, Resource=within)
    if statement.condition:
        body["Condition"] = dict(statement.condition)
    return [body]


def _within(scope: ResourceScope, host_resources: tuple[str, ...]) -> list[str]:
    """Patterns inside both a statement's scope and what a host needs (never wider)."""
    kept: set[str] = set()
    for host in host_resources:
        if scope.covers(ResourceScope((host,))):
            kept.add(host)
        elif not scope.negated:
            kept |= {p for mine in scope.patterns if (p := _narrower(mine, host)) is not None}
    return sorted(kept)


def _narrower(a: str, b: str) -> str | None:
    """An ARN pattern inside both `a` and `b`, field by field, when one covers the other
    in each field (`arn:aws:ssm:eu-west-1:1:parameter/*` and
    `arn:*:ssm:*:*:parameter/AmazonCloudWatch-*` give
    `arn:aws:ssm:eu-west-1:1:parameter/AmazonCloudWatch-*`); None when that fails."""
    fields_a, fields_b = a.split(":", 5), b.split(":", 5)
    if len(fields_a) != 6 or len(fields_b) != 6:
        return None
    narrowed = []
    for mine, theirs in zip(fields_a, fields_b, strict=True):
        if covers(mine, theirs):
            narrowed.append(theirs)
        elif covers(theirs, mine):
            narrowed.append(mine)
        else:
            return None
    return ":".join(narrowed)
