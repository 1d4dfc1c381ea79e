"""How deep and how large an event may be, checked before anything walks or decodes it.

RoleWarden walks CloudTrail parameters and decodes the JSON text Config sends; both
recurse, so a 2,000-deep `requestParameters` or a 20,000-deep `invokingEvent` would end
in a RecursionError. Real events nest about ten levels deep, and Config sends a
configuration item beyond 256 KB as a summary: past these limits an event is malformed,
and the error says which limit it broke.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
MAX_JSON_TEXT = 1024 * 1024  # characters: four times what Config sends inline
# A JSON string (escapes included), and what is not a bracket once strings are gone.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def check_depth(value: Any, where: str) -> None:
    """ValueError when objects and arrays in `value` nest deeper than MAX_DEPTH (read
    without recursion: the check must not fail the way it guards against)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise ValueError(f"{where} nests deeper than {MAX_DEPTH} levels")
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children)


def load_json_text(text: str, where: str) -> Any:
    """json.loads, once the text is known to be of a size and depth it can decode."""
    if len(text) > MAX_JSON_TEXT:
        raise ValueError(f"{where} is {len(text)} characters, more than {MAX_JSON_TEXT}")
    if _text_depth(text) > MAX_DEPTH:
        raise ValueError(f"{where} nests deeper than {MAX_DEPTH} levels")
    return json.loads(text)


def _text_depth(text: str) -> int:
    """How deep the brackets of a JSON text nest, not counting those inside strings."""
    depth = deepest = 0
    for bracket in _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
