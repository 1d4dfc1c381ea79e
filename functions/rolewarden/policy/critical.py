"""What makes a policy's grants critical: a real path to more privilege, or to everything.

- `*`, or a NotAction Allow that leaves almost every action (named as what is left when a
  Deny or the boundary took some away);
- Permissions management that can write: the catalogue also labels a few reads so
  (`quicksight:DescribeTopicPermissions`), and those are judged by their verb;
- `sts:AssumeRole` and `iam:PassRole` on any role: a pattern with a wildcard (or a
  policy variable) that can match a role ARN, or a NotResource; on named roles they are
  not critical, and the evidence names the roles;
- the published privilege-escalation actions (data/privilege_escalation.json, with
  their sources), some only when they reach every resource of a kind (ssm:SendCommand
  on any instance).

Only the policy's own statements count: each policy carries its own reasons.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from importlib import resources
from typing import Any

from rolewarden.policy.catalogue import ActionCatalogue, ActionInfo, default_catalogue, matches
from rolewarden.policy.document import ALLOW, DENY, PolicyDocument, Statement
from rolewarden.policy.evaluate import (
    ActionGrant,
    Grants,
    GrantSource,
    PolicyRef,
    RoleEvaluation,
    expand_statement,
)
from rolewarden.policy.resource_globs import ResourceScope, overlaps

ASSUME_ROLE = "sts:assumerole"
PASSROLE = "iam:passrole"
ROLE_ACTIONS = frozenset({ASSUME_ROLE, PASSROLE})
# Every role ARN, in any partition and account: what "any role" is judged against.
ANY_ROLE = "arn:*:iam::*:role/*"
PASSED_TO_SERVICE = "iam:passedtoservice"
PERMISSIONS_MANAGEMENT = "Permissions management"
# A NotAction Allow (or `*` less what a Deny removes) that leaves at least this share of
# all actions is as good as `*`.
ALMOST_EVERYTHING = 0.9
# Verbs that only read. The catalogue labels some of these Permissions management
# (billing:GetResourcePolicy, quicksight:Describe*Permissions); the verb, not the label,
# says whether they can change a permission. Matched as a whole word: `GET` or `Getaway`
# are not `Get`.
READ_ONLY_VERBS = re.compile(r"(?:Get|Describe|List|View|Search|BatchGet)(?![a-z])")
WILDCARD = re.compile(r"[*?]|\$\{")
# AWS managed policies known to grant critical actions (as critical_grants_of reads their
# documents today): judged by name, without reading them.
CRITICAL_AWS_MANAGED_POLICIES = frozenset(
    {
        "policy/AdministratorAccess",
        "policy/PowerUserAccess",
        "policy/IAMFullAccess",
        "policy/AdministratorAccess-Amplify",
        "policy/AdministratorAccess-AWSElasticBeanstalk",
        "policy/AWSOrganizationsFullAccess",
        "policy/AWSLambda_FullAccess",
    }
)


@dataclass(frozen=True)
class EscalationAction:
    """A published privilege-escalation action (data/privilege_escalation.json)."""

    action: str
    why: str
    sources: tuple[str, ...]
    # When set, critical only where a statement reaches these resources as a whole.
    critical_only_on_any: tuple[str, ...] = ()


@functools.cache
def escalation_actions() -> dict[str, EscalationAction]:
    """The published list, keyed by lower-case action, read once per process."""
    text = resources.files("rolewarden.policy").joinpath("data/privilege_escalation.json")
    data = json.loads(text.read_text())
    return {
        entry["action"].lower(): EscalationAction(
            action=entry["action"],
            why=entry["why"],
            sources=tuple(entry["sources"]),
            critical_only_on_any=tuple(entry.get("critical_only_on_any", ())),
        )
        for entry in data["actions"]
    }


def reads_only(action: str) -> bool:
    """Does the action's verb only read (`Get`, `Describe`, `List`, ...)?"""
    _service, _, name = action.partition(":")
    return READ_ONLY_VERBS.match(name) is not None


def is_write_permissions_management(info: ActionInfo) -> bool:
    return PERMISSIONS_MANAGEMENT in info.access_levels and not reads_only(info.name)


def grants_critical_action(pattern: str, catalogue: ActionCatalogue | None = None) -> bool:
    """Can an action pattern cover a critical action on some resource? (for settings)"""
    catalogue = catalogue or default_catalogue()
    escalation = escalation_actions()
    return any(
        key in escalation
        or key in ROLE_ACTIONS
        or is_write_permissions_management(catalogue.info(key))
        for key in catalogue.expand(pattern)
    )


