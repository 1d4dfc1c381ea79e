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
from collections.abc import Iterable, Iterator, KeysView, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, overload

from rolewarden.aws.arn import is_aws_managed_policy
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
        return self.arn is not None and is_aws_managed_policy(self.arn)

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
    """One action a role is granted, and the Allow statements that grant it (a view of
    `Grants`, made when someone reads that action)."""

    __slots__ = ("info", "partial_denies", "sources")

    def __init__(
        self, info: ActionInfo, sources: list[GrantSource], partial_denies: list[DenyNote]
    ) -> None:
        self.info = info
        self.sources = sources
        self.partial_denies = partial_denies

    def __repr__(self) -> str:
        return f"ActionGrant({self.info.name}, {len(self.sources)} sources)"

    @property
    def boundary_conditional(self) -> bool:
        """The boundary allows it only under a condition, wherever it is granted."""
        return _boundary_conditional(self.sources)

    @property
    def conditional(self) -> bool:
        return all(source.conditional or source.boundary_conditional for source in self.sources)

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(sorted({resource for source in self.sources for resource in source.resources}))


def _boundary_conditional(sources: Sequence[GrantSource]) -> bool:
    return bool(sources) and all(source.boundary_conditional for source in sources)


class Grants(Mapping[str, ActionGrant]):
    """What a role is granted, by action key: the Allow statements that grant each action,
    and the Denies that take part of it away.

    A role granting `*` has 22,000 actions. They are kept as keys of two dicts whose lists
    are shared (one per statement, replaced, never changed in place), and an `ActionGrant`
    is made only for an action someone reads: making one per action was a third of the
    time to evaluate every AWS managed policy.
    """

    __slots__ = ("_catalogue", "partial_denies", "sources")

    def __init__(
        self,
        catalogue: ActionCatalogue,
        sources: dict[str, list[GrantSource]] | None = None,
        partial_denies: dict[str, list[DenyNote]] | None = None,
    ) -> None:
        self._catalogue = catalogue
        self.sources: dict[str, list[GrantSource]] = sources if sources is not None else {}
        # Only the actions a Deny cut in part: most have none.
        self.partial_denies: dict[str, list[DenyNote]] = partial_denies or {}

    def __getitem__(self, key: str) -> ActionGrant:
        return ActionGrant(self.info(key), self.sources[key], self.partial_denies.get(key, []))

    def info(self, key: str) -> ActionInfo:
        return self._catalogue.info(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.sources)

    def __len__(self) -> int:
        return len(self.sources)

    def __contains__(self, key: object) -> bool:
        return key in self.sources

    def __repr__(self) -> str:
        return f"Grants({len(self.sources)} actions)"

    def keys(self) -> KeysView[str]:
        return self.sources.keys()

    def only(self, keys: Iterable[str]) -> Grants:
        """The grants of these keys (each one granted here)."""
        sources, denies = self.sources, self.partial_denies
        return Grants(
            self._catalogue,
            {key: sources[key] for key in keys},
            {key: denies[key] for key in keys if key in denies},
        )

    def listed(self, keys: Iterable[str]) -> GrantList:
        """The grants of these keys, in the order given."""
        return GrantList(self, list(keys))


class GrantList(Sequence[ActionGrant]):
    """Some of a role's grants in order (by name, as a verdict lists them): a sequence of
    `ActionGrant`, with what evidence reads of all of them at once, without one per action."""

    __slots__ = ("_grants", "keys")

    def __init__(self, grants: Grants | None = None, keys: list[str] | None = None) -> None:
        self._grants = grants
        self.keys: list[str] = keys or []

    @overload
    def __getitem__(self, index: int) -> ActionGrant: ...
    @overload
    def __getitem__(self, index: slice) -> list[ActionGrant]: ...
    def __getitem__(self, index: int | slice) -> ActionGrant | list[ActionGrant]:
        if isinstance(index, slice):
            return [self._grant(key) for key in self.keys[index]]
        return self._grant(self.keys[index])

    def _grant(self, key: str) -> ActionGrant:
        assert self._grants is not None
        return self._grants[key]

    def __len__(self) -> int:
        return len(self.keys)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, GrantList | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content

    def __repr__(self) -> str:
        return f"GrantList({self.keys!r})"

    def infos(self) -> list[ActionInfo]:
        if self._grants is None:
            return []
        return list(map(self._grants.info, self.keys))

    def _source_lists(self) -> list[list[GrantSource]]:
        """Each distinct list of sources once: the grants of one statement share theirs."""
        if self._grants is None:
            return []
        sources = self._grants.sources
        return list({id(found): found for found in map(sources.__getitem__, self.keys)}.values())

    def sources(self) -> list[GrantSource]:
        """The sources of these grants (a source shared by two lists comes twice)."""
        return [source for found in self._source_lists() for source in found]

    def partial_denies(self) -> list[DenyNote]:
        if self._grants is None:
            return []
        denies = self._grants.partial_denies
        return [note for key in self.keys if key in denies for note in denies[key]]

    @property
    def boundary_conditional(self) -> bool:
        """Every one of these grants is allowed by the boundary only under a condition."""
        return all(map(_boundary_conditional, self._source_lists()))


@dataclass(frozen=True)
class PolicyError:
    policy: PolicyRef
    reason: str


