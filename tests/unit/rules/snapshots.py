"""Small, readable builders of inventory snapshots for the rule tests (no AWS).

Each `add_*` function puts one item into a snapshot and returns it, so a test reads
as the account it describes: a role, the host using it, the task on that host.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from rolewarden.inventory.snapshot import (
    ContainerInstance,
    IamInventory,
    InlinePolicy,
    Instance,
    InstanceProfile,
    ManagedPolicy,
    MetadataOptions,
    Role,
    Service,
    Snapshot,
    Task,
    TaskDefinition,
)
from rolewarden.rules.context import RuleContext
from rolewarden.rules.engine import RuleRun, run_rules
from rolewarden.rules.model import Compliance, Evaluation, Finding, Severity
from rolewarden.settings import Settings

ACCOUNT = "123456789012"
REGION = "eu-west-1"
TODAY = date(2025, 6, 1)
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod"

ECS_AGENT_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def allow(*actions: str, resource: str = "*") -> dict[str, Any]:
    """A one-statement Allow policy document."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    }


S3_READ = allow("s3:GetObject", resource="arn:aws:s3:::orders/*")
PASS_ROLE = allow("iam:PassRole")
AGENT_ONLY = allow("ecs:Poll", "ecs:RegisterContainerInstance")
MIXED = allow("ecs:Poll", "s3:GetObject")


def empty_snapshot() -> Snapshot:
    return Snapshot(account=ACCOUNT, region=REGION, partition="aws", iam=IamInventory())


def context(today: date = TODAY, **settings: Any) -> RuleContext:
    return Settings(**settings).rule_context(today=today)


def remediating(rule_id: str, **settings: Any) -> RuleContext:
    return context(rule_modes={rule_id: "remediate"}, **settings)


# --- IAM ---------------------------------------------------------------------------


def add_managed_policy(
    snapshot: Snapshot, name: str, document: Mapping[str, Any] | str | None
) -> ManagedPolicy:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    policy = ManagedPolicy(arn=arn, name=name, default_version_id="v1", document=document)
    snapshot.iam.managed_policies[arn] = policy
    return policy


def add_role(
    snapshot: Snapshot,
    name: str,
    *,
    inline: Mapping[str, Mapping[str, Any] | str] | None = None,
    attached: tuple[str, ...] = (),
    tags: Mapping[str, str] | None = None,
    path: str = "/",
    with_profile: bool = True,
) -> Role:
    """A role, and (by default) an instance profile named `<name>-profile` holding it."""
    arn = f"arn:aws:iam::{ACCOUNT}:role{path}{name}"
    profile_arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/{name}-profile"
    role = Role(
        arn=arn,
        name=name,
        role_id=f"AROA{name.upper().replace('-', '')}",
        path=path,
        tags=dict(tags or {}),
        inline_policies=tuple(
            InlinePolicy(name=key, document=doc) for key, doc in (inline or {}).items()
        ),
        attached_policy_arns=attached,
        instance_profile_arns=(profile_arn,) if with_profile else (),
    )
    snapshot.iam.roles[arn] = role
    if with_profile:
        snapshot.iam.instance_profiles[profile_arn] = InstanceProfile(
            arn=profile_arn, name=f"{name}-profile", role_arns=(arn,)
        )
    return role


def profile_of(role: Role) -> str:
    return role.instance_profile_arns[0]


def add_profile(
    snapshot: Snapshot, name: str, role_arns: tuple[str, ...] = (), *, exists: bool = True
) -> InstanceProfile:
    arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/{name}"
    profile = InstanceProfile(arn=arn, name=name, role_arns=role_arns, exists=exists)
    snapshot.iam.instance_profiles[arn] = profile
    return profile


# --- EC2 and ECS -------------------------------------------------------------------


def add_instance(
    snapshot: Snapshot,
    instance_id: str = "i-0plain",
    *,
    profile_arn: str | None = None,
    state: str = "running",
    http_tokens: str = "required",
    hop_limit: int = 1,
    endpoint: str = "enabled",
    tags: Mapping[str, str] | None = None,
    ecs_agent_settings: Mapping[str, str] | None = None,
) -> Instance:
    instance = Instance(
        instance_id=instance_id,
        arn=f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}",
        state=state,
        profile_arn=profile_arn,
        metadata=MetadataOptions(http_tokens=http_tokens, hop_limit=hop_limit, endpoint=endpoint),
        tags=dict(tags or {}),
        ecs_agent_settings=ecs_agent_settings,
    )
    snapshot.instances[instance_id] = instance
    return instance


def register_container_instance(snapshot: Snapshot, instance: Instance) -> ContainerInstance:
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/prod/{instance.instance_id}"
    container = ContainerInstance(
        arn=arn, cluster_arn=CLUSTER_ARN, ec2_instance_id=instance.instance_id
    )
    snapshot.container_instances[arn] = container
    if CLUSTER_ARN not in snapshot.clusters:
        snapshot.clusters = (*snapshot.clusters, CLUSTER_ARN)
    return container


