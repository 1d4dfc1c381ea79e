"""RoleWarden's settings: one model, read from the environment by every function and the CLI.

A malformed setting stops start-up with a message naming the variable; every numeric
setting is bounded. Two exceptions fail safe instead: a malformed ROLEWARDEN_DRY_RUN makes
the deployment read-only (and says why), and an unknown ROLEWARDEN_* variable is a warning,
refused only where a change could follow (`refuse_unknown`).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from rolewarden.policy.classify import policy_identity
from rolewarden.policy.critical import CRITICAL_AWS_MANAGED_POLICIES, grants_critical_action
from rolewarden.rules.context import RuleContext
from rolewarden.rules.ids import RULE_IDS
from rolewarden.rules.modes import InstanceRoleScope, Mode

PREFIX = "ROLEWARDEN_"
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_WILDCARD = re.compile(r"[*?]")
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$", re.ASCII)
DRY_RUN = PREFIX + "DRY_RUN"
# ROLEWARDEN_* variables the code reads besides the Settings fields (none today): with the
# fields, the one list of known settings.
OTHER_VARIABLES: tuple[str, ...] = ()
_KILL_SWITCH_VALUES = {"true": True, "false": False}
CRITICAL_BASELINE_POLICY = (
    "a policy that grants critical actions (permissions management, privilege escalation, "
    "everything) cannot be baseline"
)


class SettingsError(ValueError):
    """A setting is malformed; the message names the environment variable."""


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
    max_remediations_per_run: int = Field(default=10, ge=0, le=1000)
    max_remediations_per_hour: int = Field(default=30, ge=0, le=10000)
    max_exemption_days: int = Field(default=365, ge=0, le=3650)
    restore_grace_hours: int = Field(default=24, ge=0, le=8760)
    journal_table: str | None = None
    journal_key: str | None = None  # the KMS HMAC key that signs the journal's entries
    topic_arn: str | None = None
    # The permissions boundary of the task roles a migration creates.
    task_role_boundary_arn: str | None = None
    slack_secret_name: str | None = None
    dedup_hours: int = Field(default=24, ge=0, le=8760)
    config_test_mode: bool = False
    # MetadataNoToken window read before enforce-imdsv2; 455 days: CloudWatch's hourly data.
    imds_lookback_days: int = Field(default=14, ge=1, le=455)
    # Infrastructure the template wires in (not user settings): where automatic
    # remediations go, and where duplicate event deliveries are recognised.
    remediate_function: str | None = None
    idempotency_table: str | None = None
    findings_table: str | None = None  # first seen, last seen, resolved: de-duplication
    # Why dry_run is true although ROLEWARDEN_DRY_RUN did not say "true" (it was malformed).
    _dry_run_problem: str | None = PrivateAttr(default=None)
    _unknown_variables: tuple[str, ...] = PrivateAttr(default=())

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
        # Known by name; any other policy's document is judged at start-up (baseline_policies).
        critical = [arn for arn in value if policy_identity(arn) in CRITICAL_AWS_MANAGED_POLICIES]
        if critical:
            raise ValueError(f"{CRITICAL_BASELINE_POLICY}: {', '.join(critical)}")
        return value

    @field_validator("task_role_boundary_arn")
    @classmethod
    def _valid_boundary(cls, value: str | None) -> str | None:
        if value is not None and not _POLICY_ARN.match(value):
            raise ValueError(f"not an IAM policy ARN: {value}")
        return value

    def mode(self, rule_id: str) -> Mode:
        return self.rule_modes.get(rule_id, Mode.NOTIFY)

    def rule_context(self, today: date | None = None) -> RuleContext:
        """What the rules read of these settings (a fresh one: it caches role verdicts)."""
        return RuleContext.build(
            extra_baseline_actions=self.extra_baseline_actions,
            extra_baseline_policy_arns=self.extra_baseline_policy_arns,
            scope=self.instance_role_scope,
            remediating=() if self.dry_run else self._remediating(),
            max_exemption_days=self.max_exemption_days,
            baseline_instance_profile=self.baseline_instance_profile,
            today=today,
        )

    def _remediating(self) -> list[str]:
        return [rule for rule in RULE_IDS if self.mode(rule) is Mode.REMEDIATE]

    def enabled_rules(self) -> list[str]:
        return [rule for rule in RULE_IDS if self.mode(rule) is not Mode.OFF]

    @property
    def kill_switch(self) -> str:
        """Why nothing is changed under dry_run (the refusal's reason)."""
        if self._dry_run_problem:
            return f"{self._dry_run_problem}; this deployment is read-only; nothing was changed"
        return f"{DRY_RUN}=true: this deployment is read-only; nothing was changed"

    @property
    def warnings(self) -> list[str]:
        """What start-up should log: a malformed kill switch, unknown variables."""
        found = [self._dry_run_problem] if self._dry_run_problem else []
        return found + [
            f"unknown setting {_named(name)} is ignored" for name in self._unknown_variables
        ]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, refuse_unknown: bool = False
    ) -> Settings:
        """`refuse_unknown`: where a change could follow (the remediate function, --apply),
        an unknown ROLEWARDEN_* variable is an error, not a warning."""
        environ = os.environ if environ is None else environ
        if refuse_unknown:
            refuse_unknown_variables(environ)
        values: dict[str, str | bool] = {
            name: environ[PREFIX + name.upper()]
            for name in cls.model_fields
            if environ.get(PREFIX + name.upper(), "").strip() != ""
        }
        problem = None
        if DRY_RUN in environ:
            values["dry_run"], problem = _kill_switch(environ[DRY_RUN])
        try:
            settings = cls(**values)
        except ValidationError as error:
            raise SettingsError(_describe(error)) from None
        settings._dry_run_problem = problem
        settings._unknown_variables = tuple(unknown_variables(environ))
        return settings


