"""ecs-host-imds-exposed scanned in moto."""

from __future__ import annotations

from types import SimpleNamespace

import boto3

from functional.accounts import (
    ACCOUNT,
    REGION,
    Host,
    Scan,
    assert_finding,
    ecs_user_data,
    finding,
    instance_arn,
    make_host,
    make_role,
    moto_world,
    short,
)
from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import (
    ASG_NAME_TAG,
    ECS_TASKS_SERVICE,
    create_cluster,
    create_role,
    create_service,
    default_security_group,
    default_subnet,
    launch_instance,
    register_container_instance,
    register_task_definition,
    run_task,
)
from rolewarden.inventory.build import TargetedReader
from rolewarden.rules import ids
from rolewarden.rules.engine import run_rules
from rolewarden.settings import Settings

RULE_IMDS = ids.ECS_HOST_IMDS_EXPOSED


def build_imds_hosts_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    ec2, ecs = session.client("ec2"), session.client("ecs")
    create_cluster(ecs, "hosts")
    _arn, _id, profile = make_role(session, "hosts-role")
    assert profile is not None

    def host(cluster: str, http_tokens: str, hop_limit: int, **tags: str) -> str:
        instance = launch_instance(
            ec2,
            profile_arn=profile,
            http_tokens=http_tokens,
            hop_limit=hop_limit,
            tags=tags,
        )
        register_container_instance(ecs, ec2, cluster, instance)
        return instance

    world = SimpleNamespace(
        imdsv1=host("hosts", "optional", 1, **{ASG_NAME_TAG: "hosts-asg"}),
        hop2=host("hosts", "required", 2),
        both=host("hosts", "optional", 2),
        locked=host("hosts", "required", 1),
        plain=launch_instance(ec2, profile_arn=profile, http_tokens="optional"),
    )
    world.cluster = ecs.describe_clusters(clusters=["hosts"])["clusters"][0]["clusterArn"]
    create_cluster(ecs, "bridge")
    world.bridge_host = host("bridge", "optional", 2)
    td = register_task_definition(ecs, "orders-api")
    ci = ecs.list_container_instances(cluster="bridge")["containerInstanceArns"][0]
    world.bridge_task = run_task(ecs, "bridge", td, container_instance_arn=ci)
    world.default = scan(session)
    world.remediate = scan(session, rule_modes={RULE_IMDS: "remediate"})
    return world


class TestEcsHostImdsExposed:
    world = moto_world(build_imds_hosts_world)

    def test_host_allowing_imdsv1_is_medium(self, world: SimpleNamespace) -> None:
        # Given an ECS container instance with HttpTokens optional, hop limit 1 (scenario 1)
        # When scanned
        found = finding(world.default, RULE_IMDS, instance_arn(world.imdsv1))

        # Then a medium finding shows its metadata options and proposes enforcing IMDSv2
        found = assert_finding(
            found,
            rule=RULE_IMDS,
            severity="medium",
            resource_type="AWS::EC2::Instance",
            resource_id=world.imdsv1,
            resource_arn=instance_arn(world.imdsv1),
            title=f"ECS host {world.imdsv1} allows IMDSv1",
        )
        options = {"http_tokens": "optional", "hop_limit": 1, "endpoint": "enabled"}
        assert found["evidence"] == {
            "metadata_options": options,
            "problems": ["allows IMDSv1"],
            "exposures": [
                {
                    "network_mode": "bridge",
                    "reason": "bridge: host allows IMDSv1 with hop limit 1",
                    "tasks": [],
                    "services": [],
                    "closed_by": "HttpTokens=required with hop limit 1 on the host "
                    "(enforce-imdsv2)",
                }
            ],
            "clusters": [world.cluster],
            "root_cause": {"auto_scaling_group": "hosts-asg"},
        }
        assert found["remediation"] == {
            "action": "enforce-imdsv2",
            "automatic": False,
            "params": {
                "instance_id": world.imdsv1,
                "http_tokens": "required",
                "hop_limit": 1,
                "hop_limit_reason": "hop limit 1: no bridge-mode task or service without a "
                "task role runs or may run here, so no container needs the host's IMDS",
                "previous": options,
            },
            "blocked_by": [],
        }

    def test_host_with_hop_limit_above_1_is_reported(self, world: SimpleNamespace) -> None:
        # Given a host requiring IMDSv2 with hop limit 2 (scenario 2) / When scanned
        found = finding(world.default, RULE_IMDS, instance_arn(world.hop2))

        # Then it is reported for the hop limit
        assert found is not None
        assert found["title"] == f"ECS host {world.hop2} has IMDS hop limit 2"
        assert found["evidence"]["problems"] == ["has IMDS hop limit 2"]

    def test_host_with_both_problems_names_both(self, world: SimpleNamespace) -> None:
        found = finding(world.default, RULE_IMDS, instance_arn(world.both))

        assert found is not None
        assert found["title"] == f"ECS host {world.both} allows IMDSv1 and has IMDS hop limit 2"

    def test_host_requiring_imdsv2_with_hop_limit_1_is_compliant(
        self, world: SimpleNamespace
    ) -> None:
        # Given a host with HttpTokens required, hop limit 1 (scenario 3) / Then no finding
        assert finding(world.default, RULE_IMDS, instance_arn(world.locked)) is None

    def test_instance_that_is_not_an_ecs_host_is_not_applicable(
        self, world: SimpleNamespace
    ) -> None:
        # Given an instance allowing IMDSv1 that is not registered in ECS (scenario 4)
        # Then no finding
        assert finding(world.default, RULE_IMDS, instance_arn(world.plain)) is None

    def test_remediate_mode_makes_enforcing_automatic(self, world: SimpleNamespace) -> None:
        found = finding(world.remediate, RULE_IMDS, instance_arn(world.imdsv1))

        assert found is not None
        assert found["remediation"]["automatic"] is True

    def test_bridge_task_without_task_role_blocks_enforcing(self, world: SimpleNamespace) -> None:
        # Given a host running a bridge task without task role (scenario 5)
        # When scanned in remediate mode
        found = finding(world.remediate, RULE_IMDS, instance_arn(world.bridge_host))

        # Then enforcing IMDSv2 is blocked by the outage guard naming the task
        assert found is not None
        assert found["remediation"]["automatic"] is False
        assert found["remediation"]["blocked_by"] == [
            "outage guard: bridge-mode tasks without a task role use this host's credentials: "
            f"task {short(world.bridge_task)} (orders-api:1); "
            "give their task definitions a task role first"
        ]


