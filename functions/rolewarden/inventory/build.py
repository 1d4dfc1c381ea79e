"""Build snapshots: the whole account+region (sweep, CLI), or one resource (events).

Failures of one read become scan errors in the snapshot; a resource that could
not be read is absent, so no rule can call it compliant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from enum import Enum

from rolewarden.aws.arn import Arn
from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import InventoryError
from rolewarden.inventory import ec2, iam
from rolewarden.inventory.context_cache import ContextCache
from rolewarden.inventory.ecs import EcsInventory, EcsReader
from rolewarden.inventory.snapshot import IamInventory, Instance, ScanError, Snapshot

AWSVPC = "awsvpc"


def read_account_iam(clients: AwsClients, skip_document: iam.SkipDocument) -> IamInventory:
    return iam.read_iam(clients, skip_document)


def read_account(
    clients: AwsClients,
    account: str,
    partition: str,
    regions: Sequence[str],
    skip_document: iam.SkipDocument,
) -> tuple[IamInventory, list[Snapshot]]:
    """IAM, read once (it is global), and one snapshot per region sharing it."""
    iam_inventory = read_account_iam(clients, skip_document)
    snapshots = [
        build_snapshot(clients, region, account, partition, iam_inventory, skip_document)
        for region in regions
    ]
    return iam_inventory, snapshots


def build_snapshot(
    clients: AwsClients,
    region: str,
    account: str,
    partition: str,
    iam_inventory: IamInventory,
    skip_document: iam.SkipDocument,
) -> Snapshot:
    """Everything the rules need for one region of an account."""
    snapshot = Snapshot(account=account, region=region, partition=partition, iam=iam_inventory)
    try:
        snapshot.instances = ec2.read_instances(clients, region, account, partition)
    except InventoryError as error:
        snapshot.errors.append(ScanError(region, error.operation, "account", str(error)))
    _merge_ecs(snapshot, EcsReader(clients, region).read_all())
    _complete_profiles(clients, snapshot, skip_document, whole_account=True)
    _read_agent_settings_where_needed(clients, snapshot)
    snapshot.refresh_indexes()
    return snapshot


class Workloads(Enum):
    """Which ECS workloads a targeted read of instances reads with them."""

    NONE = "none"
    # An instance's rules: its outage guard, and what may reach its IMDS.
    ON_THE_HOSTS = "the tasks running on these instances and their clusters' services"
    OF_THEIR_CLUSTERS = "every running task and service of their clusters"  # a role's


class TargetedReader:
    """Loads only what evaluating one resource needs (the event-driven path).

    The resources named are read afresh; their context (the revisions their tasks and
    services run, where their hosts are registered) may come from `cache`.
    """

    def __init__(
        self,
        clients: AwsClients,
        region: str,
        account: str,
        partition: str,
        skip_document: iam.SkipDocument,
        iam_inventory: IamInventory | None = None,
        cache: ContextCache | None = None,
    ) -> None:
        """`iam_inventory`: IAM read so far, shared by the readers of several regions;
        `cache`: what the container remembers (default: nothing, a cache of its own)."""
        self.clients = clients
        self.skip_document = skip_document
        self.snapshot = Snapshot(
            account=account,
            region=region,
            partition=partition,
            iam=iam_inventory if iam_inventory is not None else IamInventory(),
            targeted=True,
        )
        self._ecs = EcsReader(clients, region, account, cache or ContextCache())
        self._cluster_arns: list[str] | None = None
        # Instances whose own rules run (an instance's or a profile's trigger), not a role's
        # hosts: ecs-host-imds-exposed judges them.
        self._judged_hosts: set[str] = set()

    def instances(self, instance_ids: Iterable[str]) -> Snapshot:
        """Instances with their profile, role, ECS membership, the tasks they host and
        their clusters' services."""
        ids = set(instance_ids)
        self._judged_hosts |= ids
        self._read_instances(ids, Workloads.ON_THE_HOSTS)
        return self._finish()

    def role(self, role_name: str) -> Snapshot:
        """A role, the instances that use it, and their ECS context."""
        role = self.snapshot.iam.role_by_name(role_name)
        if role is None:
            iam.read_roles(
                self.clients,
                self.snapshot.iam,
                [role_name],
                self.skip_document,
                skip_policies_if_unused=True,
            )
            role = self.snapshot.iam.role_by_name(role_name)
        if role is not None:
            ids = self._read_instances_with_profiles(list(role.instance_profile_arns))
            self._read_workloads(ids, Workloads.OF_THEIR_CLUSTERS)
        return self._finish()

    def instance_profile(self, profile_name: str) -> Snapshot:
        """An instance profile's role and the instances that use the profile."""
        arn = iam.read_instance_profile_by_name(self.clients, self.snapshot.iam, profile_name)
        if arn is not None:
            ids = self._read_instances_with_profiles([arn])
            self._judged_hosts.update(ids)
            self._read_workloads(ids, Workloads.OF_THEIR_CLUSTERS)
        return self._finish()

    def task_definition(self, arn: str) -> Snapshot:
        """A task definition and the services that run it (named in its finding)."""
        self._ecs.read_task_definitions([arn])
        for cluster in self._clusters():
            self._ecs.read_services(cluster)
        return self._finish()

    def task_definition_named(self, name: str) -> str | None:
        """A task definition as a call names it (`family` is its latest ACTIVE revision),
        and the services that run it: its ARN, None when it could not be read."""
        arn = self._ecs.read_task_definition_named(name)
        if arn is not None:
            self.task_definition(arn)
        self._finish()  # a failed read is a scan error of the snapshot
        return arn

    def task(self, cluster: str, task_arn: str) -> Snapshot:
        """A task, its task definition, and its host (instance, profile, role)."""
        self._ecs.read_running_tasks(cluster, [task_arn])
        inventory = self._ecs.inventory
        container_arns = {
            task.container_instance_arn
            for task in inventory.tasks.values()
            if task.container_instance_arn
        }
        if container_arns:
            self._ecs.read_container_instances(cluster, arns=container_arns)
        ids = [
            container.ec2_instance_id
            for arn, container in inventory.container_instances.items()
            if arn in container_arns and container.ec2_instance_id
        ]
        self._read_instances(ids, Workloads.NONE)
        # The task's own revision, read afresh: its finding is about this task.
        self._ecs.read_task_definitions(
            task.task_definition_arn for task in inventory.tasks.values()
        )
        return self._finish()

    def _read_instances(self, instance_ids: Iterable[str], workloads: Workloads) -> None:
        ids = sorted(set(instance_ids))
        if not ids:
            return
        self._read_hosts(",".join(ids), instance_ids=ids)
        self._read_workloads(ids, workloads)

    def _read_instances_with_profiles(self, profile_arns: list[str]) -> list[str]:
        """The live instances using these profiles (read whole: one call, not two)."""
        if not profile_arns:
            return []
        arns = sorted(set(profile_arns))
        return sorted(self._read_hosts(",".join(arns), profile_arns=arns))

    def _read_hosts(
        self,
        resource: str,
        instance_ids: list[str] | None = None,
        profile_arns: list[str] | None = None,
    ) -> dict[str, Instance]:
        snapshot = self.snapshot
        known: dict[str, Instance] = {}
        if instance_ids is not None:  # an instance, then its role: each read once
            known = {i: snapshot.instances[i] for i in instance_ids if i in snapshot.instances}
            instance_ids = [i for i in instance_ids if i not in known]
            if not instance_ids:
                return known
        try:
            found = ec2.read_instances(
                self.clients,
                snapshot.region,
                snapshot.account,
                snapshot.partition,
                instance_ids,
                profile_arns=profile_arns,
            )
        except InventoryError as error:
            snapshot.errors.append(
                ScanError(snapshot.region, error.operation, resource, str(error))
            )
            return known
        snapshot.instances.update(found)
        return {**known, **found}

    def _read_workloads(self, ids: list[str], workloads: Workloads) -> None:
        """Where these instances are registered, and the workloads `workloads` names."""
        if not ids or workloads is Workloads.NONE:
            return
        if not self._ecs.confirm_registrations(ids):
            for cluster in self._clusters():
                self._ecs.read_container_instances(cluster, ids)
        inventory = self._ecs.inventory
        hosts: dict[str, list[str]] = {}
        for container in inventory.container_instances.values():
            hosts.setdefault(container.cluster_arn, []).append(container.arn)
        for cluster in sorted(hosts):
            inventory.clusters.append(cluster)
            if workloads is Workloads.ON_THE_HOSTS:
                self._ecs.read_running_tasks_on(cluster, hosts[cluster])
            else:
                self._ecs.read_running_tasks(cluster)
            self._ecs.read_services(cluster)
        # Context only (the outage guard, IMDS reachability): never judged from here.
        self._ecs.read_context_revisions(
            task.task_definition_arn for task in inventory.tasks.values()
        )
        self._ecs.read_context_revisions(
            service.task_definition_arn
            for service in inventory.services.values()
            if service.task_definition_arn
        )

    def _clusters(self) -> list[str]:
        """The region's clusters, listed once however many targets need them."""
        if self._cluster_arns is None:
            self._cluster_arns = self._ecs.list_clusters()
        return self._cluster_arns

    def _finish(self) -> Snapshot:
        _merge_ecs(self.snapshot, self._ecs.inventory)
        _complete_profiles(self.clients, self.snapshot, self.skip_document)
        _read_agent_settings_where_needed(self.clients, self.snapshot, self._judged_hosts)
        self.snapshot.refresh_indexes()
        return self.snapshot


