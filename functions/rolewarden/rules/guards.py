"""Why a proposed remediation may not be applied automatically.

`never`: RoleWarden does not change the resource at all (a person must handle it).
`manual`: a person may apply it; RoleWarden will not on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rolewarden.inventory.snapshot import CLOUDFORMATION_STACK_TAG, Role
from rolewarden.rules.model import Blockers

PROTECTED_TAG = "rolewarden:protected"
# Every role RoleWarden's template creates carries this tag.
OWN_ROLE_TAG = "rolewarden:component"


@dataclass
class Guards:
    never: list[str] = field(default_factory=list)
    force: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> tuple[str, ...]:
        return (*self.never, *self.force, *self.manual)

    @property
    def allow_automatic(self) -> bool:
        return not self.reasons

    def freeze(self) -> Blockers:
        return Blockers(tuple(self.never), tuple(self.force), tuple(self.manual))


def _has_tag(tags: Mapping[str, str], key: str) -> bool:
    """Guard tags match whatever their case: a `RoleWarden:Protected` must still protect."""
    return any(name.lower() == key for name in tags)


def never_changed(
    tags: Mapping[str, str], *, role: bool = False, service_linked: bool = False
) -> list[str]:
    """Why RoleWarden must not change this resource at all (empty: it may)."""
    reasons = []
    if _has_tag(tags, PROTECTED_TAG):
        reasons.append(f"protected: tagged {PROTECTED_TAG}")
    if service_linked:
        reasons.append("service-linked role: AWS manages its policies")
    if role and _has_tag(tags, OWN_ROLE_TAG):
        reasons.append("RoleWarden's own role")
    return reasons


def resource_guards(tags: Mapping[str, str]) -> Guards:
    guards = Guards(never=never_changed(tags))
    stack = tags.get(CLOUDFORMATION_STACK_TAG)
    if stack:
        guards.manual.append(
            f"managed by CloudFormation stack {stack}: fix the template, or the stack puts it back"
        )
    return guards


def role_guards(role: Role) -> Guards:
    guards = resource_guards(role.tags)
    guards.never = never_changed(role.tags, role=True, service_linked=role.service_linked)
    return guards
