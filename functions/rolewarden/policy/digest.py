"""A policy document's fingerprint: the same for the same JSON, however it is formatted.

A finding proposes a split computed from the document it read; the action compares this
digest with the document it reads just before changing it, so a policy edited since is
never overwritten with a split of its older self.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote


def document_digest(document: str | Mapping[str, Any]) -> str:
    if isinstance(document, str):
        text = document.strip()
        document = json.loads(unquote(text) if text.startswith("%") else text)
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