def _merge_ecs(snapshot: Snapshot, inventory: EcsInventory) -> None:
    snapshot.clusters = tuple(dict.fromkeys([*snapshot.clusters, *inventory.clusters]))
    snapshot.container_instances.update(inventory.container_instances)
    snapshot.tasks.update(inventory.tasks)
    snapshot.services.update(inventory.services)
    snapshot.task_definitions.update(inventory.task_definitions)
    snapshot.context_revisions.update(inventory.context_revisions)
    snapshot.errors.extend(error for error in inventory.errors if error not in snapshot.errors)


def _complete_profiles(
    clients: AwsClients,
    snapshot: Snapshot,
    skip_document: iam.SkipDocument,
    whole_account: bool = False,
) -> None:
    """Read the profiles (and their roles) that instances use but the IAM read did not show.

    GetAccountAuthorizationDetails shows profiles through their roles only. Reading the
    whole account, one listing replaces a GetInstanceProfile per profile without a role;
    a profile it does not list (deleted, or too new to be listed yet) is asked for by name.
    """
    referenced = {i.profile_arn for i in snapshot.instances.values() if i.profile_arn}
    missing = referenced - snapshot.iam.instance_profiles.keys()
    if whole_account and missing:
        iam.read_all_instance_profiles(clients, snapshot.iam)
        missing -= snapshot.iam.instance_profiles.keys()
    iam.read_instance_profiles(clients, snapshot.iam, sorted(missing))
    role_arns = {
        arn
        for profile_arn in referenced
        if profile_arn in snapshot.iam.instance_profiles
        for arn in snapshot.iam.instance_profiles[profile_arn].role_arns
    }
    # A role read without its policies (it listed no profile then) is read again, as one
    # never read: an instance uses it.
    for arn in role_arns & snapshot.iam.roles.keys():
        if not snapshot.iam.roles[arn].permissions_read:
            del snapshot.iam.roles[arn]
    unread = sorted(Arn.parse(arn).name for arn in role_arns - snapshot.iam.roles.keys())
    iam.read_roles(clients, snapshot.iam, unread, skip_document)


