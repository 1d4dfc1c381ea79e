"""What a role is granted: policies evaluated, not pattern-matched.

Granted = union of the Allows of its inline and attached managed policies,
intersected with its permissions boundary. An explicit Deny (in any of them,
boundary included) removes an action only when it is unconditional and covers
every resource; any other Deny is recorded on the grant as partial and the
grant stays. A conditional Allow still grants, marked conditional. SCPs, RCPs
and resource-based policies are outside what an account can see.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rolewarden.policy.catalogue import ActionCatalogue, ActionInfo, matches
from rolewarden.policy.document import (
    ALLOW,
    DENY,
    PolicyDocument,
    PolicyParseError,
    Statement,
    parse_policy_document,
)
from rolewarden.policy.resource_globs import ResourceScope

PolicyKind = Literal["inline", "managed"]
NOT_RESOURCE = "NotResource:"


@dataclass(frozen=True)
class PolicyRef:
    """Which policy: an inline policy by name, a managed one by ARN."""

    kind: PolicyKind
    name: str
    arn: str | None = None

    @property
    def aws_managed(self) -> bool:
        return self.arn is not None and self.arn.split(":")[4:5] == ["aws"]

    @property
    def key(self) -> str:
        return self.arn or f"inline:{self.name}"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "type": self.kind,
            "owner": "aws" if self.aws_managed else "customer",
        }


@dataclass(frozen=True)
class PolicyInput:
    ref: PolicyRef
    document: str | Mapping[str, Any]


@dataclass(frozen=True)
class GrantSource:
    """One Allow statement that grants an action, on the resources it can act on."""

    policy: PolicyRef
    statement: str
    pattern: str
    resources: tuple[str, ...]  # as evidence shows them: `NotResource:<pattern>` for a NotResource
    conditional: bool
    boundary_conditional: bool = False  # the boundary allows it here only under a condition

    @functools.cached_property
    def scope(self) -> ResourceScope:
        negated = [
            r.removeprefix(NOT_RESOURCE) for r in self.resources if r.startswith(NOT_RESOURCE)
        ]
        if negated:
            return ResourceScope(tuple(negated), negated=True)
        return ResourceScope(self.resources)


@dataclass(frozen=True)
class DenyNote:
    """A Deny that covers an action but not unconditionally on every resource."""

    policy: PolicyRef
    statement: str
    resources: tuple[str, ...]
    conditional: bool
    in_boundary: bool = False


@dataclass
class ActionGrant:
    info: ActionInfo
    sources: list[GrantSource] = field(default_factory=list)
    partial_denies: list[DenyNote] = field(default_factory=list)
    boundary_conditional: bool = False

    @property
    def conditional(self) -> bool:
        return self.boundary_conditional or all(source.conditional for source in self.sources)

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(sorted({resource for source in self.sources for resource in source.resources}))


@dataclass(frozen=True)
class PolicyError:
    policy: PolicyRef
    reason: str


@dataclass
class RoleEvaluation:
    grants: dict[str, ActionGrant]
    errors: list[PolicyError]
    denied: frozenset[str]
    outside_boundary: frozenset[str]
    boundary: PolicyRef | None
    documents: dict[str, PolicyDocument]

    def granted_by(self, policy: PolicyRef) -> list[ActionGrant]:
        return [
            grant
            for grant in self.grants.values()
            if any(source.policy == policy for source in grant.sources)
        ]


def evaluate_role(
    policies: Sequence[PolicyInput],
    catalogue: ActionCatalogue,
    boundary: PolicyInput | None = None,
) -> RoleEvaluation:
    errors: list[PolicyError] = []
    documents = _parse_all(policies, errors)
    boundary_document = _parse_all([boundary], errors) if boundary else {}

    grants: dict[str, ActionGrant] = {}
    for policy in policies:
        document = documents.get(policy.ref.key)
        if document is None:
            continue
        for statement in _with_effect(document, ALLOW):
            source = _grant_source(policy.ref, statement)
            for key in expand_statement(catalogue, statement):
                grant = grants.get(key)
                if grant is None:
                    grant = grants[key] = ActionGrant(info=catalogue.info(key))
                grant.sources.append(source)

    outside_boundary: frozenset[str] = frozenset()
    if boundary is not None and boundary.ref.key in boundary_document:
        outside_boundary = _apply_boundary(grants, boundary_document[boundary.ref.key], catalogue)

    deny_sources = [(policy.ref, documents.get(policy.ref.key), False) for policy in policies]
    if boundary is not None:
        deny_sources.append((boundary.ref, boundary_document.get(boundary.ref.key), True))
    denied = _apply_denies(grants, deny_sources, catalogue)

    return RoleEvaluation(
        grants=grants,
        errors=errors,
        denied=denied,
        outside_boundary=outside_boundary,
        boundary=boundary.ref if boundary else None,
        documents={**documents, **boundary_document},
    )


def expand_statement(catalogue: ActionCatalogue, statement: Statement) -> frozenset[str]:
    """The lower-case action keys a statement applies to."""
    if statement.actions is not None:
        return _expand_all(catalogue, statement.actions)
    assert statement.not_actions is not None
    everything = _expand_all(catalogue, ("*",))
    return everything - _expand_all(catalogue, statement.not_actions)


@functools.lru_cache(maxsize=8192)
def _expand_cached(catalogue: ActionCatalogue, patterns: tuple[str, ...]) -> frozenset[str]:
    keys: set[str] = set()
    for pattern in patterns:
        keys |= catalogue.expand(pattern)
    return frozenset(keys)


def _expand_all(catalogue: ActionCatalogue, patterns: Iterable[str]) -> frozenset[str]:
    return _expand_cached(catalogue, tuple(sorted(p.strip() for p in patterns)))


def _parse_all(
    policies: Iterable[PolicyInput | None], errors: list[PolicyError]
) -> dict[str, PolicyDocument]:
    parsed: dict[str, PolicyDocument] = {}
    for policy in policies:
        if policy is None:
            continue
        try:
            parsed[policy.ref.key] = parse_policy_document(policy.document)
        except PolicyParseError as error:
            errors.append(PolicyError(policy=policy.ref, reason=str(error)))
    return parsed


def _with_effect(document: PolicyDocument, effect: str) -> Iterable[Statement]:
    return (statement for statement in document.statements if statement.effect == effect)


def _resources(statement: Statement) -> tuple[str, ...]:
    if statement.resources is not None:
        return statement.resources
    return tuple(f"NotResource:{resource}" for resource in statement.not_resources or ())


def _grant_source(policy: PolicyRef, statement: Statement) -> GrantSource:
    if statement.actions is not None:
        pattern = ",".join(statement.actions)
    else:
        pattern = "NotAction:" + ",".join(statement.not_actions or ())
    return GrantSource(
        policy=policy,
        statement=statement.label,
        pattern=pattern,
        resources=_resources(statement),
        conditional=statement.is_conditional,
    )


def _unknown_covered(statement: Statement, grants: Mapping[str, ActionGrant]) -> set[str]:
    """Granted actions the catalogue does not know that a statement's patterns still cover.

    A literal action newer than the catalogue is granted as written; a wildcard in a
    boundary or a Deny matches it by name, as IAM does, though no expansion lists it.
    """
    unknown = [key for key, grant in grants.items() if not grant.info.known]
    if statement.actions is not None:
        return {key for key in unknown if any(matches(p, key) for p in statement.actions)}
    excluded = statement.not_actions or ()
    return {key for key in unknown if not any(matches(p, key) for p in excluded)}


def _apply_boundary(
    grants: dict[str, ActionGrant], boundary: PolicyDocument, catalogue: ActionCatalogue
) -> frozenset[str]:
    """Drop what the boundary does not allow; mark what it allows only conditionally."""
    allowed: dict[str, bool] = {}  # key -> allowed only under a condition
    for statement in _with_effect(boundary, ALLOW):
        for key in expand_statement(catalogue, statement) | _unknown_covered(statement, grants):
            allowed[key] = allowed.get(key, True) and statement.is_conditional
    outside = frozenset(key for key in grants if key not in allowed)
    for key in outside:
        del grants[key]
    for key, grant in grants.items():
        grant.boundary_conditional = allowed[key]
    return outside


def _apply_denies(
    grants: dict[str, ActionGrant],
    sources: Iterable[tuple[PolicyRef, PolicyDocument | None, bool]],
    catalogue: ActionCatalogue,
) -> frozenset[str]:
    denied: set[str] = set()
    for ref, document, in_boundary in sources:
        if document is None:
            continue
        for statement in _with_effect(document, DENY):
            covered = (
                expand_statement(catalogue, statement) | _unknown_covered(statement, grants)
            ) & grants.keys()
            total = statement.covers_every_resource and not statement.is_conditional
            for key in covered:
                if total:
                    denied.add(key)
                else:
                    grants[key].partial_denies.append(
                        DenyNote(
                            policy=ref,
                            statement=statement.label,
                            resources=_resources(statement),
                            conditional=statement.is_conditional,
                            in_boundary=in_boundary,
                        )
                    )
    for key in denied:
        del grants[key]
    return frozenset(denied)
