"""Remediation proposals that several rules make."""

from __future__ import annotations

from rolewarden.rules.guards import Guards
from rolewarden.rules.model import Remediation

REGISTER_WITH_TASK_ROLE = "register-task-definition-with-task-role"


def new_revision_with_task_role(task_definition_arn: str, guards: Guards) -> Remediation:
    """A revision like this one plus a task role a person chooses: never automatic."""
    return Remediation(
        action=REGISTER_WITH_TASK_ROLE,
        automatic=False,
        params={"task_definition_arn": task_definition_arn, "task_role_arn": None},
        blockers=guards.freeze(),
    )
