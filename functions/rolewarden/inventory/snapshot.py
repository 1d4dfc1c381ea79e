"""The inventory snapshot: what the rules see of one account and region.

Plain data, no boto3: rules are pure functions of a snapshot. IAM is global, so
regional snapshots of one account share the same `IamInventory`.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LIVE_INSTANCE_STATES = ("pending", "running", "stopping", "stopped")
AUTOSCALING_GROUP_TAG = "aws:autoscaling:groupName"
LAUNCH_TEMPLATE_TAG = "aws:ec2launchtemplate:id"
CLOUDFORMATION_STACK_TAG = "aws:cloudformation:stack-name"
SERVICE_LINKED_PATH = "/aws-service-role/"

PolicyDocumentText = str | Mapping[str, Any]

# Reads whose failure leaves ECS membership, or the tasks on a host, unknown.
INSTANCE_READ = "ec2:DescribeInstances"
ECS_MEMBERSHIP_READS = frozenset(
    {INSTANCE_READ, "ecs:ListClusters", "ecs:DescribeContainerInstances"}
)
ECS_WORKLOAD_READS = frozenset(
    {"ecs:ListClusters", "ecs:ListTasks", "ecs:DescribeTasks", "ecs:DescribeServices"}
)


@dataclass(frozen=True)
class MetadataOptions:
    http_tokens: str = "optional"
    hop_limit: int = 1
    endpoint: str = "enabled"

    def as_json(self) -> dict[str, Any]:
        return {
            "http_tokens": self.http_tokens,
            "hop_limit": self.hop_limit,
            "endpoint": self.endpoint,
        }


@dataclass(frozen=True)
class Instance:
    instance_id: str
    arn: str
    state: str
    profile_arn: str | None
    metadata: MetadataOptions
    tags: Mapping[str, str] = field(default_factory=dict)
    # ECS agent settings read from user data; None when not read or not readable.
    ecs_agent_settings: Mapping[str, str] | None = None

    @property
    def root_cause(self) -> dict[str, str]:
        cause = {}
        if AUTOSCALING_GROUP_TAG in self.tags:
            cause["auto_scaling_group"] = self.tags[AUTOSCALING_GROUP_TAG]
        if LAUNCH_TEMPLATE_TAG in self.tags:
            cause["launch_template"] = self.tags[LAUNCH_TEMPLATE_TAG]
        return cause


@dataclass(frozen=True)
class InstanceProfile:
    arn: str
    name: str
    role_arns: tuple[str, ...]
    exists: bool = True


@dataclass(frozen=True)
class InlinePolicy:
    name: str
    document: PolicyDocumentText


@dataclass(frozen=True)
class ManagedPolicy:
    arn: str
    name: str
    default_version_id: str | None
    # None when not fetched: baseline-by-identity policies need no document.
    document: PolicyDocumentText | None


@dataclass(frozen=True)
class Role:
    arn: str
    name: str
    role_id: str
    path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)
    inline_policies: tuple[InlinePolicy, ...] = ()
    attached_policy_arns: tuple[str, ...] = ()
    boundary_arn: str | None = None
    instance_profile_arns: tuple[str, ...] = ()
    # False when an event read a role behind no instance profile: its policies (and
    # boundary) were not read, since no rule judges a role that no instance uses.
    permissions_read: bool = True

    @property
    def service_linked(self) -> bool:
        return self.path.startswith(SERVICE_LINKED_PATH)


@dataclass(frozen=True)
class RevisionFacts:
    """What never changes in a task definition revision: all a task's context needs.

    A revision's tags and status do change (TagResource, DeregisterTaskDefinition): they
    are in `TaskDefinition` only, so a fact kept across events cannot stand in for them.
    """

    arn: str
    family: str
    revision: int
    network_mode: str
    # Launch types ECS validated it for (`compatibilities`): where it can run. Often wider
    # than the `requiresCompatibilities` it was registered with.
    compatibilities: tuple[str, ...]
    task_role_arn: str | None = None
    execution_role_arn: str | None = None

    @property
    def can_run_on_ec2(self) -> bool:
        """Unknown compatibilities mean EC2, the default launch type."""
        return not self.compatibilities or bool({"EC2", "EXTERNAL"} & set(self.compatibilities))


@dataclass(frozen=True, kw_only=True)
class TaskDefinition(RevisionFacts):
    """A revision as read just now: its facts, and its status and tags at that moment."""

    status: str
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def facts(self) -> RevisionFacts:
        """The immutable part alone (never this object: it would carry the tags along)."""
        return RevisionFacts(
            arn=self.arn,
            family=self.family,
            revision=self.revision,
            network_mode=self.network_mode,
            compatibilities=self.compatibilities,
            task_role_arn=self.task_role_arn,
            execution_role_arn=self.execution_role_arn,
        )


@dataclass(frozen=True)
class ContainerInstance:
    arn: str
    cluster_arn: str
    ec2_instance_id: str | None


@dataclass(frozen=True)
class Task:
    arn: str
    cluster_arn: str
    task_definition_arn: str
    last_status: str
    launch_type: str | None
    container_instance_arn: str | None
    override_task_role_arn: str | None = None
    group: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def on_ec2(self) -> bool:
        """Placed on a container instance (EC2 or external), as opposed to Fargate."""
        return self.container_instance_arn is not None or self.launch_type in ("EC2", "EXTERNAL")


@dataclass(frozen=True)
class Service:
    arn: str
    name: str
    cluster_arn: str
    task_definition_arn: str | None
    launch_type: str | None

    @property
    def may_run_on_ec2(self) -> bool:
        """EC2, or no launch type: a capacity provider strategy that is not Fargate-only (or
        the cluster's default) may place its tasks on any container instance of its cluster."""
        return self.launch_type in (None, "EC2")


@dataclass(frozen=True)
class ScanError:
    region: str
    operation: str
    resource: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {
            "region": self.region,
            "operation": self.operation,
            "resource": self.resource,
            "message": self.message,
        }


@dataclass
class IamInventory:
    roles: dict[str, Role] = field(default_factory=dict)  # by ARN
    managed_policies: dict[str, ManagedPolicy] = field(default_factory=dict)  # by ARN
    instance_profiles: dict[str, InstanceProfile] = field(default_factory=dict)  # by ARN
    errors: list[ScanError] = field(default_factory=list)

    def role_by_name(self, name: str) -> Role | None:
        return next((role for role in self.roles.values() if role.name == name), None)


@dataclass
class Snapshot:
    account: str
    region: str
    partition: str
    iam: IamInventory
    instances: dict[str, Instance] = field(default_factory=dict)  # by instance id
    clusters: tuple[str, ...] = ()
    container_instances: dict[str, ContainerInstance] = field(default_factory=dict)  # by ARN
    tasks: dict[str, Task] = field(default_factory=dict)  # by ARN
    # Read just now, with status and tags: what the task definition rules judge.
    task_definitions: dict[str, TaskDefinition] = field(default_factory=dict)  # by ARN
    # Revisions read only as context of tasks and services (perhaps remembered from an
    # earlier event): their facts only. Look revisions up with `revision()`.
    context_revisions: dict[str, RevisionFacts] = field(default_factory=dict)  # by ARN
    services: dict[str, Service] = field(default_factory=dict)  # by ARN
    errors: list[ScanError] = field(default_factory=list)
    # Targeted snapshots hold only what one resource's evaluation needs.
    targeted: bool = False

    @classmethod
    def combine(cls, snapshots: Sequence[Snapshot]) -> Snapshot:
        """Several regions of one account as one snapshot (ARNs and ids are unique).

        For rules about global resources: an IAM role's hosts may be in any region.
        """
        first = snapshots[0]
        if len(snapshots) == 1:
            return first
        combined = cls(
            account=first.account, region=first.region, partition=first.partition, iam=first.iam
        )
        for snapshot in snapshots:
            combined.instances.update(snapshot.instances)
            combined.clusters += snapshot.clusters
            combined.container_instances.update(snapshot.container_instances)
            combined.tasks.update(snapshot.tasks)
            combined.task_definitions.update(snapshot.task_definitions)
            combined.context_revisions.update(snapshot.context_revisions)
            combined.services.update(snapshot.services)
            combined.errors += snapshot.errors
        return combined

    # --- lookups the rules share ---------------------------------------------------

    @property
    def ecs_membership_known(self) -> bool:
        """False when a failed read may hide that an instance is an ECS container instance."""
        return not any(error.operation in ECS_MEMBERSHIP_READS for error in self.errors)

    def unreadable_workloads(self, clusters: set[str]) -> list[str]:
        """What could not be read of the hosts and workloads of these clusters.

        The instances (all of them: a failed read hides which hosts exist), and these
        clusters' tasks or services (or every cluster's, when listing clusters failed).
        """
        unreadable = set()
        for error in self.errors:
            if error.operation == INSTANCE_READ:
                unreadable.add("EC2 instances")
            elif error.operation in ECS_WORKLOAD_READS and (
                error.resource in clusters or error.resource == "account"
            ):
                unreadable.add(error.resource.rsplit("/", 1)[-1])
        return sorted(unreadable)

    def profile_roles(self, profile_arn: str) -> list[Role]:
        profile = self.iam.instance_profiles.get(profile_arn)
        if profile is None:
            return []
        return [self.iam.roles[arn] for arn in profile.role_arns if arn in self.iam.roles]

    def instance_role(self, instance: Instance) -> Role | None:
        if instance.profile_arn is None:
            return None
        roles = self.profile_roles(instance.profile_arn)
        return roles[0] if roles else None

    def instances_using_role(self, role: Role) -> list[Instance]:
        return [
            instance
            for profile in role.instance_profile_arns
            for instance in self._instances_by_profile.get(profile, [])
        ]

    def ecs_host_instance_ids(self) -> set[str]:
        return set(self._clusters_by_instance)

    def host_of(self, task: Task) -> Instance | None:
        if task.container_instance_arn is None:
            return None
        container = self.container_instances.get(task.container_instance_arn)
        if container is None or container.ec2_instance_id is None:
            return None
        return self.instances.get(container.ec2_instance_id)

    def tasks_on_instance(self, instance_id: str) -> list[Task]:
        return self._tasks_by_instance.get(instance_id, [])

    def clusters_of_instance(self, instance_id: str) -> set[str]:
        return self._clusters_by_instance.get(instance_id, set())

    def services_that_may_run_on(self, instance_id: str) -> list[Service]:
        """The services of the instance's clusters that ECS may place on it.

        Not a Fargate or external service, nor one whose task definition only Fargate can
        run; placement constraints are not read, so any other service may land on any host.
        """
        clusters = self.clusters_of_instance(instance_id)
        services = []
        for service in self.services.values():
            if service.cluster_arn not in clusters or not service.may_run_on_ec2:
                continue
            definition = self.revision(service.task_definition_arn)
            if definition is None or definition.can_run_on_ec2:
                services.append(service)
        return sorted(services, key=lambda service: service.arn)

    def workloads_of_instance(self, instance_id: str) -> list[Task | Service]:
        """What runs on a container instance, or may: its tasks, and the services above."""
        return [*self.tasks_on_instance(instance_id), *self.services_that_may_run_on(instance_id)]

    def network_mode_of(self, workload: Task | Service) -> str | None:
        """Its task definition's network mode; None when that definition was not read."""
        definition = self.revision(workload.task_definition_arn)
        return definition.network_mode if definition else None

    # Indexes, built on first use. Whoever changes a snapshot after that calls
    # refresh_indexes() (the builders do, when they finish).

    def refresh_indexes(self) -> None:
        for name in ("_tasks_by_instance", "_instances_by_profile", "_clusters_by_instance"):
            self.__dict__.pop(name, None)

    @functools.cached_property
    def _tasks_by_instance(self) -> dict[str, list[Task]]:
        index: dict[str, list[Task]] = defaultdict(list)
        for task in self.tasks.values():
            container = self.container_instances.get(task.container_instance_arn or "")
            if container is not None and container.ec2_instance_id:
                index[container.ec2_instance_id].append(task)
        return index

    @functools.cached_property
    def _instances_by_profile(self) -> dict[str, list[Instance]]:
        index: dict[str, list[Instance]] = defaultdict(list)
        for instance in self.instances.values():
            if instance.profile_arn:
                index[instance.profile_arn].append(instance)
        return index

    @functools.cached_property
    def _clusters_by_instance(self) -> dict[str, set[str]]:
        index: dict[str, set[str]] = defaultdict(set)
        for container in self.container_instances.values():
            if container.ec2_instance_id:
                index[container.ec2_instance_id].add(container.cluster_arn)
        return index

    def revision(self, arn: str | None) -> RevisionFacts | None:
        """A revision's facts, however it was read (None when it was not read)."""
        if arn is None:
            return None
        return self.task_definitions.get(arn) or self.context_revisions.get(arn)

    def effective_task_role(self, task: Task) -> str | None:
        if task.override_task_role_arn:
            return task.override_task_role_arn
        definition = self.revision(task.task_definition_arn)
        return definition.task_role_arn if definition else None
