"""The rules of design.md, by id. Each is a pure function of a snapshot."""

from rolewarden.rules import (
    ec2_instance_without_profile,
    ecs_host_imds_exposed,
    ecs_task_definition_without_task_role,
    ecs_task_without_task_role,
    instance_profile_without_role,
    instance_role_app_permissions,
    task_role_is_execution_role,
)
from rolewarden.rules.model import Rule

REGISTRY: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        ec2_instance_without_profile.RULE,
        instance_profile_without_role.RULE,
        instance_role_app_permissions.RULE,
        ecs_task_definition_without_task_role.RULE,
        ecs_task_without_task_role.RULE,
        ecs_host_imds_exposed.RULE,
        task_role_is_execution_role.RULE,
    )
}