@dataclass
class RoleEvaluation:
    grants: Grants
    errors: list[PolicyError]
    denied: frozenset[str]
    outside_boundary: frozenset[str]
    boundary: PolicyRef | None
    documents: dict[str, PolicyDocument]
    # Per policy key, the action keys of each of its Allows (before boundary and denies).
    allowed_by: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    # Action keys still granted from which a boundary or Deny took a source away.
    cut: frozenset[str] = frozenset()

    def granted_by(self, policy: PolicyRef) -> Grants:
        """The grants one policy still gives after boundary and denies, by action key."""
        if self.allowed_by.keys() == {policy.key}:
            return self.grants  # the only policy that allows anything: no copy of 22,000
        sources = self.grants.sources
        keys = set().union(*self.allowed_by.get(policy.key, ())).intersection(sources)
        for key in keys.intersection(self.cut):
            if policy not in (source.policy for source in sources[key]):
                keys.discard(key)
        return self.grants.only(keys)


def evaluate_role(
    policies: Sequence[PolicyInput],
    catalogue: ActionCatalogue,
    boundary: PolicyInput | None = None,
) -> RoleEvaluation:
    errors: list[PolicyError] = []
    documents = _parse_all(policies, errors)
    boundary_document = _parse_all([boundary], errors) if boundary else {}

    grants = Grants(catalogue)
    allowed_by: dict[str, list[frozenset[str]]] = {}
    for policy in policies:
        document = documents.get(policy.ref.key)
        if document is None:
            continue
        allowed = allowed_by.setdefault(policy.ref.key, [])
        for statement in _with_effect(document, ALLOW):
            for keys, source in _grant_sources(catalogue, policy.ref, statement):
                _add_grants(grants.sources, keys, source)
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
        cut=frozenset(cut.intersection(grants.sources)),
    )


def _add_grants(
    granted: dict[str, list[GrantSource]], keys: frozenset[str], source: GrantSource
) -> None:
    # Set operations, not a loop with a lookup per key: a role granting `*` has 22,000.
    # (`difference` with a dict looks each key up; `keys - granted.keys()` would walk it.)
    sources = [source]
    for key in keys.intersection(granted):
        granted[key] = [*granted[key], source]
    granted.update(dict.fromkeys(keys.difference(granted) if granted else keys, sources))


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
    catalogue: ActionCatalogue, statement: Statement, grants: Mapping[str, Any]
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
    catalogue: ActionCatalogue, statement: Statement, grants: Mapping[str, Any]
) -> frozenset[str]:
    covered = expand_statement(catalogue, statement) | _unknown_covered(
        catalogue, statement, grants
    )
    return covered.intersection(grants)


class _PerList:
    """One answer per distinct list of sources: the grants of one statement share theirs.
    Keyed by the list's id, so each list is kept alive beside its answer."""

    def __init__(self) -> None:
        self._answers: dict[tuple[int, ...], tuple[list[GrantSource], Any]] = {}

    def get(self, sources: list[GrantSource], extra: tuple[int, ...] = ()) -> Any:
        found = self._answers.get((id(sources), *extra))
        return None if found is None else found[1]

    def put(self, sources: list[GrantSource], answer: Any, extra: tuple[int, ...] = ()) -> Any:
        self._answers[(id(sources), *extra)] = (sources, answer)
        return answer


# --- permissions boundary ------------------------------------------------------------------


def _apply_boundary(
    grants: Grants, boundary: PolicyDocument, catalogue: ActionCatalogue, cut: set[str]
) -> frozenset[str]:
    """Keep each grant only where the boundary allows the action on its resources too
    (adding to `cut` the keys that lost a source)."""
    limits: dict[str, list[Statement]] = {}
    for statement in _with_effect(boundary, ALLOW):
        for key in _covered_keys(catalogue, statement, grants.sources):
            limits.setdefault(key, []).append(statement)
    # What a boundary leaves of a source depends on the action only through its resource
    # types: one answer per (list of sources, boundary statements, resource types).
    answers = _PerList()
    outside = set()
    granted = grants.sources
    for key, sources in granted.items():
        statements = limits.get(key, [])
        info = catalogue.info(key)
        extra = (id(info.resource_arns), *map(id, statements))
        kept = answers.get(sources, extra)
        if kept is None:
            left = [_within_boundary(source, statements, info) for source in sources]
            kept = answers.put(sources, [found for found in left if found is not None], extra)
        if len(kept) < len(sources):
            cut.add(key)
        granted[key] = kept
        if not kept:
            outside.add(key)
    for key in outside:
        del granted[key]
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
    grants: Grants,
    sources: Iterable[tuple[PolicyRef, PolicyDocument | None, bool]],
    catalogue: ActionCatalogue,
    cut: set[str],
) -> frozenset[str]:
    """Remove what unconditional Denies cover (adding to `cut` the keys that lost a source)."""
    denied: set[str] = set()
    granted, partial_denies = grants.sources, grants.partial_denies
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
            answers = _PerList()
            for key in _covered_keys(catalogue, statement, granted):
                before = granted[key]
                found = answers.get(before)
                if found is None:
                    found = answers.put(before, _after_deny_all(before, statement))
                kept, partial = found
                if len(kept) < len(before):
                    cut.add(key)
                granted[key] = kept
                if not kept:
                    denied.add(key)
                elif partial:
                    partial_denies[key] = [*partial_denies.get(key, ()), note]
    for key in denied:
        del granted[key]
        partial_denies.pop(key, None)
    return frozenset(denied)


def _after_deny_all(sources: list[GrantSource], deny: Statement) -> tuple[list[GrantSource], bool]:
    """What a Deny leaves of a grant's sources, and whether it still denies part of them."""
    kept, partial = [], False
    for source in sources:
        left, overlapped = _after_deny(source, deny)
        partial |= overlapped
        if left is not None:
            kept.append(left)
    return kept, partial


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
