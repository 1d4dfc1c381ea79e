"""Synthetic accounts for the benchmarks: three sizes, reproducible from a seed.

`seed_account` builds an account through the public APIs (a moto server for `make bench`,
`mock_aws` in the tests) and returns what it seeded: the violations it planted (the
findings a sweep must report, exactly) and the counts that decide the minimum number of
AWS calls a sweep needs (`benchmarks.aws_pages`).

The account mixes what real accounts have: ECS clusters whose host roles range from
clean to carrying application permissions (inline, customer managed, AWS managed, behind
a boundary, exempt), plain EC2 servers with application roles (out of scope under the
default `ecs-hosts` scope), task roles with inline and managed policies, task definition
families with and without task roles, running tasks, services, instances without a
profile or with a profile without a role, stopped and terminated instances.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

import boto3

from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    ECS_TASK_EXECUTION_POLICY_ARN,
    ECS_TASKS_SERVICE,
    EXEMPT_REASON_TAG,
    EXEMPT_UNTIL_TAG,
    S3_READ_ONLY_POLICY_ARN,
    SSM_CORE_POLICY_ARN,
    BuilderError,
    allow,
    create_cluster,
    create_customer_policy,
    create_instance_profile,
    create_role,
    create_service,
    default_security_group,
    default_subnet,
    launch_instance,
    policy_document,
    register_container_instance,
    register_task_definition,
    run_task,
)
from rolewarden.rules.model import finding_id

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import TagTypeDef

DYNAMODB_READ_ONLY_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"
SQS_FULL_ACCESS_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSQSFullAccess"
CLOUDWATCH_AGENT_POLICY_ARN = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
BULK_LAUNCH = 100  # instances without a profile start in bulk (one RunInstances each)

# Rule ids (design.md), spelled once here for the expectations below.
WITHOUT_PROFILE = "ec2-instance-without-profile"
PROFILE_WITHOUT_ROLE = "instance-profile-without-role"
APP_PERMISSIONS = "instance-role-app-permissions"
DEFINITION_WITHOUT_ROLE = "ecs-task-definition-without-task-role"
TASK_WITHOUT_ROLE = "ecs-task-without-task-role"
IMDS_EXPOSED = "ecs-host-imds-exposed"
SHARED_ROLE = "task-role-is-execution-role"


@dataclass(frozen=True)
class AccountSize:
    name: str
    clusters: int
    hosts_per_cluster: int
    plain_instances: int  # EC2 servers outside ECS, with an application role
    instances_without_profile: int
    instances_with_roleless_profile: int
    stopped_and_terminated: int  # each: half stopped (still judged), half terminated
    plain_roles: int  # application roles of the plain servers, each behind a profile
    task_roles: int
    customer_policies: int
    task_families: int
    revisions_per_family: int
    running_tasks: int
    services_per_cluster: int

    @property
    def instances(self) -> int:
        return (
            self.clusters * self.hosts_per_cluster
            + self.plain_instances
            + self.instances_without_profile
            + self.instances_with_roleless_profile
            + self.stopped_and_terminated
        )

    @property
    def roles(self) -> int:
        return self.clusters + self.plain_roles + self.task_roles + 2  # + legacy, execution

    @property
    def task_definitions(self) -> int:
        return self.task_families * self.revisions_per_family

    @property
    def resources(self) -> int:
        return (
            self.instances
            + self.roles
            + self.task_definitions
            + self.running_tasks
            + self.clusters * (1 + self.services_per_cluster)
        )


SIZES = {
    size.name: size
    for size in (
        AccountSize(
            name="small",
            clusters=3,
            hosts_per_cluster=6,
            plain_instances=20,
            instances_without_profile=6,
            instances_with_roleless_profile=3,
            stopped_and_terminated=4,
            plain_roles=8,
            task_roles=20,
            customer_policies=10,
            task_families=12,
            revisions_per_family=3,
            running_tasks=24,
            services_per_cluster=2,
        ),
        AccountSize(
            name="medium",
            clusters=10,
            hosts_per_cluster=60,
            plain_instances=1_260,
            instances_without_profile=100,
            instances_with_roleless_profile=20,
            stopped_and_terminated=20,
            plain_roles=120,
            task_roles=368,
            customer_policies=120,
            task_families=400,
            revisions_per_family=5,
            running_tasks=600,
            services_per_cluster=10,
        ),
        AccountSize(
            name="large",
            clusters=20,
            hosts_per_cluster=100,
            plain_instances=1_800,
            instances_without_profile=150,
            instances_with_roleless_profile=30,
            stopped_and_terminated=20,
            plain_roles=300,
            task_roles=700,
            customer_policies=250,
            task_families=700,
            revisions_per_family=5,
            running_tasks=2_000,
            services_per_cluster=15,
        ),
    )
}


@dataclass
class AccountCounts:
    """What the minimum number of calls of a sweep depends on (see `aws_pages`)."""

    live_instances: int = 0
    roles: int = 0
    customer_policies: int = 0
    instance_profiles: int = 0
    roleless_profiles_in_use: int = 0
    attached_aws_policies: int = 0  # distinct AWS managed policies attached anywhere
    aws_policy_documents: int = 0  # ... of those, read for instance roles (not baseline)
    container_instances: Counter[str] = field(default_factory=Counter)  # per cluster
    running_tasks: Counter[str] = field(default_factory=Counter)
    services: Counter[str] = field(default_factory=Counter)
    clusters: list[str] = field(default_factory=list)
    active_task_definitions: int = 0
    user_data_reads: int = 0  # hosts that run awsvpc tasks or whose cluster has awsvpc services


@dataclass
class SeededAccount:
    size: AccountSize
    seed: int
    account: str
    region: str
    violations: set[tuple[str, str]] = field(default_factory=set)  # (rule, resource ARN)
    counts: AccountCounts = field(default_factory=AccountCounts)
    # A few resources of each kind, for the per-event benchmark to point events at.
    samples: dict[str, str] = field(default_factory=dict)

    @property
    def finding_ids(self) -> set[str]:
        return {finding_id(rule, arn) for rule, arn in self.violations}


def seed_account(
    session: boto3.Session, size: AccountSize, seed: int = 6, today: date | None = None
) -> SeededAccount:
    """Build the account in the session's region; return what was seeded.

    ECS tasks must already be pinned RUNNING (see `rolewarden.demo.emulator`).
    """
    return _Seeder(session, size, seed, today or date.today()).run()


class _Seeder:
    def __init__(self, session: boto3.Session, size: AccountSize, seed: int, today: date) -> None:
        self.size = size
        self.rng = random.Random(f"{seed}:{size.name}")
        self.iam = session.client("iam")
        self.ec2 = session.client("ec2")
        self.ecs = session.client("ecs")
        account = session.client("sts").get_caller_identity()["Account"]
        self.region = str(session.region_name)
        self.seeded = SeededAccount(size=size, seed=seed, account=account, region=self.region)
        self.exempt = {
            EXEMPT_UNTIL_TAG: (today + timedelta(days=30)).isoformat(),
            EXEMPT_REASON_TAG: "benchmark: accepted risk",
        }
        self.subnet = default_subnet(self.ec2)
        self.security_group = default_security_group(self.ec2, self.subnet)
        # ECS hosts by instance id, and the network modes that run (or may) on each.
        self.host_facts: dict[str, _HostFacts] = {}

    def violation(self, rule: str, arn: str) -> None:
        self.seeded.violations.add((rule, arn))

    def run(self) -> SeededAccount:
        app_policies = self._customer_policies()
        execution_role = create_role(
            self.iam,
            "ecs-task-execution",
            trust_service=ECS_TASKS_SERVICE,
            managed_policy_arns=[ECS_TASK_EXECUTION_POLICY_ARN],
        )
        task_roles = self._task_roles(app_policies)
        host_profiles = [
            self._host_role(index, app_policies) for index in range(self.size.clusters)
        ]
        # Events point at cluster 1's host role (it grants S3 inline) and at a customer policy
        # that cluster 3's host role and some task roles use.
        self.seeded.samples |= {
            "role": "ecs-host-1",
            "profile": "ecs-host-1",
            "policy": app_policies[3 % len(app_policies)],
        }
        plain_profiles = [self._plain_role(index) for index in range(self.size.plain_roles)]
        plain_profiles.append(self._legacy_ecs_role())
        host_ids = self._hosts(host_profiles)
        self._plain_instances(plain_profiles)
        self._instances_without_profile()
        self._instances_with_roleless_profiles()
        clusters = self._clusters(host_ids)
        definitions = self._task_definitions(task_roles, execution_role)
        self._tasks(clusters, definitions, task_roles)
        self._services(clusters, definitions)
        self._judge_hosts()
        self._count_iam()
        return self.seeded

    # IAM -------------------------------------------------------------------------

    def _customer_policies(self) -> list[str]:
        arns = []
        for index in range(self.size.customer_policies):
            table = f"arn:aws:dynamodb:{self.region}:{self.seeded.account}:table/app-{index}"
            document = policy_document(
                allow(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"], [table]),
                allow(["sqs:SendMessage", "sqs:ReceiveMessage"]),
            )
            arns.append(create_customer_policy(self.iam, f"app-{index}", document))
        return arns

    def _task_roles(self, app_policies: list[str]) -> list[str]:
        roles = []
        for index in range(self.size.task_roles):
            bucket = f"arn:aws:s3:::app-{index}/*"
            roles.append(
                create_role(
                    self.iam,
                    f"task-{index}",
                    trust_service=ECS_TASKS_SERVICE,
                    managed_policy_arns=self.rng.sample(app_policies, k=self.rng.randint(0, 2)),
                    inline_policies={"data": policy_document(allow(["s3:GetObject"], [bucket]))},
                )
            )
        return roles

    def _host_role(self, index: int, app_policies: list[str]) -> str:
        """Cluster `index`'s host role; its flavour decides whether it is a violation."""
        name = f"ecs-host-{index}"
        managed = [ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN, CLOUDWATCH_AGENT_POLICY_ARN]
        inline: dict[str, Any] = {
            "agent-extras": policy_document(
                allow(["ecr:GetAuthorizationToken", "logs:PutLogEvents"])
            )
        }
        tags: dict[str, str] = {}
        boundary = None
        flavour = index % 6
        if flavour in (1, 4, 5):  # application access inline (exempt, or behind a boundary)
            inline["app"] = policy_document(allow(["s3:GetObject", "s3:PutObject"]))
        if flavour == 2:
            managed.append(S3_READ_ONLY_POLICY_ARN)
        if flavour == 3:
            managed.append(app_policies[index % len(app_policies)])
        if flavour == 4:
            tags = self.exempt
        if flavour == 5:
            boundary = self._infrastructure_boundary()
        arn = create_role(
            self.iam,
            name,
            managed_policy_arns=managed,
            inline_policies=inline,
            tags=tags,
            boundary_arn=boundary,
        )
        if flavour in (1, 2, 3):
            self.violation(APP_PERMISSIONS, arn)
        return create_instance_profile(self.iam, name, name)

    def _infrastructure_boundary(self) -> str:
        if "boundary" not in self.seeded.samples:
            document = policy_document(
                allow(["ecs:*", "ecr:*", "logs:*", "ssm:*", "ec2:Describe*"])
            )
            self.seeded.samples["boundary"] = create_customer_policy(
                self.iam, "host-boundary", document
            )
        return self.seeded.samples["boundary"]

    def _plain_role(self, index: int) -> str:
        """An EC2 server's application role: out of scope (`ecs-hosts`), never a finding."""
        name = f"app-server-{index}"
        managed = [SSM_CORE_POLICY_ARN]
        if index % 3 == 0:
            managed.append(DYNAMODB_READ_ONLY_POLICY_ARN)
        if index % 5 == 0:
            managed.append(SQS_FULL_ACCESS_POLICY_ARN)
        create_role(
            self.iam,
            name,
            managed_policy_arns=managed,
            inline_policies={"data": policy_document(allow(["s3:GetObject"], ["*"]))},
        )
        return create_instance_profile(self.iam, name, name)

    def _legacy_ecs_role(self) -> str:
        """A server role that carries the ECS agent policy: an ECS host role by policy."""
        name = "legacy-ecs-app"
        arn = create_role(
            self.iam,
            name,
            managed_policy_arns=[ECS_AGENT_POLICY_ARN],
            inline_policies={"app": policy_document(allow(["sqs:*"]))},
        )
        self.violation(APP_PERMISSIONS, arn)
        return create_instance_profile(self.iam, name, name)

    def _count_iam(self) -> None:
        counts = self.seeded.counts
        roles = self._all("list_roles", "Roles")
        profiles = self._all("list_instance_profiles", "InstanceProfiles")
        counts.roles = len(roles)
        counts.instance_profiles = len(profiles)
        counts.customer_policies = len(self._all("list_policies", "Policies", Scope="Local"))
        attached = self._all("list_policies", "Policies", Scope="AWS", OnlyAttached=True)
        counts.attached_aws_policies = len(attached)
        baseline = {ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN, CLOUDWATCH_AGENT_POLICY_ARN}
        read: set[str] = set()
        for profile in profiles:
            for role in profile["Roles"]:
                policies = self.iam.list_attached_role_policies(RoleName=role["RoleName"])
                read |= {
                    policy["PolicyArn"]
                    for policy in policies["AttachedPolicies"]
                    if ":iam::aws:" in policy["PolicyArn"] and policy["PolicyArn"] not in baseline
                }
        counts.aws_policy_documents = len(read)

    def _all(
        self,
        operation: Literal["list_roles", "list_instance_profiles", "list_policies"],
        key: str,
        **arguments: Any,
    ) -> list[Any]:
        pages: Iterable[Mapping[str, Any]] = self.iam.get_paginator(operation).paginate(**arguments)
        return [item for page in pages for item in page[key]]

    # EC2 -------------------------------------------------------------------------

    def _hosts(self, host_profiles: list[str]) -> dict[int, list[str]]:
        """ECS hosts per cluster. One in ten allows IMDSv1, one in ten has hop limit 2;
        one in twenty is exempt (and allows IMDSv1). Odd clusters' user data blocks IMDS for
        awsvpc tasks. Which are exposed is known once tasks and services are placed."""
        hosts: dict[int, list[str]] = {}
        for cluster, profile in enumerate(host_profiles):
            name = _cluster_name(cluster)
            user_data = f"#!/bin/bash\necho ECS_CLUSTER={name} >> /etc/ecs/ecs.config\n"
            if cluster % 2:
                user_data += "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config\n"
            for index in range(self.size.hosts_per_cluster):
                exempt = index % 20 == 0
                tokens = "optional" if index % 10 == 0 else "required"
                hop_limit = 2 if index % 10 == 1 else 1
                instance_id = launch_instance(
                    self.ec2,
                    profile_arn=profile,
                    subnet_id=self.subnet,
                    http_tokens=tokens,
                    hop_limit=hop_limit,
                    user_data=user_data,
                    tags=self.exempt if exempt else {"Name": f"{name}-host-{index}"},
                )
                self.host_facts[instance_id] = _HostFacts(
                    exempt=exempt,
                    options_exposed=tokens == "optional" or hop_limit > 1,
                    blocks_awsvpc=bool(cluster % 2),
                )
                hosts.setdefault(cluster, []).append(instance_id)
        self.seeded.counts.live_instances += sum(len(ids) for ids in hosts.values())
        return hosts

    def _plain_instances(self, profiles: list[str]) -> None:
        for index in range(self.size.plain_instances):
            launch_instance(
                self.ec2,
                profile_arn=profiles[index % len(profiles)],
                subnet_id=self.subnet,
                tags={"Name": f"server-{index}"},
            )
        self.seeded.counts.live_instances += self.size.plain_instances

    def _instances_without_profile(self) -> None:
        """Running ones are violations (one in ten exempt); stopped ones too; terminated
        ones are gone."""
        running = self._bulk_launch(self.size.instances_without_profile)
        for index, instance_id in enumerate(running):
            if index % 10 == 9:
                self.ec2.create_tags(Resources=[instance_id], Tags=_key_values(self.exempt))
            else:
                self.violation(WITHOUT_PROFILE, self._instance_arn(instance_id))
        halted = self._bulk_launch(self.size.stopped_and_terminated)
        stopped, terminated = halted[::2], halted[1::2]
        if stopped:
            self.ec2.stop_instances(InstanceIds=stopped)
        if terminated:
            self.ec2.terminate_instances(InstanceIds=terminated)
        for instance_id in stopped:
            self.violation(WITHOUT_PROFILE, self._instance_arn(instance_id))
        self.seeded.counts.live_instances += len(running) + len(stopped)

    def _bulk_launch(self, count: int) -> list[str]:
        ids: list[str] = []
        while len(ids) < count:
            batch = min(BULK_LAUNCH, count - len(ids))
            response = self.ec2.run_instances(
                ImageId="ami-12c6146b",
                InstanceType="t3.micro",
                MinCount=batch,
                MaxCount=batch,
                SubnetId=self.subnet,
            )
            ids += [instance["InstanceId"] for instance in response["Instances"]]
        return ids

    def _instances_with_roleless_profiles(self) -> None:
        """Profiles without a role, each used by one instance."""
        for index in range(self.size.instances_with_roleless_profile):
            profile = create_instance_profile(self.iam, f"orphan-{index}", None)
            instance_id = launch_instance(self.ec2, profile_arn=profile, subnet_id=self.subnet)
            self.violation(PROFILE_WITHOUT_ROLE, self._instance_arn(instance_id))
        self.seeded.counts.roleless_profiles_in_use = self.size.instances_with_roleless_profile
        self.seeded.counts.live_instances += self.size.instances_with_roleless_profile

    def _instance_arn(self, instance_id: str) -> str:
        return f"arn:aws:ec2:{self.region}:{self.seeded.account}:instance/{instance_id}"

    # ECS -------------------------------------------------------------------------

    def _clusters(self, host_ids: dict[int, list[str]]) -> list[_Cluster]:
        clusters = []
        for index, instance_ids in host_ids.items():
            arn = create_cluster(self.ecs, _cluster_name(index))
            hosts = {
                register_container_instance(self.ecs, self.ec2, arn, instance_id): instance_id
                for instance_id in instance_ids
            }
            clusters.append(_Cluster(arn, hosts))
            self.seeded.counts.clusters.append(arn)
            self.seeded.counts.container_instances[arn] = len(hosts)
        sample_host = host_ids[0][2]
        self.seeded.samples["host_instance"] = sample_host
        self.seeded.samples["cluster"] = clusters[0].arn
        self.seeded.samples["container_instance"] = next(
            arn for arn, instance_id in clusters[0].hosts.items() if instance_id == sample_host
        )
        return clusters

    def _task_definitions(self, task_roles: list[str], execution_role: str) -> list[_Family]:
        """Families by flavour: one in ten without a task role (EC2, bridge), one Fargate-
        only without, one awsvpc on EC2 without, one exempt without, one sharing the
        execution role; the rest are compliant. Every seventh family's first revision is
        deregistered (INACTIVE: not judged)."""
        families = []
        counts = self.seeded.counts
        for index in range(self.size.task_families):
            flavour = index % 10
            network = "awsvpc" if flavour in (1, 4) else ("host" if flavour == 6 else "bridge")
            compatibilities = ("FARGATE",) if flavour == 1 else ("EC2",)
            task_role: str | None = task_roles[index % len(task_roles)]
            if flavour in (0, 1, 3, 4):
                task_role = None
            if flavour == 2:
                task_role = execution_role
            revisions = []
            for _revision in range(self.size.revisions_per_family):
                revisions.append(
                    register_task_definition(
                        self.ecs,
                        f"family-{index}",
                        task_role_arn=task_role,
                        execution_role_arn=execution_role,
                        network_mode=network,
                        compatibilities=compatibilities,
                        tags=self.exempt if flavour == 3 else {},
                    )
                )
            if index % 7 == 0:
                self.ecs.deregister_task_definition(taskDefinition=revisions[0])
                active = revisions[1:]
            else:
                active = revisions
            counts.active_task_definitions += len(active)
            for arn in active:
                if flavour in (0, 1, 4):
                    self.violation(DEFINITION_WITHOUT_ROLE, arn)
                if flavour == 2:
                    self.violation(SHARED_ROLE, arn)
            families.append(_Family(active[-1], task_role, network, on_ec2=flavour != 1))
        self.seeded.samples["task_definition"] = families[0].latest
        return families

    def _tasks(
        self, clusters: list[_Cluster], families: list[_Family], task_roles: list[str]
    ) -> None:
        """Tasks spread over the hosts; a third of those without a task role get one by
        override."""
        on_ec2 = [family for family in families if family.on_ec2]
        hosts = [(cluster, host) for cluster in clusters for host in cluster.hosts]
        for index in range(self.size.running_tasks):
            cluster, host = hosts[index % len(hosts)]
            family = on_ec2[self.rng.randrange(len(on_ec2))]
            override = None
            if family.task_role is None and self.rng.random() < 1 / 3:
                override = task_roles[self.rng.randrange(len(task_roles))]
            awsvpc = family.network == "awsvpc"
            task_arn = run_task(
                self.ecs,
                cluster.arn,
                family.latest,
                container_instance_arn=None if awsvpc else host,
                task_role_override=override,
                subnet_id=self.subnet if awsvpc else None,
                security_group_ids=[self.security_group] if awsvpc else (),
            )
            placed = self._placement(cluster, task_arn) if awsvpc else host
            self.host_facts[cluster.hosts[placed]].modes.add(family.network)
            self.seeded.counts.running_tasks[cluster.arn] += 1
            self.seeded.samples.setdefault("task", task_arn)  # the first, in the first cluster
            if family.task_role is None and override is None:
                self.violation(TASK_WITHOUT_ROLE, task_arn)

    def _placement(self, cluster: _Cluster, task_arn: str) -> str:
        """The container instance RunTask chose (the response says it)."""
        task = self.ecs.describe_tasks(cluster=cluster.arn, tasks=[task_arn])["tasks"][0]
        placed: str = task["containerInstanceArn"]
        if placed not in cluster.hosts:
            raise BuilderError(f"task {task_arn} placed outside its cluster")
        return placed

    def _services(self, clusters: list[_Cluster], families: list[_Family]) -> None:
        on_ec2 = [family for family in families if family.on_ec2]
        for cluster in clusters:
            for index in range(self.size.services_per_cluster):
                family = on_ec2[self.rng.randrange(len(on_ec2))]
                arn = create_service(self.ecs, cluster.arn, f"service-{index}", family.latest)
                self.seeded.samples.setdefault("service", arn)
                self.seeded.counts.services[cluster.arn] += 1
                for instance_id in cluster.hosts.values():  # an EC2 service may land on any
                    self.host_facts[instance_id].modes.add(family.network)

    def _judge_hosts(self) -> None:
        """ecs-host-imds-exposed: the metadata options, awsvpc tasks or services where user
        data does not block IMDS, and host-network ones anywhere. A sweep reads the user
        data of every host awsvpc tasks run or may run on."""
        for instance_id, facts in self.host_facts.items():
            if facts.exposed and not facts.exempt:
                self.violation(IMDS_EXPOSED, self._instance_arn(instance_id))
            if "awsvpc" in facts.modes:
                self.seeded.counts.user_data_reads += 1