AWSVPC_FIX = (
    "ECS_AWSVPC_BLOCK_IMDS=true in the ECS agent's /etc/ecs/ecs.config (the launch "
    "template's user data), then restart the agent; IMDSv2 and the hop limit do not "
    "stop awsvpc tasks"
)


def build_network_tasks_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
    subnet = default_subnet(ec2)
    group = default_security_group(ec2, subnet)
    task_role = create_role(iam, "api-task", trust_service=ECS_TASKS_SERVICE)
    api = register_task_definition(ecs, "api", network_mode="awsvpc", task_role_arn=task_role)
    agent = register_task_definition(ecs, "agent", network_mode="host", task_role_arn=task_role)
    hosts: dict[str, Host] = {}
    clusters: dict[str, str] = {}
    for cluster, block in {
        "vpc-open": False,
        "vpc-blocked": True,
        "vpc-service": False,
        "host-net": True,
        "bridge-only": False,
    }.items():
        clusters[cluster] = create_cluster(ecs, cluster)
        hosts[cluster] = make_host(
            session,
            f"{cluster}-host",
            cluster=cluster,
            user_data=ecs_user_data(cluster, block_imds_for_awsvpc=block),
        )
    world = SimpleNamespace(session=session, hosts=hosts, clusters=clusters)
    for cluster in ("vpc-open", "vpc-blocked"):
        setattr(
            world,
            cluster.replace("-", "_") + "_task",
            run_task(
                ecs,
                cluster,
                api,
                container_instance_arn=hosts[cluster].container_instance_arn,
                subnet_id=subnet,
                security_group_ids=[group],
            ),
        )
    create_service(ecs, "vpc-service", "api", api)
    world.agent_task = run_task(
        ecs,
        "host-net",
        agent,
        container_instance_arn=hosts["host-net"].container_instance_arn,
    )
    run_task(
        ecs,
        "bridge-only",
        register_task_definition(ecs, "web", task_role_arn=task_role),
        container_instance_arn=hosts["bridge-only"].container_instance_arn,
    )
    world.user_data_reads = []
    session.events.register(
        "provide-client-params.ec2.DescribeInstanceAttribute",
        lambda params, **_: world.user_data_reads.append(params["InstanceId"]),
    )
    world.result = scan(session, rule_modes={RULE_IMDS: "remediate"})
    return world