def critical_grants_of(
    document: PolicyDocument, catalogue: ActionCatalogue | None = None
) -> list[str]:
    """What the document's Allows write that can cover a critical action, on any resource
    and under any condition (for settings: a baseline policy's grants are never judged)."""
    catalogue = catalogue or default_catalogue()
    found: set[str] = set()
    for statement in document.statements:
        if statement.effect != ALLOW:
            continue
        if statement.actions is not None:
            found |= {a for a in statement.actions if _covers_critical(a, catalogue)}
        elif _leaves_critical(statement.not_actions or (), catalogue):
            found.add(f"NotAction {', '.join(statement.not_actions or ())}")
    return sorted(found)


def _covers_critical(pattern: str, catalogue: ActionCatalogue) -> bool:
    # The named critical actions first: `*` would otherwise read the whole catalogue.
    named = ROLE_ACTIONS | escalation_actions().keys()
    return any(matches(pattern, key) for key in named) or grants_critical_action(pattern, catalogue)


def _leaves_critical(not_actions: tuple[str, ...], catalogue: ActionCatalogue) -> bool:
    """Does a NotAction Allow leave some critical action? (The named ones answer at once.)"""
    named = ROLE_ACTIONS | escalation_actions().keys()
    if any(not any(matches(p, key) for p in not_actions) for key in named):
        return True
    excluded = {key for pattern in not_actions for key in catalogue.expand(pattern)}
    return bool(critical_keys(catalogue) - excluded)


@functools.lru_cache(maxsize=4)  # the catalogue of the process, and a test's
def critical_keys(catalogue: ActionCatalogue) -> frozenset[str]:
    """Every action key that is critical on some resource: write-capable permissions
    management, PassRole and AssumeRole, the published privilege-escalation actions."""
    management = {
        key
        for key in catalogue.keys_at_level(PERMISSIONS_MANAGEMENT)
        if is_write_permissions_management(catalogue.info(key))
    }
    return frozenset(management | ROLE_ACTIONS | escalation_actions().keys())


def reaches_any(scope: ResourceScope, target: str) -> bool:
    """Does a statement reach resources of this kind as a whole, not just named ones?

    True for `*`, a NotResource that can match the target, and any pattern with a wildcard
    or a policy variable (`arn:aws:iam::*:role/*`, `arn:aws:*:*:*:*`, `...:role/app-*`)
    that can match it. A list of plain ARNs names resources: False. (`target` writes all
    six ARN fields.)
    """
    if scope.negated:
        return scope.overlaps(ResourceScope((target,)))
    return any(WILDCARD.search(p) and _may_match(p, target) for p in scope.patterns)


def _may_match(pattern: str, target: str) -> bool:
    """Can the pattern match an ARN of the target's kind?

    Compared field by field when the pattern writes all six ARN fields: a role or instance
    ARN has exactly five colons, so each field of the pattern meets its own field
    (`...:user/*` never meets `...:role/*`, though as plain globs a `*` could span the
    colons between them). A pattern with fewer fields is compared whole.
    """
    fields = pattern.split(":", 5)
    if len(fields) < 6:
        return overlaps(pattern, target)
    pairs = zip(fields, target.split(":", 5), strict=True)
    return all(overlaps(mine, theirs) for mine, theirs in pairs)


@dataclass(frozen=True)
class RoleGrant:
    """One statement granting iam:PassRole or sts:AssumeRole, as evidence shows it."""

    action: str
    statement: str
    resources: tuple[str, ...]
    any_role: bool
    passed_to_service: Mapping[str, tuple[str, ...]]  # condition operator -> services

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "action": self.action,
            "statement": self.statement,
            "roles": list(self.resources),
            "any_role": self.any_role,
        }
        if self.action.lower() == PASSROLE:
            body["passed_to_service"] = {op: list(v) for op, v in self.passed_to_service.items()}
        return body


def role_grants(
    policy: PolicyRef, grants: Iterable[ActionGrant], document: PolicyDocument | None
) -> list[RoleGrant]:
    found = []
    for grant in grants:
        if grant.info.name.lower() not in ROLE_ACTIONS:
            continue
        for source in _own(grant.sources, policy):
            statement = _statement(document, source)
            found.append(
                RoleGrant(
                    action=grant.info.name,
                    statement=source.statement,
                    resources=source.resources,
                    any_role=reaches_any(source.scope, ANY_ROLE),
                    passed_to_service=_condition_values(statement, PASSED_TO_SERVICE),
                )
            )
    return found


