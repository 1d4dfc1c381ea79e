"""AWS tags: the lists services send and take, as a dict.

IAM, EC2 and CloudFormation write `[{"Key": k, "Value": v}]`; ECS writes
`[{"key": k, "value": v}]`. Both read the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def tag_dict(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """Tags by key, from either casing; an item without a key is not a tag."""
    found: dict[str, str] = {}
    for tag in tags or []:
        key = tag.get("Key") or tag.get("key")
        if key:
            found[str(key)] = str(tag.get("Value") or tag.get("value") or "")
    return found


def tag_list(tags: Mapping[str, str], *, ecs: bool = False) -> list[dict[str, str]]:
    """Tags as a service takes them: `Key`/`Value`, or ECS's `key`/`value`."""
    key, value = ("key", "value") if ecs else ("Key", "Value")
    return [{key: name, value: text} for name, text in tags.items()]
