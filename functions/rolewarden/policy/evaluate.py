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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
_NO_DENIES: list[DenyNote] = []  # shared by every grant no Deny touches: never appended to
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


class ActionGrant:
    """One action a role is granted, and the Allow statements that grant it.

    A role granting `*` has 22,000 of them, made one after another: a plain class with
    slots is the cheapest Python makes. The grants of one statement share its list of
    sources, and no grant has its own empty list of partial denies: both lists are
    replaced, never changed in place.
    """

    __slots__ = ("info", "partial_denies", "sources")

    def __init__(self, info: ActionInfo, sources: list[GrantSource]) -> None:
        self.info = info
        self.sources = sources
        self.partial_denies: list[DenyNote] = _NO_DENIES

    def __repr__(self) -> str:
        return f"ActionGrant({self.info.name}, {len(self.sources)} sources)"

    @property
    def boundary_conditional(self) -> bool:
        """The boundary allows it only under a condition, wherever it is granted."""
        return bool(self.sources) and all(source.boundary_conditional for source in self.sources)

    @property
    def conditional(self) -> bool:
        return all(source.conditional or source.boundary_conditional for source in self.sources)

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
    # Per policy key, the action keys of each of its Allows (before boundary and denies).
    allowed_by: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    # Action keys still granted from which a boundary or Deny took a source away.
    cut: frozenset[str] = frozenset()

    def granted_by(self, policy: PolicyRef) -> Mapping[str, ActionGrant]:
        """The grants one policy still gives after boundary and denies, by action key."""
        if self.allowed_by.keys() == {policy.key}:
            return self.grants  # the only policy that allows anything: no copy of 22,000
        keys = set().union(*self.allowed_by.get(policy.key, ())).intersection(self.grants)
        for key in keys.intersection(self.cut):
            if policy not in (source.policy for source in self.grants[key].sources):
                keys.discard(key)
        return {key: self.grants[key] for key in keys}


def evaluate_role(
    policies: Sequence[PolicyInput],
    catalogue: ActionCatalogue,
    boundary: PolicyInput | None = None,
) -> RoleEvaluation:
    errors: list[PolicyError] = []
    documents = _parse_all(policies, errors)
    boundary_document = _parse_all([boundary], errors) if boundary else {}

    grants: dict[str, ActionGrant] = {}
    allowed_by: dict[str, list[frozenset[str]]] = {}
    for policy in policies:
        document = documents.get(policy.ref.key)
        if document is None:
            continue
        allowed = allowed_by.setdefault(policy.ref.key, [])
        for statement in _with_effect(document, ALLOW):
            for keys, source in _grant_sources(catalogue, policy.ref, statement):
                _add_grants(grants, keys, source, catalogue)
                allowed.append(keys)

    outside_boundary: frozenset[str] = frozenset()
    cut: set[str] = set()
    if boundary is not None and boundary.ref.key in boundary_document:
        outside_boundary = _apply_boundary(
            grants, boundary_document[boundary.ref.key], catalogue, cut
        )

    deny_sources = [(policy.ref, documents.get(policy.ref.key), False) for policy in policies]
    if boundary is not None:
        deny_sources.append((boundary.ref, boundary_document.get(boundary.ref.key), True))
    denied = _apply_denies(grants, deny_sources, catalogue, cut)

    return RoleEvaluation(
        grants=grants,
        errors=errors,
        denied=denied,
        outside_boundary=outside_boundary,
        boundary=boundary.ref if boundary else None,
        documents={**documents, **boundary_document},
        allowed_by={key: keys for key, keys in allowed_by.items() if keys},
        cut=frozenset(cut.intersection(grants)),
    )


def _add_grants(
    grants: dict[str, ActionGrant],
    keys: frozenset[str],
    source: GrantSource,
    catalogue: ActionCatalogue,
) -> None:
    # Set operations, not a loop with a lookup per key: a role granting `*` has 22,000.
    # (`difference` with a dict looks each key up; `keys - grants.keys()` would walk grants.)
    info, sources = catalogue.info, [source]
    if not grants:
        grants.update({key: ActionGrant(info(key), sources) for key in keys})
        return
    for key in keys.intersection(grants):
        grants[key].sources = [*grants[key].sources, source]
    grants.update({key: ActionGrant(info(key), sources) for key in keys.difference(grants)})


