"""What every remediation action is: plan, apply, read back, undo; and the change it plans.

An action states the resource's relevant state as a small JSON-able dict. `before` is
what it reads now, `after` what it will read once the change took. Verifying a change
and checking that a restore is safe are then the same thing: compare what `read`
returns with the state the journal expects.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import AwsError
from rolewarden.remediation.params import Params, parse_params
from rolewarden.settings import Settings

State = dict[str, Any]


class ActionError(AwsError):
    """An AWS call of an action failed, or the action cannot run with these parameters."""


class ActionRefusedError(ActionError):
    """The action cannot run as asked (a setting or a choice is missing): not an AWS failure."""


class PartialChangeError(ActionError):
    """Part of a change was made before a call failed: `change` says what, for the journal."""

    def __init__(self, error: ActionError, change: Change) -> None:
        super().__init__(str(error), operation=error.operation, code=error.code)
        self.change = change


class ChangedSincePlanError(ActionError):
    """The resource moved on between the journal write and the change: nothing was changed.

    `change` states the resource as it is now (before = after), for the journal: restore
    then finds nothing of RoleWarden's to undo."""

    def __init__(self, message: str, change: Change) -> None:
        super().__init__(message)
        self.change = change


@dataclass(frozen=True)
class Change:
    action: str
    region: str
    target: Mapping[str, Any]  # what the action works on, e.g. a role and a policy
    before: State
    after: State
    summary: str = ""  # one line a person reads in a plan
    # Values of `before` as AWS returned them, byte for byte (an inline policy's text), for
    # undo to put back exactly; `before` holds them parsed, and the two must agree.
    verbatim: Mapping[str, str] = field(default_factory=dict)

    def with_after(self, after: State, **target: Any) -> Change:
        return replace(self, after=after, target={**self.target, **target})

    def as_json(self) -> dict[str, Any]:
        """The whole change, as the journal keeps it."""
        shown = self.as_plan()
        return shown | {"verbatim": dict(self.verbatim)} if self.verbatim else shown

    def as_plan(self) -> dict[str, Any]:
        """What a person reads in a plan: `before` already shows the verbatim texts, parsed."""
        return {
            "action": self.action,
            "region": self.region,
            "target": dict(self.target),
            "before": self.before,
            "after": self.after,
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            action=data["action"],
            region=data["region"],
            target=dict(data["target"]),
            before=dict(data["before"]),
            after=dict(data["after"]),
            summary=data.get("summary", ""),
            verbatim=dict(data.get("verbatim", {})),
        )


class Action(ABC, Generic[Params]):
    name: str
    # Every IAM action the class calls (plan, apply, read and undo): the template grants these.
    permissions: tuple[str, ...]
    params_type: type[Params]

    def parse(self, params: Mapping[str, Any]) -> Params:
        """The proposal's params as this action reads them (ParamsError: malformed)."""
        return parse_params(self.params_type, self.name, params)

    @abstractmethod
    def plan(self, clients: AwsClients, region: str, params: Params) -> Change | None:
        """The change to make, or None when the resource is already as it should be."""

    def journaled(self, change: Change, journal_id: str) -> Change:
        """The change as first journaled, once it has its id (an action that tags what it
        creates with the id, to find it after a lost reply, says so in the target)."""
        return change

    @abstractmethod
    def apply(self, clients: AwsClients, change: Change) -> Change:
        """Make the change; returns it with whatever AWS assigned (ids) in `after`."""

    @abstractmethod
    def read(self, clients: AwsClients, change: Change) -> State:
        """The resource's current state, in the shape of `before` and `after`."""

    @abstractmethod
    def undo(self, clients: AwsClients, change: Change) -> None:
        """Put the resource back to `before`."""

    def undo_blockers(self, clients: AwsClients, change: Change) -> list[str]:
        """Why undoing the change now would break what uses the resource: a restore waits
        for a person's --force. None by default."""
        return []

    def preflight(
        self, clients: AwsClients, change: Change, settings: Settings, now: datetime
    ) -> list[str]:
        """Why this change should wait for a person's --force, learnt by reading what uses
        the resource (read once per request, not again before applying). None by default."""
        return []


def matches(state: State, expected: State) -> bool:
    return all(state.get(key) == value for key, value in expected.items())


@dataclass
class Poll:
    """Read back until the state shows, briefly: IAM and EC2 are eventually consistent."""

    attempts: int = 6
    first_delay: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep)

    def until(self, read: Callable[[], State], expected: State) -> tuple[bool, State]:
        delay = self.first_delay
        state = read()
        for _ in range(self.attempts - 1):
            if matches(state, expected):
                return True, state
            self.sleep(delay)
            delay *= 2
            state = read()
        return matches(state, expected), state
