"""The remediate function's payload (a direct invoke), validated before anything is read.

    {"finding_id": "0123456789abcdef", "requested_by": "alice"}
    {"rule": "...", "resource_arn": "arn:...", "action": "...", "requested_by": "alice"}
    {"restore": "<journal id>", "requested_by": "alice"}

`dry_run` is true unless the payload says false; `force` is false unless it says true.
Both (and the other switches) are JSON booleans only: "false", 0 or null are refused,
so a payload written loosely never turns a plan into a change.
"""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rolewarden.evaluation.resource import check_rule_judges
from rolewarden.remediation.registry import ACTIONS
from rolewarden.rules.ids import RULE_IDS


class RemediatePayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    finding_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    rule: str | None = None
    resource_arn: str | None = Field(default=None, pattern=r"^arn:[\w-]+:(ec2|iam|ecs):")
    restore: str | None = Field(default=None, pattern=r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
    action: str | None = None
    dry_run: bool = True
    force: bool = False
    requested_by: str = Field(min_length=1, max_length=256)
    task_role_arn: str | None = Field(default=None, pattern=r"^arn:[\w-]+:iam::\d{12}:role/")
    update_service: bool = False
    # Set by RoleWarden's own event and sweep functions: every automatic guard applies.
    automatic: bool = False
    event_id: str | None = Field(default=None, max_length=256)
    # Set with `automatic`: the caller of the call that triggered it (CloudTrail), or "sweep".
    caused_by: str | None = Field(default=None, max_length=2048)

    @field_validator("dry_run", "force", "update_service", "automatic", mode="before")
    @classmethod
    def _json_boolean(cls, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError(
                f"must be a JSON boolean (true or false), got {_json_type(value)}; "
                "nothing is changed"
            )
        return value

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        by_resource = self.rule is not None or self.resource_arn is not None
        subjects = [self.finding_id is not None, by_resource, self.restore is not None]
        if sum(subjects) != 1:
            raise ValueError("name exactly one of: finding_id; rule and resource_arn; restore")
        if by_resource and (self.rule is None or self.resource_arn is None):
            raise ValueError("rule and resource_arn go together")
        if self.rule is not None and self.rule not in RULE_IDS:
            raise ValueError(f"unknown rule {self.rule} (known: {', '.join(RULE_IDS)})")
        if self.rule is not None and self.resource_arn is not None:
            check_rule_judges(self.rule, self.resource_arn)  # a ValueError that says why
        if self.action is not None and self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action} (known: {', '.join(ACTIONS)})")
        return self


def _json_type(value: Any) -> str:
    """`the string "false"`, `the number 0`, `null`: what the payload held, as JSON."""
    text = json.dumps(value, default=str)
    kinds = {str: "the string ", int: "the number ", float: "the number ", type(None): ""}
    return kinds.get(type(value), "the value ") + text
