"""A malformed or unservable event is logged, counted and acknowledged.

Raising would make Lambda retry an event that can never succeed (a retry storm); nothing
has been changed at this point, so acknowledging is safe.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from rolewarden.observability import count, logger


def reject(kind: str, error: Exception) -> dict[str, Any]:
    reason = _reason(error)
    logger.error("malformed event", kind=kind, reason=reason)
    count("MalformedEvents")
    return {"status": "rejected", "reason": f"malformed {kind}: {reason}"}


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'event'}: {item['msg']}"
            for item in error.errors()
        )
    return str(error)
