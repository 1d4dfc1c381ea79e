"""RoleWarden's settings: one model, read from the environment by every function and the CLI.

A malformed setting stops start-up with a message naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rolewarden.policy.critical import grants_critical_action
from rolewarden.rules.ids import RULE_IDS

PREFIX = "ROLEWARDEN_"
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_WILDCARD = re.compile(r"[*?]")


class SettingsError(ValueError):
    """A setting is malformed; the message names the environment variable."""


class Mode(StrEnum):
    OFF = "off"
    NOTIFY = "notify"
    REMEDIATE = "remediate"


class InstanceRoleScope(StrEnum):
    ECS_HOSTS = "ecs-hosts"
    ALL = "all"


CommaList = Annotated[tuple[str, ...], Field(default=())]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_modes: dict[str, Mode] = Field(default_factory=dict)
    dry_run: bool = False
    regions: CommaList
    instance_role_scope: InstanceRoleScope = InstanceRoleScope.ECS_HOSTS
    extra_baseline_actions: CommaList
    extra_baseline_policy_arns: CommaList
    baseline_instance_profile: str | None = None
    max_remediations_per_run: int = Field(default=10, ge=0)
    max_remediations_per_hour: int = Field(default=30, ge=0)
    max_exemption_days: int = Field(default=365, ge=0)
    restore_grace_hours: int = Field(default=24, ge=0)
    journal_table: str | None = None
    journal_key: str | None = None  # the KMS HMAC key that signs the journal's entries
    topic_arn: str | None = None
    slack_secret_name: str | None = None
    dedup_hours: int = Field(default=24, ge=0)
    config_test_mode: bool = False
    # Infrastructure the template wires in (not user settings): where automatic
    # remediations go, and where duplicate event deliveries are recognised.
    remediate_function: str | None = None
    idempotency_table: str | None = None
    findings_table: str | None = None  # first seen, last seen, resolved: de-duplication

    @field_validator("rule_modes", mode="before")
    @classmethod
    def _parse_modes(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        modes: dict[str, str] = {}
        for pair in _split(value):
            rule, sep, mode = pair.partition("=")
            if not sep:
                raise ValueError(f"expected rule=mode, got {pair!r}")
            modes[rule.strip()] = mode.strip()
        return modes

    @field_validator("rule_modes")
    @classmethod
    def _known_rules(cls, value: dict[str, Mode]) -> dict[str, Mode]:
        unknown = sorted(set(value) - set(RULE_IDS))
        if unknown:
            raise ValueError(f"unknown rule id(s): {', '.join(unknown)}")
        return value

    @field_validator(
        "regions", "extra_baseline_actions", "extra_baseline_policy_arns", mode="before"
    )
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return tuple(_split(value)) if isinstance(value, str) else value

    @field_validator("regions")
    @classmethod
    def _valid_regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [region for region in value if not REGION_PATTERN.match(region)]
        if bad:
            raise ValueError(f"not a region name: {', '.join(bad)}")
        return value

    @field_validator("extra_baseline_actions")
    @classmethod
    def _valid_actions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        any_service = [action for action in value if _WILDCARD.search(action.split(":")[0])]
        if any_service:
            raise ValueError(f"a wildcard service cannot be baseline: {', '.join(any_service)}")
        bad = [action for action in value if ":" not in action]
        if bad:
            raise ValueError(f"not an IAM action (service:Action): {', '.join(bad)}")
        critical = [action for action in value if grants_critical_action(action)]
        if critical:
            raise ValueError(
                "critical actions cannot be baseline (permissions management or privilege "
                f"escalation): {', '.join(critical)}"
            )
        return value

    @field_validator("extra_baseline_policy_arns")
    @classmethod
    def _valid_arns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [arn for arn in value if not arn.startswith("arn:") or ":policy/" not in arn]
        if bad:
            raise ValueError(f"not an IAM policy ARN: {', '.join(bad)}")
        return value

    def mode(self, rule_id: str) -> Mode:
        return self.rule_modes.get(rule_id, Mode.NOTIFY)

    def enabled_rules(self) -> list[str]:
        return [rule for rule in RULE_IDS if self.mode(rule) is not Mode.OFF]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {
            name: environ[PREFIX + name.upper()]
            for name in cls.model_fields
            if environ.get(PREFIX + name.upper(), "").strip() != ""
        }
        try:
            return cls(**values)
        except ValidationError as error:
            raise SettingsError(_describe(error)) from None


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{PREFIX}{field.upper()}: {message}")
    return "invalid setting: " + "; ".join(problems)
