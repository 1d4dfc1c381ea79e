"""Remediation actions by name (the names rules propose)."""

from typing import Any

from rolewarden.remediation.actions.associate_instance_profile import AssociateInstanceProfile
from rolewarden.remediation.actions.create_task_role import CreateTaskRole
from rolewarden.remediation.actions.delete_inline_policy import DeleteInlinePolicy
from rolewarden.remediation.actions.detach_managed_policy import DetachManagedPolicy
from rolewarden.remediation.actions.enforce_imdsv2 import EnforceImdsV2
from rolewarden.remediation.actions.register_task_definition_with_task_role import (
    RegisterTaskDefinitionWithTaskRole,
)
from rolewarden.remediation.actions.split_mixed_policy import SplitMixedPolicy
from rolewarden.remediation.change import Action
from rolewarden.rules.instance_role_app_permissions import ACTION as REMOVE_APPLICATION_POLICIES

ACTIONS: dict[str, Action[Any]] = {
    action.name: action
    for action in (
        DetachManagedPolicy(),
        DeleteInlinePolicy(),
        SplitMixedPolicy(),
        AssociateInstanceProfile(),
        EnforceImdsV2(),
        RegisterTaskDefinitionWithTaskRole(),
        CreateTaskRole(),
    )
}

# Passing a task role needs iam:PassRole on it; RoleWarden's own role may pass only the
# baseline profile's role, so these actions run with a person's credentials (the CLI): a
# new revision with a task role, and the task roles a migration creates.
CLI_ONLY = frozenset({RegisterTaskDefinitionWithTaskRole.name, CreateTaskRole.name})

# A proposal made of several steps, each one of the actions above.
COMPOSITE = REMOVE_APPLICATION_POLICIES
