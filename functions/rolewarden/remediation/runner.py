"""Making one journaled change: save the state before, change, read back, record the verdict.

Shared by remediation and restore. The journal entry is written before any AWS call, so
what undo needs is safe first; a change that fails or does not show marks the entry
failed and raises the alarm (the RemediationFailed metric).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rolewarden.aws.clients import AwsClients
from rolewarden.observability import count, logger
from rolewarden.remediation.change import (
    Action,
    ActionError,
    Change,
    ChangedSincePlanError,
    PartialChangeError,
    Poll,
)
from rolewarden.remediation.journal import Journal, JournalEntry, Status, new_journal_id
from rolewarden.remediation.registry import ACTIONS


class ResourceBusyError(Exception):
    """Another remediation or restore of the same resource is under way."""


class ChangeRunner:
    def __init__(
        self, clients: AwsClients, journal: Journal, now: Callable[[], datetime], poll: Poll
    ) -> None:
        self.clients = clients
        self.journal = journal
        self.now = now
        self.poll = poll

    def entry(self, change: Change, **fields: Any) -> JournalEntry:
        now = self.now()
        return JournalEntry(
            journal_id=new_journal_id(now), time=now.isoformat(), change=change, **fields
        )

    @contextmanager
    def exclusive(self, resource_arn: str) -> Iterator[None]:
        """One change at a time per resource (the sweep and an event may both act on it)."""
        token = self.journal.lock(resource_arn, self.now())
        if token is None:
            raise ResourceBusyError(
                f"another remediation or restore of {resource_arn} is under way"
            )
        try:
            yield
        finally:
            self.journal.unlock(resource_arn, token)

    def apply(self, entry: JournalEntry) -> JournalEntry:
        """Journal, change, read back until it shows; the entry says how it went."""
        action = ACTIONS[entry.action]
        entry.change = action.journaled(entry.change, entry.journal_id)
        self.journal.save(entry)  # before the change: what it takes to undo is safe first
        try:
            applied = action.apply(self.clients, entry.change)
            if applied != entry.change:  # AWS assigned something the undo needs
                entry.change = applied
                self.journal.save(entry)
            self._verify(entry, action, entry.change.after)
        except ActionError as error:
            if isinstance(error, PartialChangeError | ChangedSincePlanError):
                entry.change = error.change  # what restore needs to undo (the part made)
            self._fail(entry, str(error))
        return self._done(entry, "remediation applied")

    def undo(self, entry: JournalEntry, original: Change) -> JournalEntry:
        """Undo `original`; `entry` (a restore entry) is journaled first, as for a change."""
        action = ACTIONS[original.action]
        self.journal.save(entry)
        try:
            action.undo(self.clients, original)
            self._verify(entry, action, original.before)
        except ActionError as error:
            self._fail(entry, str(error))
        return self._done(entry, "restored")

    def _done(self, entry: JournalEntry, message: str) -> JournalEntry:
        if entry.status is not Status.FAILED:
            entry.status = Status.VERIFIED
            self.journal.save(entry)
            logger.info(message, entry=entry.as_json())
        return entry

    def _verify(self, entry: JournalEntry, action: Action[Any], expected: dict[str, Any]) -> None:
        # A restore entry's change has the original's target: the same read serves both.
        took, seen = self.poll.until(lambda: action.read(self.clients, entry.change), expected)
        shown = json.dumps(seen, default=str, sort_keys=True)
        entry.verify = f"read back {shown}" if took else f"did not take: read back {shown}"
        if not took:
            self._fail(entry, f"verification failed: expected {json.dumps(expected, default=str)}")

    def _fail(self, entry: JournalEntry, error: str) -> None:
        entry.status = Status.FAILED
        entry.error = error
        count("RemediationFailed")
        logger.error("remediation failed", entry=entry.as_json())
        self.journal.save(entry)