@dataclass
class _HostFacts:
    exempt: bool
    options_exposed: bool  # IMDSv1 or a hop limit above 1
    blocks_awsvpc: bool  # ECS_AWSVPC_BLOCK_IMDS=true in its user data
    modes: set[str] = field(default_factory=set)  # of the tasks that run or may run there

    @property
    def exposed(self) -> bool:
        awsvpc = "awsvpc" in self.modes and not self.blocks_awsvpc
        return self.options_exposed or awsvpc or "host" in self.modes


@dataclass(frozen=True)
class _Cluster:
    arn: str
    hosts: dict[str, str]  # container instance ARN -> EC2 instance id


@dataclass(frozen=True)
class _Family:
    latest: str
    task_role: str | None
    network: str
    on_ec2: bool


def _cluster_name(index: int) -> str:
    """Zero-padded: moto lists the tasks of every cluster whose name contains the one asked
    for (cluster-1 would list cluster-10's tasks too), which would inflate the calls."""
    return f"cluster-{index:02d}"


def _key_values(tags: dict[str, str]) -> list[TagTypeDef]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def describe(size: AccountSize) -> Iterator[str]:
    yield f"{size.instances:,} instances"
    yield f"{size.roles:,} roles"
    yield f"{size.task_definitions:,} task definitions"
    yield f"{size.clusters} clusters"
    yield f"{size.running_tasks:,} running tasks"
