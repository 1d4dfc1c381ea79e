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


def refuse_foreign_account(event_account: str, own_account: str) -> dict[str, Any]:
    """An event of another account: this function can read only its own account, so
    nothing is evaluated (until the organization mode), and nothing names either account
    wrongly."""
    reason = (
        f"event of account {event_account}, but this function reads account {own_account}: "
        "it has no credentials for that account, so nothing is evaluated"
    )
    logger.error(
        "event of another account refused",
        event_account=event_account,
        own_account=own_account,
        reason=reason,
    )
    count("ForeignAccountEvents")
    return {"status": "refused", "reason": reason}


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'event'}: {item['msg']}"
            for item in error.errors()
        )
    return str(error)