def known_variables() -> frozenset[str]:
    """Every ROLEWARDEN_* variable RoleWarden reads."""
    return frozenset(PREFIX + name.upper() for name in Settings.model_fields) | set(OTHER_VARIABLES)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    known = known_variables()
    return sorted(name for name in environ if name.upper().startswith(PREFIX) and name not in known)


def refuse_unknown_variables(environ: Mapping[str, str] | None = None) -> None:
    """Where a change could follow (the remediate function, --apply): unknown is an error."""
    unknown = unknown_variables(os.environ if environ is None else environ)
    if unknown:
        raise SettingsError(
            f"unknown setting(s) {', '.join(_named(name) for name in unknown)}: refused "
            f"where a change could follow (a misspelled {DRY_RUN} must never apply)"
        )


def _named(name: str) -> str:
    """The variable, with the known one it probably meant."""
    # Compared without the prefix, which every name shares.
    known = {variable.removeprefix(PREFIX): variable for variable in known_variables()}
    wanted = name.upper().removeprefix(PREFIX)
    close = difflib.get_close_matches(wanted, sorted(known), n=1, cutoff=0.8)
    return f"{name} (did you mean {known[close[0]]}?)" if close else name


def _kill_switch(raw: str) -> tuple[bool, str | None]:
    """ROLEWARDEN_DRY_RUN: `true` or `false` (any case); empty is the default (false).
    Anything else is read as true, fail safe: detection runs, nothing is changed."""
    if raw == "":
        return False, None
    value = _KILL_SWITCH_VALUES.get(raw.lower())
    if value is not None:
        return value, None
    return True, f"{DRY_RUN}={raw!r} is neither true nor false: read as true (fail safe)"


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        message = str(item["msg"]).removeprefix("Value error, ")
        if bounds := bounds_of(field):
            message += f" (allowed: a whole number from {bounds[0]} to {bounds[1]})"
        problems.append(f"{PREFIX}{field.upper()}: {message}")
    return "invalid setting: " + "; ".join(problems)


def bounds_of(field: str) -> tuple[int, int] | None:
    """A numeric setting's range (ge, le), from its Field."""
    info = Settings.model_fields.get(field)
    if info is None or info.annotation is not int:
        return None
    limits = {type(item).__name__: item for item in info.metadata}
    return (limits["Ge"].ge, limits["Le"].le) if "Ge" in limits and "Le" in limits else None