def expand_statement(catalogue: ActionCatalogue, statement: Statement) -> frozenset[str]:
    """The lower-case action keys a statement names (whatever its resources)."""
    if statement.actions is not None:
        return _expand_all(catalogue, statement.actions, negated=False)
    assert statement.not_actions is not None
    return _expand_all(catalogue, statement.not_actions, negated=True)


def _expand_all(
    catalogue: ActionCatalogue, patterns: Iterable[str], negated: bool
) -> frozenset[str]:
    return _expand_cached(catalogue, tuple(sorted(p.strip() for p in patterns)), negated)


@functools.lru_cache(maxsize=8192)
def _expand_cached(
    catalogue: ActionCatalogue, patterns: tuple[str, ...], negated: bool
) -> frozenset[str]:
    keys = frozenset().union(*map(catalogue.expand, patterns))
    return catalogue.expand("*") - keys if negated else keys


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


def _grant_sources(
    catalogue: ActionCatalogue, policy: PolicyRef, statement: Statement
) -> Iterator[tuple[frozenset[str], GrantSource]]:
    """The actions an Allow grants, by the resources of the statement they can act on.

    `Action: "*"` on one bucket grants the S3 actions that act on buckets or objects, and
    nothing else: IAM matches a request's resource against the statement's.
    """
    keys = expand_statement(catalogue, statement)
    source = _grant_source(policy, statement)
    if statement.scope.negated or statement.scope.is_everything:
        yield keys, source
        return
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for info, same_types in _by_resource_types(catalogue, keys):
        resources = acting_on(info, statement.scope.patterns)
        if resources:
            by_resources.setdefault(resources, []).extend(same_types)
    for resources, acting in by_resources.items():
        if resources == statement.scope.patterns:
            yield frozenset(acting), source
        else:
            yield frozenset(acting), replace(source, resources=resources)


@functools.lru_cache(maxsize=4096)
def _by_resource_types(
    catalogue: ActionCatalogue, keys: frozenset[str]
) -> tuple[tuple[ActionInfo, tuple[str, ...]], ...]:
    """Actions grouped by the resource types they act on, each group with one of its
    actions: the same types act on the same patterns. Statements repeat their actions."""
    groups: dict[tuple[str, ...] | None, tuple[ActionInfo, list[str]]] = {}
    for key in keys:
        info = catalogue.info(key)
        groups.setdefault(info.resource_arns, (info, []))[1].append(key)
    return tuple((info, tuple(same)) for info, same in groups.values())


