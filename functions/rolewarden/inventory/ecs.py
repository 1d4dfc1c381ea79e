"""ECS readers: clusters, container instances, running tasks, services, task definitions.

Describe calls are batched as far as each API allows (100 container instances or
tasks, 10 services). Task definitions have no batch API: one call per revision,
with its tags in the same call. Given a `ContextCache` (the event path), the reader
remembers the revisions it reads only as context, and where hosts are registered.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import InventoryError, call
from rolewarden.aws.tags import tag_dict
from rolewarden.inventory.context_cache import ContextCache
from rolewarden.inventory.snapshot import (
    ContainerInstance,
    RevisionFacts,
    ScanError,
    Service,
    Task,
    TaskDefinition,
)

DESCRIBE_BATCH = 100
DESCRIBE_SERVICES_BATCH = 10
# The largest page each List call allows (ListServices would give 10 by default).
LIST_PAGE_SIZE = 100
FARGATE_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})
# Container instance states a remembered registration is kept and trusted in; in any
# other (REGISTERING, DEREGISTERING, INACTIVE...) every cluster is listed afresh.
REGISTERED = frozenset({"ACTIVE", "DRAINING"})
T = TypeVar("T")
# The ECS listings read page by page.
EcsListing = Literal[
    "list_clusters",
    "list_container_instances",
    "list_services",
    "list_task_definitions",
    "list_tasks",
]


@dataclass
class EcsInventory:
    clusters: list[str] = field(default_factory=list)
    container_instances: dict[str, ContainerInstance] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    task_definitions: dict[str, TaskDefinition] = field(default_factory=dict)
    context_revisions: dict[str, RevisionFacts] = field(default_factory=dict)
    errors: list[ScanError] = field(default_factory=list)


class EcsReader:
    def __init__(
        self,
        clients: AwsClients,
        region: str,
        account: str = "",
        cache: ContextCache | None = None,
    ) -> None:
        """`cache`: what the container remembers (see `context_cache`), for `account`."""
        self.region = region
        self.account = account
        self.cache = cache
        self.ecs = clients.client("ecs", region)
        self.inventory = EcsInventory()

    def read_all(self) -> EcsInventory:
        for cluster in self.list_clusters():
            self.inventory.clusters.append(cluster)
            self.read_container_instances(cluster)
            self.read_running_tasks(cluster)
            self.read_services(cluster)
        self.read_active_task_definitions()
        self.read_task_definitions(
            task.task_definition_arn for task in self.inventory.tasks.values()
        )
        self.read_task_definitions(
            service.task_definition_arn
            for service in self.inventory.services.values()
            if service.task_definition_arn
        )
        return self.inventory

    # --- per cluster ----------------------------------------------------------------

    def read_container_instances(
        self,
        cluster: str,
        instance_ids: Collection[str] | None = None,
        arns: Collection[str] | None = None,
    ) -> None:
        """A cluster's container instances: all, those on these EC2 instances, or these ARNs."""

        def read() -> None:
            wanted = (
                sorted(set(arns))
                if arns is not None
                else self._list_container_instances(cluster, instance_ids)
            )
            for batch in _batches(wanted, DESCRIBE_BATCH):
                response = self.ecs.describe_container_instances(
                    cluster=cluster, containerInstances=batch
                )
                for raw in response.get("containerInstances", []):
                    if instance_ids is not None and raw.get("ec2InstanceId") not in instance_ids:
                        continue
                    container = _container_instance(raw, cluster)
                    self.inventory.container_instances[container.arn] = container
                    if self.cache is not None and raw.get("status") in REGISTERED:
                        self.cache.remember_registration(self.account, self.region, container)

        self._guard("ecs:DescribeContainerInstances", cluster, read, None)

    def confirm_registrations(self, instance_ids: Collection[str]) -> bool:
        """True when every one of these EC2 instances is, as remembered, registered in its
        cluster with its agent connected; those container instances are then read.

        An agent is connected to one cluster, so its host is in no other one. Anything
        else (never seen, deregistered, agent disconnected, a failed call) is False, and
        the caller lists every cluster; what ECS did not confirm is forgotten.
        """
        if self.cache is None or not instance_ids:
            return False
        remembered = [self.cache.registration(self.account, self.region, i) for i in instance_ids]
        hints = [container for container in remembered if container is not None]
        if not hints or len(hints) < len(remembered):
            return False
        try:
            confirmed = call(
                InventoryError, "ecs:DescribeContainerInstances", self._connected, hints
            )
        except InventoryError:
            return False  # listing the clusters next reports the failure, if it lasts
        stale = [hint for hint in hints if confirmed.get(hint.arn) != hint]
        for hint in stale:
            self.cache.forget_registration(self.account, self.region, str(hint.ec2_instance_id))
        if stale:
            return False
        self.inventory.container_instances.update(confirmed)
        return True

    def _connected(self, containers: list[ContainerInstance]) -> dict[str, ContainerInstance]:
        """Those of these container instances still registered with their agent connected."""
        by_cluster: dict[str, list[str]] = {}
        for container in containers:
            by_cluster.setdefault(container.cluster_arn, []).append(container.arn)
        connected: dict[str, ContainerInstance] = {}
        for cluster, arns in sorted(by_cluster.items()):
            for batch in _batches(sorted(arns), DESCRIBE_BATCH):
                response = self.ecs.describe_container_instances(
                    cluster=cluster, containerInstances=batch
                )
                for raw in response.get("containerInstances", []):
                    if raw.get("status") in REGISTERED and raw.get("agentConnected"):
                        container = _container_instance(raw, cluster)
                        connected[container.arn] = container
        return connected

    def _list_container_instances(
        self, cluster: str, instance_ids: Collection[str] | None
    ) -> list[str]:
        arguments: dict[str, Any] = {"cluster": cluster}
        if instance_ids is not None:
            if not instance_ids:
                return []
            quoted = ", ".join(f"'{instance_id}'" for instance_id in sorted(set(instance_ids)))
            arguments["filter"] = f"ec2InstanceId in [{quoted}]"  # cluster query language
        return self._paginate("list_container_instances", "containerInstanceArns", **arguments)

    def read_running_tasks(self, cluster: str, task_arns: Iterable[str] | None = None) -> None:
        def read() -> None:
            if task_arns is None:
                arns = self._paginate(
                    "list_tasks", "taskArns", cluster=cluster, desiredStatus="RUNNING"
                )
            else:
                arns = sorted(set(task_arns))
            for batch in _batches(arns, DESCRIBE_BATCH):
                response = self.ecs.describe_tasks(cluster=cluster, tasks=batch, include=["TAGS"])
                for raw in response.get("tasks", []):
                    if raw.get("lastStatus") == "RUNNING":
                        task = _task(raw, cluster)
                        self.inventory.tasks[task.arn] = task

        self._guard("ecs:DescribeTasks", cluster, read, None)

    def read_running_tasks_on(self, cluster: str, container_instance_arns: Iterable[str]) -> None:
        """The running tasks of these container instances (one listing each)."""

        def listed() -> list[str]:
            return [
                arn
                for container in sorted(set(container_instance_arns))
                for arn in self._paginate(
                    "list_tasks",
                    "taskArns",
                    cluster=cluster,
                    containerInstance=container,
                    desiredStatus="RUNNING",
                )
            ]

        arns = self._guard("ecs:ListTasks", cluster, listed, None)
        if arns is not None:
            self.read_running_tasks(cluster, arns)

    def read_services(self, cluster: str) -> None:
        def read() -> None:
            arns = self._paginate("list_services", "serviceArns", cluster=cluster)
            for batch in _batches(arns, DESCRIBE_SERVICES_BATCH):
                response = self.ecs.describe_services(cluster=cluster, services=batch)
                for raw in response.get("services", []):
                    if raw.get("status") != "ACTIVE":
                        continue
                    service = Service(
                        arn=raw["serviceArn"],
                        name=raw["serviceName"],
                        cluster_arn=cluster,
                        task_definition_arn=raw.get("taskDefinition"),
                        launch_type=service_launch_type(raw),
                    )
                    self.inventory.services[service.arn] = service

        self._guard("ecs:DescribeServices", cluster, read, None)

    # --- task definitions -----------------------------------------------------------

    def read_active_task_definitions(self) -> None:
        none: list[str] = []
        arns = self._guard(
            "ecs:ListTaskDefinitions",
            "account",
            lambda: self._paginate("list_task_definitions", "taskDefinitionArns", status="ACTIVE"),
            none,
        )
        self.read_task_definitions(arns)

    def read_task_definitions(self, arns: Iterable[str]) -> None:
        """Revisions read afresh, with their status and tags: what the rules judge."""
        for arn in sorted(set(arns) - self.inventory.task_definitions.keys()):
            self._guard(
                "ecs:DescribeTaskDefinition",
                arn,
                functools.partial(self._describe_definition, arn),
                None,
            )

    def read_context_revisions(self, arns: Iterable[str]) -> None:
        """The facts of revisions that tasks and services run (their context, never judged
        themselves): remembered ones from the cache, the others read and remembered."""
        inventory = self.inventory
        known = inventory.task_definitions.keys() | inventory.context_revisions.keys()
        for arn in sorted(set(arns) - known):
            remembered = self.cache.revision(self.account, arn) if self.cache else None
            if remembered is not None:
                inventory.context_revisions[arn] = remembered
                continue
            self._guard(
                "ecs:DescribeTaskDefinition",
                arn,
                functools.partial(self._describe_context_revision, arn),
                None,
            )

    def read_task_definition_named(self, name: str) -> str | None:
        """A revision as ECS takes its name: `family` (its latest ACTIVE revision),
        `family:revision` or an ARN. Its ARN; None when the read failed (a scan error)."""
        read = functools.partial(self._describe_definition, name)
        arn: str | None = self._guard("ecs:DescribeTaskDefinition", name, read, None)
        return arn

    def _describe_definition(self, arn: str) -> str:
        """`arn`, or any name ECS takes; the ARN of the revision read."""
        response = self.ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        definition = _task_definition(response["taskDefinition"], response.get("tags"))
        self.inventory.task_definitions[definition.arn] = definition
        return definition.arn

    def _describe_context_revision(self, arn: str) -> None:
        response = self.ecs.describe_task_definition(taskDefinition=arn)
        facts = _task_definition(response["taskDefinition"], None).facts
        self.inventory.context_revisions[arn] = facts
        if self.cache is not None:
            self.cache.remember_revision(self.account, facts)

    # --- plumbing -------------------------------------------------------------------

    def list_clusters(self) -> list[str]:
        """Every cluster's ARN; a failure is a scan error and an empty list."""
        clusters: list[str] = self._guard(
            "ecs:ListClusters",
            "account",
            lambda: self._paginate("list_clusters", "clusterArns"),
            [],
        )
        return clusters

    def _paginate(self, operation: EcsListing, key: str, **arguments: Any) -> list[str]:
        paginator = self.ecs.get_paginator(operation)
        pages: Iterable[Mapping[str, Any]] = paginator.paginate(
            **arguments, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
        )
        return [item for page in pages for item in page.get(key, [])]

    def _guard(self, operation: str, resource: str, read: Callable[[], T], default: T) -> T:
        """Run one read; a failure becomes a scan error, and the scan goes on."""
        try:
            return call(InventoryError, operation, read)
        except InventoryError as failure:
            self.inventory.errors.append(ScanError(self.region, operation, resource, str(failure)))
            return default