def _read_agent_settings_where_needed(
    clients: AwsClients, snapshot: Snapshot, judged_hosts: set[str] | None = None
) -> None:
    """User data decides IMDS reachability for awsvpc tasks only. It is read for the hosts
    that awsvpc tasks run or may run on (see `Snapshot.workloads_of_instance`), among those
    judged (`judged_hosts`; None: all), and for the hosts of awsvpc tasks without a task
    role (their own rule asks); never where the metadata endpoint is off."""
    snapshot.refresh_indexes()
    judged = snapshot.ecs_host_instance_ids() & snapshot.instances.keys()
    if judged_hosts is not None:
        judged &= judged_hosts
    hosts = _hosts_of_awsvpc_tasks_without_role(snapshot)
    hosts |= {instance_id for instance_id in judged if _awsvpc_may_run_on(snapshot, instance_id)}
    for instance_id in sorted(hosts):
        instance = snapshot.instances[instance_id]
        if instance.ecs_agent_settings is not None or instance.metadata.endpoint == "disabled":
            continue  # read by an earlier step of the same targeted read, or nothing to reach
        try:
            settings = ec2.read_ecs_agent_settings(clients, snapshot.region, instance_id)
        except InventoryError as error:
            snapshot.errors.append(
                ScanError(snapshot.region, error.operation, instance_id, str(error))
            )
            continue
        snapshot.instances[instance_id] = dataclasses.replace(
            snapshot.instances[instance_id], ecs_agent_settings=settings
        )


def _awsvpc_may_run_on(snapshot: Snapshot, instance_id: str) -> bool:
    return any(
        snapshot.network_mode_of(workload) == AWSVPC
        for workload in snapshot.workloads_of_instance(instance_id)
    )


def _hosts_of_awsvpc_tasks_without_role(snapshot: Snapshot) -> set[str]:
    hosts = set()
    for task in snapshot.tasks.values():
        host = snapshot.host_of(task)
        if (
            host is not None
            and snapshot.network_mode_of(task) == AWSVPC
            and not snapshot.effective_task_role(task)
        ):
            hosts.add(host.instance_id)
    return hosts
