"""What a rule does with what it finds, and which instance roles it judges."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    OFF = "off"
    NOTIFY = "notify"
    REMEDIATE = "remediate"


class InstanceRoleScope(StrEnum):
    ECS_HOSTS = "ecs-hosts"
    ALL = "all"
