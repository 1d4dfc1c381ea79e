"""How each kind of inventory item is named to AWS Config and in findings."""

from __future__ import annotations

from rolewarden.inventory.snapshot import Instance, Role, Task, TaskDefinition
from rolewarden.rules.model import Resource

EC2_INSTANCE = "AWS::EC2::Instance"
IAM_ROLE = "AWS::IAM::Role"
ECS_TASK_DEFINITION = "AWS::ECS::TaskDefinition"
ECS_TASK = "AWS::ECS::Task"


def instance_resource(instance: Instance) -> Resource:
    return Resource(EC2_INSTANCE, instance.instance_id, instance.arn, instance.tags)


def role_resource(role: Role) -> Resource:
    return Resource(IAM_ROLE, role.role_id, role.arn, role.tags)


def task_definition_resource(definition: TaskDefinition) -> Resource:
    return Resource(ECS_TASK_DEFINITION, definition.arn, definition.arn, definition.tags)


def task_resource(task: Task) -> Resource:
    return Resource(ECS_TASK, task.arn, task.arn, task.tags)


def short_name(arn: str) -> str:
    """The readable tail of an ARN: role name, `family:revision`, task id."""
    return arn.rsplit("/", 1)[-1]
