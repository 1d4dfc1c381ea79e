"""AWS Config custom rule invocations, parsed; and which resources they name.

Config sends `invokingEvent` and `ruleParameters` as JSON strings. Three message types:
a configuration item changed (inline), an oversized one (only a summary: the item is
fetched), and a scheduled run (no resource: every resource of the rule's type).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rolewarden.evaluation.event_limits import load_json_text
from rolewarden.rules.ids import RULE_IDS

DELETED_STATUSES = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded"})


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class ConfigurationItem(_Model):
    """The part of a configuration item (or its summary) RoleWarden needs."""

    resource_type: str = Field(alias="resourceType")
    resource_id: str = Field(alias="resourceId")
    resource_name: str | None = Field(default=None, alias="resourceName")
    arn: str | None = Field(default=None, alias="ARN")
    aws_region: str = Field(alias="awsRegion")
    status: str = Field(alias="configurationItemStatus")
    capture_time: datetime = Field(alias="configurationItemCaptureTime")

    @field_validator("resource_type", "resource_id")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():  # PutEvaluations would refuse it, failing the whole batch
            raise ValueError("empty: the item names no resource")
        return value

    @property
    def deleted(self) -> bool:
        return self.status in DELETED_STATUSES


class ItemChanged(_Model):
    message_type: Literal["ConfigurationItemChangeNotification"] = Field(alias="messageType")
    item: ConfigurationItem = Field(alias="configurationItem")
    notification_time: datetime = Field(alias="notificationCreationTime")


class OversizedItemChanged(_Model):
    message_type: Literal["OversizedConfigurationItemChangeNotification"] = Field(
        alias="messageType"
    )
    summary: ConfigurationItem = Field(alias="configurationItemSummary")
    notification_time: datetime = Field(alias="notificationCreationTime")


class Scheduled(_Model):
    message_type: Literal["ScheduledNotification"] = Field(alias="messageType")
    account: str = Field(alias="awsAccountId")
    notification_time: datetime = Field(alias="notificationCreationTime")


InvokingEvent = Annotated[
    ItemChanged | OversizedItemChanged | Scheduled, Field(discriminator="message_type")
]


class RuleParameters(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str

    @field_validator("rule")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in RULE_IDS:
            raise ValueError(f"unknown rule id {value!r}")
        return value


class ConfigRuleInvocation(_Model):
    invoking_event: InvokingEvent = Field(alias="invokingEvent")
    rule_parameters: RuleParameters = Field(alias="ruleParameters")
    result_token: str = Field(alias="resultToken")
    event_left_scope: bool = Field(default=False, alias="eventLeftScope")
    account: str = Field(alias="accountId")
    config_rule_name: str = Field(alias="configRuleName")

    @field_validator("invoking_event", "rule_parameters", mode="before")
    @classmethod
    def _json_string(cls, value: Any) -> Any:
        """Config sends both as JSON text (bounded in size and depth: see event_limits)."""
        if isinstance(value, str):
            try:
                return load_json_text(value, "JSON text")
            except json.JSONDecodeError as error:
                raise ValueError(f"not JSON: {error.msg}") from None
        return value
