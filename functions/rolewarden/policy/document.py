"""Parse IAM policy documents as AWS accepts them.

IAM returns inline and version documents URL-encoded; CloudFormation and people
write dicts or JSON strings. `Statement`, `Action`, `Resource` and friends may be
a single value or a list. A document we cannot read raises `PolicyParseError`
with the reason: it is never silently treated as granting nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from rolewarden.policy.resource_globs import ResourceScope

ALLOW = "Allow"
DENY = "Deny"


class PolicyParseError(ValueError):
    """The document is not a valid IAM policy; the message says why."""


@dataclass(frozen=True)
class Statement:
    effect: str
    index: int
    sid: str | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    condition: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_conditional(self) -> bool:
        return bool(self.condition)

    @functools.cached_property  # asked for again and again: once per grant source
    def scope(self) -> ResourceScope:
        if self.resources is not None:
            return ResourceScope(self.resources)
        return ResourceScope(self.not_resources or (), negated=True)

    @property
    def covers_every_resource(self) -> bool:
        return self.scope.is_everything

    @property
    def label(self) -> str:
        return self.sid or f"Statement[{self.index}]"

    def as_json(self) -> dict[str, Any]:
        """The statement as IAM writes it (for evidence and proposed documents)."""
        body: dict[str, Any] = {}
        if self.sid:
            body["Sid"] = self.sid
        body["Effect"] = self.effect
        for key, value in (
            ("Action", self.actions),
            ("NotAction", self.not_actions),
            ("Resource", self.resources),
            ("NotResource", self.not_resources),
        ):
            if value is not None:
                body[key] = list(value)
        if self.condition:
            body["Condition"] = dict(self.condition)
        return body


@dataclass(frozen=True)
class PolicyDocument:
    statements: tuple[Statement, ...]
    version: str | None = None


def parse_policy_document(raw: str | Mapping[str, Any]) -> PolicyDocument:
    """Parse a policy given as a dict, a JSON string or a URL-encoded JSON string."""
    document = _load(raw)
    if "Statement" not in document:
        raise PolicyParseError("policy has no Statement")
    raw_statements = document["Statement"]
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyParseError("Statement must be an object or a list of objects")
    version = document.get("Version")
    if version is not None and not isinstance(version, str):
        raise PolicyParseError("Version must be a string")
    statements = tuple(_statement(item, index) for index, item in enumerate(raw_statements))
    return PolicyDocument(statements=statements, version=version)


def _load(raw: str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return raw
    if not isinstance(raw, str):
        raise PolicyParseError(f"policy must be a JSON object or string, not {type(raw).__name__}")
    text = raw.strip()
    if text.startswith("%"):
        # URL-encoded as IAM returns it; IAM keeps the text as written, so it may start
        # with encoded whitespace ("%0A%20%20%7B..."). JSON itself never starts with "%".
        text = unquote(text)
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyParseError(
            f"policy is not valid JSON: {error.msg} at char {error.pos}"
        ) from None
    if not isinstance(loaded, dict):
        raise PolicyParseError("policy JSON must be an object")
    return loaded


def _statement(item: object, index: int) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(item, Mapping):
        raise PolicyParseError(f"{where} must be an object")
    effect = item.get("Effect")
    if effect not in (ALLOW, DENY):
        raise PolicyParseError(f"{where}: Effect must be Allow or Deny, got {effect!r}")
    actions = _strings(item, "Action", where)
    not_actions = _strings(item, "NotAction", where)
    if (actions is None) == (not_actions is None):
        raise PolicyParseError(f"{where}: exactly one of Action and NotAction is required")
    resources = _strings(item, "Resource", where)
    not_resources = _strings(item, "NotResource", where)
    if (resources is None) == (not_resources is None):
        raise PolicyParseError(f"{where}: exactly one of Resource and NotResource is required")
    condition = item.get("Condition", {})
    if not isinstance(condition, Mapping):
        raise PolicyParseError(f"{where}: Condition must be an object")
    sid = item.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyParseError(f"{where}: Sid must be a string")
    return Statement(
        effect=effect,
        index=index,
        sid=sid,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        condition=condition,
    )


def _strings(item: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    if key not in item:
        return None
    value = item[key]
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(entry, str) for entry in value):
        if not value:
            raise PolicyParseError(f"{where}: {key} must not be empty")
        return tuple(value)
    raise PolicyParseError(f"{where}: {key} must be a string or a list of strings")
