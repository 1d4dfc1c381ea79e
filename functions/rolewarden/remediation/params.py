"""What an action is asked to do: a typed object, parsed once from the proposal a rule made
(with what the request adds: a task role, update_service) before anything is read.

A field missing or of the wrong JSON type is a ParamsError naming it: nothing is planned
or changed. Keys an action does not read (a step's `action`, what a proposal shows a
person, such as `previous`) are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from rolewarden.rules.model import Remediation

Params = TypeVar("Params", bound="ActionParams")


class ActionParams(BaseModel):
    # strict: JSON types only ("1" is no hop limit, "false" no boolean); built on first use,
    # not at import (a cold start loads every action).
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", defer_build=True)


class ProposedStep(ActionParams):
    """One step of a proposal of several: the action's name and that action's params (the
    policy a step removes is read before any action runs, by the account's guards)."""

    model_config = ConfigDict(extra="allow")
    action: str
    policy_arn: str | None = None
    policy_name: str | None = None

    def params(self, role_name: str) -> dict[str, Any]:
        """What the step's action parses: the step as proposed, on the proposal's role."""
        return {"role_name": role_name, **self.model_dump(exclude={"action"}, exclude_unset=True)}


class StepsProposal(ActionParams):
    """A proposal of several actions on one role (remove-application-policies: a detach,
    delete or split per offending policy)."""

    role_name: str
    steps: list[ProposedStep] = Field(min_length=1)

    @classmethod
    def of(cls, remediation: Remediation) -> StepsProposal:
        return parse_params(cls, remediation.action, remediation.params)

    def actions(self) -> set[str]:
        return {step.action for step in self.steps}


class ParamsError(Exception):
    """A proposal's params lack a field the action needs, or hold a malformed one."""


def parse_params(kind: type[Params], action: str, raw: Mapping[str, Any]) -> Params:
    try:
        return kind.model_validate(dict(raw))
    except ValidationError as error:
        problems = "; ".join(_problem(detail) for detail in error.errors(include_url=False))
        raise ParamsError(f"{action}: malformed params ({problems}): nothing is changed") from error


def _problem(detail: ErrorDetails) -> str:
    where = ".".join(str(part) for part in detail["loc"])
    message = detail["msg"]
    if detail["type"] == "value_error":  # the validator's own words, not pydantic's prefix
        message = str(detail.get("ctx", {}).get("error", message))
    return f"{where}: {message}" if where else message