def _container_instance(raw: Mapping[str, Any], cluster: str) -> ContainerInstance:
    return ContainerInstance(
        arn=raw["containerInstanceArn"],
        cluster_arn=cluster,
        ec2_instance_id=raw.get("ec2InstanceId"),
    )


def _task_definition(
    raw: Mapping[str, Any], tags: Iterable[Mapping[str, Any]] | None
) -> TaskDefinition:
    return TaskDefinition(
        arn=raw["taskDefinitionArn"],
        family=raw["family"],
        revision=int(raw.get("revision", 0)),
        status=raw.get("status", "ACTIVE"),
        network_mode=raw.get("networkMode") or "bridge",
        compatibilities=tuple(
            raw.get("compatibilities") or raw.get("requiresCompatibilities") or ()
        ),
        task_role_arn=raw.get("taskRoleArn") or None,
        execution_role_arn=raw.get("executionRoleArn") or None,
        tags=tag_dict(tags),
    )


def _task(raw: Mapping[str, Any], cluster: str) -> Task:
    overrides = raw.get("overrides") or {}
    return Task(
        arn=raw["taskArn"],
        cluster_arn=cluster,
        task_definition_arn=raw["taskDefinitionArn"],
        last_status=raw.get("lastStatus", ""),
        launch_type=raw.get("launchType"),
        container_instance_arn=raw.get("containerInstanceArn"),
        override_task_role_arn=overrides.get("taskRoleArn") or None,
        group=raw.get("group"),
        tags=tag_dict(raw.get("tags")),
    )


def service_launch_type(service: Mapping[str, Any]) -> str | None:
    """A service on Fargate capacity providers only is a Fargate service."""
    providers = {
        item.get("capacityProvider") for item in service.get("capacityProviderStrategy") or []
    }
    if providers and providers <= FARGATE_PROVIDERS:
        return "FARGATE"
    launch_type: str | None = service.get("launchType")
    return launch_type


def _batches(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