class TestAwsvpcAndHostNetworkTasks:
    """Hosts requiring IMDSv2 with hop limit 1, each alone in its cluster (scenarios 6, 7)."""

    world = moto_world(build_network_tasks_world)

    def test_awsvpc_task_with_a_task_role_on_a_host_without_block_imds_is_reported(
        self, world: SimpleNamespace
    ) -> None:
        # Given a host requiring IMDSv2 with hop limit 1, whose user data does not set
        # ECS_AWSVPC_BLOCK_IMDS, running an awsvpc task that has a task role (scenario 6)
        host = world.hosts["vpc-open"]

        # When scanned (in remediate mode)
        found = finding(world.result, RULE_IMDS, host.instance_arn)

        # Then exactly that exposure is reported, with the setting that closes it, and no
        # remediation claims to close it
        found = assert_finding(
            found,
            rule=RULE_IMDS,
            severity="medium",
            resource_type="AWS::EC2::Instance",
            resource_id=host.instance_id,
            resource_arn=host.instance_arn,
            title=f"ECS host {host.instance_id} lets awsvpc tasks reach IMDS",
        )
        assert found["evidence"] == {
            "metadata_options": {"http_tokens": "required", "hop_limit": 1, "endpoint": "enabled"},
            "problems": ["lets awsvpc tasks reach IMDS"],
            "exposures": [
                {
                    "network_mode": "awsvpc",
                    "reason": "awsvpc without ECS_AWSVPC_BLOCK_IMDS=true on the host",
                    "tasks": [f"task {short(world.vpc_open_task)} (api:1)"],
                    "services": [],
                    "closed_by": AWSVPC_FIX,
                }
            ],
            "clusters": [world.clusters["vpc-open"]],
        }
        assert found["remediation"] is None

    def test_the_same_host_with_block_imds_in_its_user_data_is_compliant(
        self, world: SimpleNamespace
    ) -> None:
        # Given its twin, whose user data sets ECS_AWSVPC_BLOCK_IMDS=true / Then no finding
        assert finding(world.result, RULE_IMDS, world.hosts["vpc-blocked"].instance_arn) is None
        assert world.result.examined["AWS::EC2::Instance"] == len(world.hosts)

    def test_a_host_an_awsvpc_service_may_be_placed_on_is_reported(
        self, world: SimpleNamespace
    ) -> None:
        # Given a host running nothing, in a cluster with an awsvpc EC2 service (scenario 6)
        host = world.hosts["vpc-service"]

        # When scanned / Then the service is what exposes it
        found = finding(world.result, RULE_IMDS, host.instance_arn)
        assert found is not None
        assert [(e["tasks"], e["services"]) for e in found["evidence"]["exposures"]] == [
            ([], ["service api (api:1)"])
        ]

    def test_a_host_network_task_is_reported_with_no_host_setting_as_its_fix(
        self, world: SimpleNamespace
    ) -> None:
        # Given a host blocking IMDS for awsvpc tasks, running a host-network task (scenario 7)
        host = world.hosts["host-net"]

        # When scanned
        found = finding(world.result, RULE_IMDS, host.instance_arn)

        # Then the task is named, and no setting of the host is offered as the fix
        assert found is not None
        assert found["title"] == f"ECS host {host.instance_id} lets host-network tasks reach IMDS"
        [exposure] = found["evidence"]["exposures"]
        assert exposure["tasks"] == [f"task {short(world.agent_task)} (agent:1)"]
        assert exposure["closed_by"].startswith("no setting of the host")
        assert found["remediation"] is None

    def test_user_data_is_read_once_for_each_host_awsvpc_tasks_run_or_may_run_on(
        self, world: SimpleNamespace
    ) -> None:
        # Given the scan above / Then only the hosts of awsvpc tasks and services had their
        # user data read, once each
        expected = [world.hosts[c].instance_id for c in ("vpc-open", "vpc-blocked", "vpc-service")]
        assert sorted(world.user_data_reads) == sorted(expected)
        assert world.result.errors == []

    def test_an_event_about_a_host_reads_what_may_run_on_it_and_agrees_with_the_sweep(
        self, world: SimpleNamespace
    ) -> None:
        # Given the host an awsvpc service may be placed on
        host = world.hosts["vpc-service"]

        # When an event about it reads that instance alone
        snapshot = targeted_reader(world).instances([host.instance_id])

        # Then its cluster's service and its user data are read, and the finding is the
        # sweep's
        assert [s.name for s in snapshot.services.values()] == ["api"]
        assert snapshot.instances[host.instance_id].ecs_agent_settings == {}
        run = run_rules(snapshot, Settings().rule_context(), [RULE_IMDS])
        expected = finding(world.result, RULE_IMDS, host.instance_arn)
        assert [f.as_json() for f in run.findings if f.resource_arn == host.instance_arn] == [
            expected
        ]

    def test_an_event_about_an_awsvpc_task_with_a_task_role_reads_no_user_data(
        self, world: SimpleNamespace
    ) -> None:
        # Given the awsvpc task (it has a task role) on the vpc-open host
        host = world.hosts["vpc-open"]

        # When an event about the task reads it, with its host
        snapshot = targeted_reader(world).task(world.clusters["vpc-open"], world.vpc_open_task)

        # Then the host's user data is not read: no rule judged here needs it
        assert host.instance_id in snapshot.instances
        assert snapshot.instances[host.instance_id].ecs_agent_settings is None


def targeted_reader(world: SimpleNamespace) -> TargetedReader:
    return TargetedReader(
        AwsClients(world.session),
        REGION,
        ACCOUNT,
        "aws",
        Settings().rule_context().skip_document,
    )
