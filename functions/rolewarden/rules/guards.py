"""Why a proposed remediation may not be applied automatically.

`never`: RoleWarden does not change the resource at all (a person must handle it).
`manual`: a person may apply it; RoleWarden will not on its own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rolewarden.inventory.snapshot import CLOUDFORMATION_STACK_TAG, Instance, Role
from rolewarden.rules.model import Blockers

PROTECTED_TAG = "rolewarden:protected"
# Every role RoleWarden's template creates carries this tag.
OWN_ROLE_TAG = "rolewarden:component"
# Letters of other scripts that look like the Latin ones of the guard keys (Cyrillic,
# Greek, ...), by the Latin letter they pass for; NFKC folds full-width forms already.
_LOOK_ALIKES_OF = {
    "\u0430\u0251\u03b1": "a",
    "\u0441": "c",
    "\u0501": "d",
    "\u0435\u03b5": "e",
    "\u04bb": "h",
    "\u0456\u0131\u03b9": "i",
    "\u0458": "j",
    "\u03ba": "k",
    "\u2113\u04cf": "l",
    "\u0578": "n",
    "\u043e\u03bf": "o",
    "\u0440\u03c1": "p",
    "\u0455": "s",
    "\u0442\u03c4": "t",
    "\u03bd": "v",
    "\u051d": "w",
    "\u0445": "x",
    "\u0443": "y",
}
# Invisible characters a copy and paste brings along.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
LOOK_ALIKES = str.maketrans(
    {
        **{char: latin for chars, latin in _LOOK_ALIKES_OF.items() for char in chars},
        **dict.fromkeys(_INVISIBLE, ""),
    }
)


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


def _skeleton(key: str) -> str:
    """What a key looks like to a person: case, spaces and look-alike letters folded."""
    folded = unicodedata.normalize("NFKC", key).casefold().translate(LOOK_ALIKES)
    return "".join(folded.split())


def probable_typos(tags: Mapping[str, str], keys: Iterable[str] = (PROTECTED_TAG,)) -> list[str]:
    """Tag keys that look like a guard key but are not spelled as it is."""
    wanted = {_skeleton(key): key for key in keys}
    return [
        f"probable typo: tag key {shown_key(name)} looks like {wanted[_skeleton(name)]}"
        for name in sorted(tags)
        if _skeleton(name) in wanted and name != wanted[_skeleton(name)]
    ]


def shown_key(key: str) -> str:
    """A key with its invisible or foreign characters visible (\\u043e, a trailing space)."""
    return '"' + key.encode("ascii", "backslashreplace").decode() + '"'


def never_changed(
    tags: Mapping[str, str], *, role: bool = False, service_linked: bool = False
) -> list[str]:
    """Why RoleWarden must not change this resource at all (empty: it may)."""
    reasons = []
    if PROTECTED_TAG in tags:
        reasons.append(f"protected: tagged {PROTECTED_TAG}")
    elif _has_tag(tags, PROTECTED_TAG):  # protects all the same; the spelling is reported
        cased = next(name for name in sorted(tags) if name.lower() == PROTECTED_TAG)
        reasons.append(
            f"protected: tagged {shown_key(cased)} (taken as {PROTECTED_TAG}; probable typo)"
        )
    if service_linked:
        reasons.append("service-linked role: AWS manages its policies")
    if role and _has_tag(tags, OWN_ROLE_TAG):
        reasons.append("RoleWarden's own role")
    return reasons


def resource_guards(tags: Mapping[str, str]) -> Guards:
    guards = Guards(never=never_changed(tags))
    guards.manual += _unhonoured_typos(tags)
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


def _unhonoured_typos(tags: Mapping[str, str]) -> list[str]:
    """Near misses of the protected key that do not protect as written: a person decides."""
    if _has_tag(tags, PROTECTED_TAG):
        return []  # protected anyway (never_changed names the spelling)
    return [f"{typo}: not honoured as written; fix the key" for typo in probable_typos(tags)]


def protected_behind(
    profiles: Mapping[str, Mapping[str, str]], hosts: Iterable[Instance]
) -> list[str]:
    """A role is protected from automatic changes by a `rolewarden:protected` on its
    instance profiles (name -> tags) or on the instances that use it."""
    reasons = []
    for name, tags in sorted(profiles.items()):
        reasons += [f"instance profile {name}: {reason}" for reason in _protection(tags)]
    for host in sorted(hosts, key=lambda instance: instance.instance_id):
        reasons += [f"instance {host.instance_id}: {reason}" for reason in _protection(host.tags)]
    return reasons


def _protection(tags: Mapping[str, str]) -> list[str]:
    protected = [reason for reason in never_changed(tags) if reason.startswith("protected")]
    return protected + _unhonoured_typos(tags)