def add_ecs_host(
    snapshot: Snapshot,
    role: Role,
    instance_id: str = "i-0ecshost",
    **instance_options: Any,
) -> tuple[Instance, ContainerInstance]:
    """An EC2 instance running with `role`'s profile, registered in cluster `prod`."""
    instance = add_instance(snapshot, instance_id, profile_arn=profile_of(role), **instance_options)
    return instance, register_container_instance(snapshot, instance)


def add_task_definition(
    snapshot: Snapshot,
    family: str = "web",
    revision: int = 1,
    *,
    network_mode: str = "bridge",
    compatibilities: tuple[str, ...] = ("EC2",),
    task_role_arn: str | None = None,
    execution_role_arn: str | None = None,
    status: str = "ACTIVE",
    tags: Mapping[str, str] | None = None,
) -> TaskDefinition:
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}"
    definition = TaskDefinition(
        arn=arn,
        family=family,
        revision=revision,
        status=status,
        network_mode=network_mode,
        compatibilities=compatibilities,
        task_role_arn=task_role_arn,
        execution_role_arn=execution_role_arn,
        tags=dict(tags or {}),
    )
    snapshot.task_definitions[arn] = definition
    return definition


def add_task(
    snapshot: Snapshot,
    definition: TaskDefinition,
    container: ContainerInstance | None,
    task_id: str = "0a1b2c3d",
    *,
    override_task_role_arn: str | None = None,
    tags: Mapping[str, str] | None = None,
    group: str | None = None,
) -> Task:
    """A RUNNING task: on `container` (EC2), or Fargate when `container` is None."""
    task = Task(
        arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/{task_id}",
        cluster_arn=CLUSTER_ARN,
        task_definition_arn=definition.arn,
        last_status="RUNNING",
        launch_type="EC2" if container else "FARGATE",
        container_instance_arn=container.arn if container else None,
        override_task_role_arn=override_task_role_arn,
        group=group,
        tags=dict(tags or {}),
    )
    snapshot.tasks[task.arn] = task
    return task


def add_service(
    snapshot: Snapshot, name: str, definition: TaskDefinition, launch_type: str | None = "EC2"
) -> Service:
    """A service of cluster `prod`; `launch_type` None: a capacity provider strategy."""
    service = Service(
        arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/{name}",
        name=name,
        cluster_arn=CLUSTER_ARN,
        task_definition_arn=definition.arn,
        launch_type=launch_type,
    )
    snapshot.services[service.arn] = service
    return service


# --- running rules -----------------------------------------------------------------


def evaluate(rule_id: str, snapshot: Snapshot, ctx: RuleContext | None = None) -> RuleRun:
    return run_rules(snapshot, ctx or context(), [rule_id])


def only_evaluation(run: RuleRun, arn: str) -> Evaluation:
    matching = [e for e in run.evaluations if e.resource.arn == arn]
    assert len(matching) == 1, matching
    return matching[0]


def only_finding(run: RuleRun) -> Finding:
    assert len(run.findings) == 1, run.findings
    return run.findings[0]


# --- asserting findings ------------------------------------------------------------


def only_non_compliant_finding(run: RuleRun, arn: str) -> Finding:
    """The one finding of the run, about the resource `arn` evaluated non-compliant."""
    assert only_evaluation(run, arn).compliance is Compliance.NON_COMPLIANT
    return only_finding(run)


def assert_severity_and_resource(
    finding: Finding, severity: Severity, resource_type: str, resource_id: str
) -> None:
    assert finding.severity is severity
    assert finding.resource_type == resource_type
    assert finding.resource_id == resource_id


def assert_proposes(
    finding: Finding,
    action: str,
    params: Mapping[str, Any],
    *,
    automatic: bool,
    blocked_by: tuple[str, ...],
) -> None:
    """The finding's remediation: `action` with exactly `params`, whether RoleWarden takes it
    on its own, and every reason it waits for a person."""
    assert finding.remediation is not None
    assert finding.remediation.action == action
    assert dict(finding.remediation.params) == params
    assert finding.remediation.automatic is automatic
    assert finding.remediation.blocked_by == blocked_by


def assert_proposes_new_revision_with_task_role(
    finding: Finding, definition: TaskDefinition, reason: str
) -> None:
    """The proposal of the task role rules: a new revision of `definition` with a task role,
    which a person chooses (none until then)."""
    assert_proposes(
        finding,
        "register-task-definition-with-task-role",
        {"task_definition_arn": definition.arn, "task_role_arn": None},
        automatic=False,
        blocked_by=(reason,),
    )
