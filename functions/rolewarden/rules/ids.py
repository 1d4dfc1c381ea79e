"""The rule ids of design.md, in the order reports list them."""

EC2_INSTANCE_WITHOUT_PROFILE = "ec2-instance-without-profile"
INSTANCE_PROFILE_WITHOUT_ROLE = "instance-profile-without-role"
INSTANCE_ROLE_APP_PERMISSIONS = "instance-role-app-permissions"
ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE = "ecs-task-definition-without-task-role"
ECS_TASK_WITHOUT_TASK_ROLE = "ecs-task-without-task-role"
ECS_HOST_IMDS_EXPOSED = "ecs-host-imds-exposed"
TASK_ROLE_IS_EXECUTION_ROLE = "task-role-is-execution-role"

RULE_IDS = (
    EC2_INSTANCE_WITHOUT_PROFILE,
    INSTANCE_PROFILE_WITHOUT_ROLE,
    INSTANCE_ROLE_APP_PERMISSIONS,
    ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE,
    ECS_TASK_WITHOUT_TASK_ROLE,
    ECS_HOST_IMDS_EXPOSED,
    TASK_ROLE_IS_EXECUTION_ROLE,
)