def critical_reasons(
    policy: PolicyRef,
    application: AbstractSet[str],
    granted: Grants,
    evaluation: RoleEvaluation,
    catalogue: ActionCatalogue,
) -> list[str]:
    """Why one policy's application grants are critical (empty when they are not).

    `granted` is what the policy grants by action key, `application` the keys of its
    application grants."""
    if not application:
        return []
    reasons: set[str] = set()
    document = evaluation.documents.get(policy.key)
    if document is not None:
        everything = _everything(document, granted.keys(), evaluation, catalogue)
        if everything:
            reasons.add(everything)
    # Set operations, then a look at each hit: a role granting `*` has 22,000 grants.
    labelled = application & catalogue.keys_at_level(PERMISSIONS_MANAGEMENT)
    permissions_management = [
        info.name
        for info in map(catalogue.info, sorted(labelled))
        if is_write_permissions_management(info)
    ]
    for key in sorted(application & ROLE_ACTIONS):
        broad = [s for s in _own(granted.sources[key], policy) if reaches_any(s.scope, ANY_ROLE)]
        if broad:
            written = sorted({r for s in broad for r in s.resources})
            name = catalogue.info(key).name
            reasons.add(f"privilege escalation: {name} on any role ({_some(written)})")
    escalation = [
        catalogue.info(key).name
        for key in sorted(application & escalation_actions().keys())
        if _escalates(escalation_actions()[key], _own(granted.sources[key], policy))
    ]
    if permissions_management:
        reasons.add("permissions management: " + _some(permissions_management))
    if escalation:
        reasons.add("privilege escalation: " + _some(sorted(escalation, key=str.lower)))
    return sorted(reasons)


def _escalates(entry: EscalationAction, own: list[GrantSource]) -> bool:
    if not entry.critical_only_on_any:
        return True
    return any(reaches_any(s.scope, t) for s in own for t in entry.critical_only_on_any)


def _everything(
    document: PolicyDocument,
    granted: AbstractSet[str],
    evaluation: RoleEvaluation,
    catalogue: ActionCatalogue,
) -> str | None:
    """`*`, or a NotAction Allow that leaves almost everything, after boundary and denies."""
    every = catalogue.expand("*")
    if len(granted) < ALMOST_EVERYTHING * len(every):
        return None
    left = every & granted
    if len(left) < ALMOST_EVERYTHING * len(every):
        return None
    stars = [s for s in document.statements if s.effect == ALLOW and _allows_star(s)]
    share = _share(len(left), len(every))
    if not stars:
        return f"NotAction grant leaves {share} of all actions"
    removed = every - left
    if not removed:
        return "grants every action (*)"
    removal = _removal(removed, stars, evaluation, catalogue)
    return f"grants {share} of all actions (* except {removal})"


def _allows_star(statement: Statement) -> bool:
    return any(action.strip() in ("*", "*:*") for action in statement.actions or ())


def _share(part: int, whole: int) -> str:
    text = f"{part / whole:.0%}"
    return ">99%" if part < whole and text == "100%" else text


def _removal(
    removed: frozenset[str],
    stars: list[Statement],
    evaluation: RoleEvaluation,
    catalogue: ActionCatalogue,
) -> str:
    """What took actions away from a `*` Allow: Deny statements, the boundary, or neither."""
    denied: set[str] = set()
    patterns: set[str] = set()
    for document in evaluation.documents.values():
        for deny in document.statements:
            if deny.effect != DENY or deny.is_conditional:
                continue
            if not any(deny.scope.covers(star.scope) for star in stars):
                continue
            hit = expand_statement(catalogue, deny) & removed
            if hit:
                denied |= hit
                patterns.add(_written_actions(deny))
    parts = []
    if patterns:
        parts.append("what Deny statements remove: " + _some(sorted(patterns)))
    if evaluation.boundary is not None and removed - denied:
        parts.append("what the permissions boundary does not allow")
    return " and ".join(parts) or f"{len(removed)} actions no statement grants on its resources"


def _written_actions(statement: Statement) -> str:
    if statement.actions is not None:
        return ", ".join(statement.actions)
    return "NotAction " + ", ".join(statement.not_actions or ())


def _own(sources: Iterable[GrantSource], policy: PolicyRef) -> list[GrantSource]:
    return [source for source in sources if source.policy == policy]


def _statement(document: PolicyDocument | None, source: GrantSource) -> Statement | None:
    if document is None:
        return None
    return next((s for s in document.statements if s.label == source.statement), None)


def _condition_values(statement: Statement | None, key: str) -> dict[str, tuple[str, ...]]:
    """The values a statement's Condition gives one key, per operator (keys are
    case-insensitive in IAM)."""
    found: dict[str, tuple[str, ...]] = {}
    if statement is None:
        return found
    for operator, block in statement.condition.items():
        if not isinstance(block, Mapping):
            continue
        for name, value in block.items():
            if str(name).lower() == key:
                values = value if isinstance(value, list) else [value]
                found[str(operator)] = tuple(str(v) for v in values)
    return found


def _some(names: list[str], shown: int = 5) -> str:
    text = ", ".join(names[:shown])
    return text if len(names) <= shown else f"{text} (+{len(names) - shown} more)"