def acting_on(info: ActionInfo, patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The patterns that can match a resource the action acts on."""
    return tuple(pattern for pattern in patterns if info.can_act_on(pattern))


def _grant_source(policy: PolicyRef, statement: Statement) -> GrantSource:
    if statement.actions is not None:
        pattern = ",".join(statement.actions)
    else:
        pattern = "NotAction:" + ",".join(statement.not_actions or ())
    return GrantSource(
        policy=policy,
        statement=statement.label,
        pattern=pattern,
        resources=tuple(statement.scope.as_json()),
        conditional=statement.is_conditional,
    )


def _unknown_covered(
    catalogue: ActionCatalogue, statement: Statement, grants: Mapping[str, ActionGrant]
) -> set[str]:
    """Granted actions the catalogue does not know that a statement's patterns still cover.

    A literal action newer than the catalogue is granted as written; a wildcard in a
    boundary or a Deny matches it by name, as IAM does, though no expansion lists it.
    """
    unknown = catalogue.unknown(grants.keys())
    if statement.actions is not None:
        return {key for key in unknown if any(matches(p, key) for p in statement.actions)}
    excluded = statement.not_actions or ()
    return {key for key in unknown if not any(matches(p, key) for p in excluded)}


def _covered_keys(
    catalogue: ActionCatalogue, statement: Statement, grants: Mapping[str, ActionGrant]
) -> frozenset[str]:
    covered = expand_statement(catalogue, statement) | _unknown_covered(
        catalogue, statement, grants
    )
    return covered.intersection(grants)


# --- permissions boundary ------------------------------------------------------------------


def _apply_boundary(
    grants: dict[str, ActionGrant],
    boundary: PolicyDocument,
    catalogue: ActionCatalogue,
    cut: set[str],
) -> frozenset[str]:
    """Keep each grant only where the boundary allows the action on its resources too
    (adding to `cut` the keys that lost a source)."""
    limits: dict[str, list[Statement]] = {}
    for statement in _with_effect(boundary, ALLOW):
        for key in _covered_keys(catalogue, statement, grants):
            limits.setdefault(key, []).append(statement)
    within: dict[tuple[GrantSource, tuple[int, ...]], GrantSource | None] = {}
    outside = set()
    for key, grant in grants.items():
        statements = limits.get(key, [])
        kept = []
        for source in grant.sources:
            memo = (source, tuple(id(statement) for statement in statements))
            if memo not in within:
                within[memo] = _within_boundary(source, statements, grant.info)
            if (limited := within[memo]) is not None:
                kept.append(limited)
        if len(kept) < len(grant.sources):
            cut.add(key)
        grant.sources = kept
        if not kept:
            outside.add(key)
    for key in outside:
        del grants[key]
    return frozenset(outside)


def _within_boundary(
    source: GrantSource, statements: Sequence[Statement], info: ActionInfo
) -> GrantSource | None:
    """What the boundary leaves of one grant source: None when nothing, else its resources
    narrowed where the boundary's are certainly narrower."""
    meeting = [statement for statement in statements if statement.scope.overlaps(source.scope)]
    if not meeting:
        return None
    conditional = all(statement.is_conditional for statement in meeting)
    if any(statement.scope.covers(source.scope) for statement in meeting) or len(meeting) > 1:
        return replace(source, boundary_conditional=conditional)
    scope = source.scope.narrowed_by(meeting[0].scope)
    if scope == source.scope:
        return replace(source, boundary_conditional=conditional)
    resources = acting_on(info, scope.patterns)
    if not resources:
        return None
    return replace(source, resources=resources, boundary_conditional=conditional)


# --- explicit Deny -------------------------------------------------------------------------


def _apply_denies(
    grants: dict[str, ActionGrant],
    sources: Iterable[tuple[PolicyRef, PolicyDocument | None, bool]],
    catalogue: ActionCatalogue,
    cut: set[str],
) -> frozenset[str]:
    """Remove what unconditional Denies cover (adding to `cut` the keys that lost a source)."""
    denied: set[str] = set()
    for ref, document, in_boundary in sources:
        if document is None:
            continue
        for statement in _with_effect(document, DENY):
            note = DenyNote(
                policy=ref,
                statement=statement.label,
                resources=tuple(statement.scope.as_json()),
                conditional=statement.is_conditional,
                in_boundary=in_boundary,
            )
            after: dict[GrantSource, tuple[GrantSource | None, bool]] = {}
            for key in _covered_keys(catalogue, statement, grants):
                grant = grants[key]
                kept, partial = [], False
                for source in grant.sources:
                    if source not in after:
                        after[source] = _after_deny(source, statement)
                    left, overlapped = after[source]
                    partial |= overlapped
                    if left is not None:
                        kept.append(left)
                if len(kept) < len(grant.sources):
                    cut.add(key)
                grant.sources = kept
                if not kept:
                    denied.add(key)
                elif partial:
                    grant.partial_denies = [*grant.partial_denies, note]
    for key in denied:
        del grants[key]
    return frozenset(denied)


def _after_deny(source: GrantSource, deny: Statement) -> tuple[GrantSource | None, bool]:
    """What a Deny leaves of one grant source, and whether it still denies part of the rest.

    Only an unconditional Deny removes anything: all of the source when its resources
    cover the source's, else the source's patterns it covers one by one.
    """
    if not deny.scope.overlaps(source.scope):
        return source, False
    if deny.is_conditional:
        return source, True
    if deny.scope.covers(source.scope):
        return None, False
    if source.scope.negated:
        return source, True
    left = tuple(
        pattern
        for pattern in source.scope.patterns
        if not deny.scope.covers(ResourceScope((pattern,)))
    )
    if not left:
        return None, False
    rest = replace(source, resources=left) if left != source.scope.patterns else source
    return rest, deny.scope.overlaps(rest.scope)
