"""Builders that create account resources, for the demo and for functional tests.

Each builder takes the boto3 client(s) it needs (or a Session) and explicit
parameters, makes the calls a person would make, and returns the id or ARN it
created. They work against any endpoint; they were written for moto, whose
behaviour they accommodate where it differs from AWS (noted at each place).

`seed_demo_account` builds one account that breaks every RoleWarden rule next to
compliant resources. It does not pin ECS tasks RUNNING: moto moves a task one
state towards STOPPED on every DescribeTasks, so the caller pins first
(`Emulator.pin_ecs_tasks_running()` over HTTP, `pin_ecs_tasks_running_in_process()`
under `mock_aws`), before anything describes the tasks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3

from rolewarden.aws.tags import tag_list

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_iam import IAMClient

# An AMI that moto's EC2 backend knows (moto does not validate AMIs by default).
DEFAULT_IMAGE_ID = "ami-12c6146b"
DEFAULT_INSTANCE_TYPE = "t3.medium"
DEFAULT_CONTAINER_IMAGE = "public.ecr.aws/nginx/nginx:latest"

AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"
ECS_AGENT_POLICY_ARN = AWS_POLICY_PREFIX + "service-role/AmazonEC2ContainerServiceforEC2Role"
ECS_TASK_EXECUTION_POLICY_ARN = AWS_POLICY_PREFIX + "service-role/AmazonECSTaskExecutionRolePolicy"
SSM_CORE_POLICY_ARN = AWS_POLICY_PREFIX + "AmazonSSMManagedInstanceCore"
S3_FULL_ACCESS_POLICY_ARN = AWS_POLICY_PREFIX + "AmazonS3FullAccess"
S3_READ_ONLY_POLICY_ARN = AWS_POLICY_PREFIX + "AmazonS3ReadOnlyAccess"

EC2_SERVICE = "ec2.amazonaws.com"
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"

EXEMPT_UNTIL_TAG = "rolewarden:exempt-until"
EXEMPT_REASON_TAG = "rolewarden:exempt-reason"
ASG_NAME_TAG = "aws:autoscaling:groupName"


class BuilderError(Exception):
    """A resource was not created as asked."""


# IAM


def policy_document(*statements: Mapping[str, Any]) -> dict[str, Any]:
    """An IAM policy document holding the given statements."""
    return {"Version": "2012-10-17", "Statement": [dict(s) for s in statements]}


def allow(actions: Sequence[str], resources: Sequence[str] = ("*",)) -> dict[str, Any]:
    """An Allow statement."""
    return {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}


def trust_policy(service: str) -> dict[str, Any]:
    """A trust policy that lets one AWS service assume the role."""
    return policy_document(
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    )


def create_role(
    iam: IAMClient,
    name: str,
    *,
    trust_service: str = EC2_SERVICE,
    managed_policy_arns: Sequence[str] = (),
    inline_policies: Mapping[str, Mapping[str, Any]] = {},
    boundary_arn: str | None = None,
    tags: Mapping[str, str] = {},
    path: str = "/",
) -> str:
    """Create a role that `trust_service` may assume, with its policies; return its ARN."""
    params: dict[str, Any] = {
        "RoleName": name,
        "Path": path,
        "AssumeRolePolicyDocument": json.dumps(trust_policy(trust_service)),
        "Tags": tag_list(tags),
    }
    if boundary_arn is not None:
        params["PermissionsBoundary"] = boundary_arn
    arn: str = iam.create_role(**params)["Role"]["Arn"]
    for policy_arn in managed_policy_arns:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    for policy_name, document in inline_policies.items():
        iam.put_role_policy(
            RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )
    return arn


def create_customer_policy(iam: IAMClient, name: str, document: Mapping[str, Any]) -> str:
    """Create a customer managed policy; return its ARN."""
    policy = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))
    arn: str = policy["Policy"]["Arn"]
    return arn


def add_policy_version(
    iam: IAMClient, arn: str, document: Mapping[str, Any], set_default: bool = True
) -> str:
    """Add a version to a managed policy (the default one unless told); return its id."""
    version = iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=set_default
    )
    version_id: str = version["PolicyVersion"]["VersionId"]
    return version_id


def create_instance_profile(iam: IAMClient, name: str, role_name: str | None) -> str:
    """Create an instance profile holding `role_name` (or no role); return its ARN."""
    arn: str = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    if role_name is not None:
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role_name)
    return arn


# EC2


def default_subnet(ec2: EC2Client) -> str:
    """The default VPC's default subnet in the first availability zone."""
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    ordered = sorted(subnets["Subnets"], key=lambda s: (s["AvailabilityZone"], s["SubnetId"]))
    if not ordered:
        raise BuilderError("the account has no default subnet")
    subnet_id: str = ordered[0]["SubnetId"]
    return subnet_id


def default_security_group(ec2: EC2Client, subnet_id: str) -> str:
    """The default security group of the subnet's VPC."""
    vpc_id = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["VpcId"]
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    if not groups:
        raise BuilderError(f"VPC {vpc_id} has no default security group")
    group_id: str = groups[0]["GroupId"]
    return group_id


def launch_instance(
    ec2: EC2Client,
    *,
    profile_arn: str | None = None,
    subnet_id: str | None = None,
    tags: Mapping[str, str] = {},
    http_tokens: str = "required",
    hop_limit: int = 1,
    user_data: str | None = None,
    image_id: str = DEFAULT_IMAGE_ID,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
) -> str:
    """Launch one instance with these metadata options; return its id.

    One at a time: with MinCount > 1, moto gives the instance profile to the
    first instance only.
    """
    params: dict[str, Any] = {
        "ImageId": image_id,
        "InstanceType": instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "MetadataOptions": {
            "HttpEndpoint": "enabled",
            "HttpTokens": http_tokens,
            "HttpPutResponseHopLimit": hop_limit,
        },
    }
    if profile_arn is not None:
        params["IamInstanceProfile"] = {"Arn": profile_arn}
    if subnet_id is not None:
        params["SubnetId"] = subnet_id
    if tags:
        params["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tag_list(tags)}]
    if user_data is not None:
        params["UserData"] = user_data  # boto3 base64-encodes it
    instance_id: str = ec2.run_instances(**params)["Instances"][0]["InstanceId"]
    return instance_id


# ECS


def create_cluster(ecs: ECSClient, name: str) -> str:
    """Create an ECS cluster; return its ARN."""
    arn: str = ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
    return arn


def register_container_instance(
    ecs: ECSClient, ec2: EC2Client, cluster: str, instance_id: str
) -> str:
    """Register an EC2 instance in a cluster, as its ECS agent would; return the ARN.

    The agent sends the instance identity document; moto reads `instanceId` from it.
    """
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    identity_document = {
        "instanceId": instance_id,
        "imageId": instance["ImageId"],
        "instanceType": instance["InstanceType"],
        "availabilityZone": instance["Placement"]["AvailabilityZone"],
        "region": ec2.meta.region_name,
        "privateIp": instance.get("PrivateIpAddress"),
    }
    registered = ecs.register_container_instance(
        cluster=cluster, instanceIdentityDocument=json.dumps(identity_document)
    )["containerInstance"]
    if registered.get("ec2InstanceId") != instance_id:
        raise BuilderError(f"container instance registered for {registered.get('ec2InstanceId')}")
    arn: str = registered["containerInstanceArn"]
    return arn


def register_task_definition(
    ecs: ECSClient,
    family: str,
    *,
    task_role_arn: str | None = None,
    execution_role_arn: str | None = None,
    network_mode: str = "bridge",
    compatibilities: Sequence[str] = ("EC2",),
    tags: Mapping[str, str] = {},
) -> str:
    """Register a one-container task definition; return its revision's ARN."""
    container = {"name": family, "image": DEFAULT_CONTAINER_IMAGE, "memory": 256, "essential": True}
    params: dict[str, Any] = {
        "family": family,
        "networkMode": network_mode,
        "requiresCompatibilities": list(compatibilities),
        "containerDefinitions": [container],
    }
    if "FARGATE" in compatibilities:  # Fargate needs task-level sizes
        params |= {"cpu": "256", "memory": "512"}
    if task_role_arn is not None:
        params["taskRoleArn"] = task_role_arn
    if execution_role_arn is not None:
        params["executionRoleArn"] = execution_role_arn
    if tags:
        params["tags"] = tag_list(tags, ecs=True)
    arn: str = ecs.register_task_definition(**params)["taskDefinition"]["taskDefinitionArn"]
    return arn


def run_task(
    ecs: ECSClient,
    cluster: str,
    task_definition_arn: str,
    *,
    container_instance_arn: str | None = None,
    task_role_override: str | None = None,
    subnet_id: str | None = None,
    security_group_ids: Sequence[str] = (),
    group: str | None = None,
    tags: Mapping[str, str] = {},
) -> str:
    """Start one task on EC2; return its ARN.

    `container_instance_arn` places it (StartTask); without it ECS (RunTask) picks a
    host. `subnet_id` is the awsvpc subnet, for awsvpc task definitions only.
    `task_role_override` goes to `overrides.taskRoleArn`.

    moto cannot start an awsvpc task with StartTask (it drops the network
    configuration), so an awsvpc task with a container instance goes through RunTask,
    and the placement is checked: use it on a cluster with one host.
    """
    params: dict[str, Any] = {"cluster": cluster, "taskDefinition": task_definition_arn}
    if task_role_override is not None:
        params["overrides"] = {"taskRoleArn": task_role_override}
    if group is not None:
        params["group"] = group
    if tags:
        params["tags"] = tag_list(tags, ecs=True)
    if subnet_id is not None:
        params["networkConfiguration"] = {
            "awsvpcConfiguration": {
                "subnets": [subnet_id],
                "securityGroups": list(security_group_ids),
                "assignPublicIp": "DISABLED",
            }
        }

    if container_instance_arn is not None and subnet_id is None:
        response = ecs.start_task(containerInstances=[container_instance_arn], **params)
    else:
        response = ecs.run_task(launchType="EC2", count=1, **params)
    if response.get("failures") or not response.get("tasks"):
        raise BuilderError(f"task not started: {response.get('failures')}")
    task = response["tasks"][0]
    if (
        container_instance_arn is not None
        and task["containerInstanceArn"] != container_instance_arn
    ):
        raise BuilderError(f"task placed on {task['containerInstanceArn']}, not the one asked")
    arn: str = task["taskArn"]
    return arn


def create_service(
    ecs: ECSClient, cluster: str, name: str, task_definition_arn: str, *, desired_count: int = 1
) -> str:
    """Create an EC2 service; return its ARN. (moto starts no task for it.)"""
    service = ecs.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=task_definition_arn,
        desiredCount=desired_count,
        launchType="EC2",
    )["service"]
    arn: str = service["serviceArn"]
    return arn


# The demo account


@dataclass(frozen=True)
class DemoAccount:
    """What `seed_demo_account` created. Comments say which rule each one breaks."""

    account_id: str
    region: str

    # Cluster "shop": hosts whose role holds application permissions (S3, DynamoDB).
    shop_cluster_arn: str
    shop_host_role_arn: str  # instance-role-app-permissions
    shop_host_profile_arn: str
    shop_host_imdsv1_instance_id: str  # HttpTokens optional, hop limit 2: ecs-host-imds-exposed
    shop_host_imdsv2_instance_id: str  # HttpTokens required, hop limit 1
    shop_host_imdsv1_container_instance_arn: str
    shop_host_imdsv2_container_instance_arn: str
    orders_table_arn: str  # what the host role's inline policy "orders-table" grants

    # Cluster "payments": compliant.
    payments_cluster_arn: str
    payments_host_role_arn: str
    payments_host_profile_arn: str
    payments_host_instance_id: str
    payments_host_container_instance_arn: str

    # Task roles and execution roles (trusting ecs-tasks.amazonaws.com).
    task_execution_role_arn: str  # "ecs-task-execution"
    checkout_task_role_arn: str  # "checkout-task"
    billing_shared_role_arn: str  # "billing-shared", task role and execution role at once

    # Task definitions (revision ARNs).
    orders_api_task_definition_arn: str  # bridge, EC2, no task role
    checkout_task_definition_arn: str  # awsvpc, EC2, task role: compliant
    billing_task_definition_arn: str  # task role == execution role
    reports_task_definition_arn: (
        str  # registered for Fargate, no task role: ECS validates it for EC2 too (high)
    )

    # Running tasks and the service.
    orders_api_task_arn: str  # on the IMDSv1 shop host, no task role: uses the host's role
    checkout_task_arn: str  # on the payments host, with its task role
    orders_service_arn: str  # service "orders" on shop, running orders-api

    # Plain EC2 instances.
    legacy_batch_instance_id: str  # no instance profile
    orphan_profile_arn: str  # an instance profile without a role
    orphan_profile_instance_id: str
    reporting_app_role_arn: str  # AmazonS3ReadOnlyAccess; not an ECS host
    reporting_app_profile_arn: str
    reporting_app_instance_id: str
    exempt_instance_id: str  # no profile, exemption valid until `exemption_until`
    exemption_until: str
    expired_exemption_instance_id: str  # no profile, exemption expired on `expired_exemption_until`
    expired_exemption_until: str


EXEMPTION_REASON = "vendor appliance, ticket SEC-142"


def seed_demo_account(session: boto3.Session, *, today: date | None = None) -> DemoAccount:
    """Seed one account that breaks every rule, next to compliant resources.

    The caller pins ECS tasks RUNNING (see the module docstring). `today` dates the
    exemptions (default: today in UTC).
    """
    today = today or datetime.now(UTC).date()
    iam = session.client("iam")
    ec2 = session.client("ec2")
    ecs = session.client("ecs")
    account_id: str = session.client("sts").get_caller_identity()["Account"]
    region: str = ec2.meta.region_name
    subnet_id = default_subnet(ec2)

    # Cluster "shop": the host role carries S3 and DynamoDB access for the application.
    orders_table_arn = f"arn:aws:dynamodb:{region}:{account_id}:table/orders"
    shop_role_arn = create_role(
        iam,
        "shop-ecs-host",
        managed_policy_arns=(ECS_AGENT_POLICY_ARN, S3_FULL_ACCESS_POLICY_ARN),
        inline_policies={
            "orders-table": policy_document(
                allow(
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], [orders_table_arn]
                )
            )
        },
    )
    shop_profile_arn = create_instance_profile(iam, "shop-ecs-host", "shop-ecs-host")
    shop_cluster_arn = create_cluster(ecs, "shop")
    shop_hosts = {}
    for number, (http_tokens, hop_limit) in enumerate((("optional", 2), ("required", 1)), 1):
        shop_hosts[http_tokens] = launch_instance(
            ec2,
            profile_arn=shop_profile_arn,
            subnet_id=subnet_id,
            tags={"Name": f"shop-ecs-host-{number}", ASG_NAME_TAG: "shop-asg"},
            http_tokens=http_tokens,
            hop_limit=hop_limit,
            user_data=_ecs_user_data("shop"),
        )
    shop_imdsv1_ci = register_container_instance(ecs, ec2, "shop", shop_hosts["optional"])
    shop_imdsv2_ci = register_container_instance(ecs, ec2, "shop", shop_hosts["required"])

    # Cluster "payments": what a host role should be.
    payments_role_arn = create_role(
        iam,
        "payments-ecs-host",
        managed_policy_arns=(ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN),
    )
    payments_profile_arn = create_instance_profile(iam, "payments-ecs-host", "payments-ecs-host")
    payments_cluster_arn = create_cluster(ecs, "payments")
    payments_host = launch_instance(
        ec2,
        profile_arn=payments_profile_arn,
        subnet_id=subnet_id,
        tags={"Name": "payments-ecs-host"},
        user_data=_ecs_user_data("payments", block_imds_for_awsvpc=True),
    )
    payments_ci = register_container_instance(ecs, ec2, "payments", payments_host)

    # Task and execution roles.
    execution_role_arn = create_role(
        iam,
        "ecs-task-execution",
        trust_service=ECS_TASKS_SERVICE,
        managed_policy_arns=(ECS_TASK_EXECUTION_POLICY_ARN,),
    )
    checkout_queue_policy_arn = create_customer_policy(
        iam,
        "checkout-queue",
        policy_document(
            allow(["sqs:SendMessage"], [f"arn:aws:sqs:{region}:{account_id}:checkout"])
        ),
    )
    checkout_role_arn = create_role(
        iam,
        "checkout-task",
        trust_service=ECS_TASKS_SERVICE,
        managed_policy_arns=(checkout_queue_policy_arn,),
    )
    billing_role_arn = create_role(
        iam,
        "billing-shared",
        trust_service=ECS_TASKS_SERVICE,
        managed_policy_arns=(ECS_TASK_EXECUTION_POLICY_ARN,),
        inline_policies={
            "billing-bucket": policy_document(
                allow(["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::billing-exports/*"])
            )
        },
    )

    # Task definitions.
    orders_api_td = register_task_definition(
        ecs, "orders-api", execution_role_arn=execution_role_arn
    )
    checkout_td = register_task_definition(
        ecs,
        "checkout",
        task_role_arn=checkout_role_arn,
        execution_role_arn=execution_role_arn,
        network_mode="awsvpc",
    )
    billing_td = register_task_definition(
        ecs, "billing", task_role_arn=billing_role_arn, execution_role_arn=billing_role_arn
    )
    reports_td = register_task_definition(
        ecs,
        "reports",
        execution_role_arn=execution_role_arn,
        network_mode="awsvpc",
        compatibilities=("FARGATE",),
    )

    # The service "orders" and its task on the IMDSv1 shop host; checkout on payments.
    orders_service_arn = create_service(ecs, "shop", "orders", orders_api_td)
    orders_api_task = run_task(
        ecs, "shop", orders_api_td, container_instance_arn=shop_imdsv1_ci, group="service:orders"
    )
    checkout_task = run_task(
        ecs,
        "payments",
        checkout_td,
        container_instance_arn=payments_ci,
        subnet_id=subnet_id,
        security_group_ids=[default_security_group(ec2, subnet_id)],
    )

    # Plain EC2 instances.
    legacy_batch = launch_instance(ec2, subnet_id=subnet_id, tags={"Name": "legacy-batch"})
    orphan_profile_arn = create_instance_profile(iam, "orphan-profile", None)
    orphan_instance = launch_instance(
        ec2, profile_arn=orphan_profile_arn, subnet_id=subnet_id, tags={"Name": "orphan-app"}
    )
    reporting_role_arn = create_role(
        iam, "reporting-app", managed_policy_arns=(S3_READ_ONLY_POLICY_ARN,)
    )
    reporting_profile_arn = create_instance_profile(iam, "reporting-app", "reporting-app")
    reporting_instance = launch_instance(
        ec2, profile_arn=reporting_profile_arn, subnet_id=subnet_id, tags={"Name": "reporting-app"}
    )
    exemption_until = (today + timedelta(days=30)).isoformat()
    exempt_instance = launch_instance(
        ec2,
        subnet_id=subnet_id,
        tags={
            "Name": "vendor-appliance",
            EXEMPT_UNTIL_TAG: exemption_until,
            EXEMPT_REASON_TAG: EXEMPTION_REASON,
        },
    )
    expired_until = (today - timedelta(days=10)).isoformat()
    expired_instance = launch_instance(
        ec2,
        subnet_id=subnet_id,
        tags={
            "Name": "old-vendor-appliance",
            EXEMPT_UNTIL_TAG: expired_until,
            EXEMPT_REASON_TAG: EXEMPTION_REASON,
        },
    )

    return DemoAccount(
        account_id=account_id,
        region=region,
        shop_cluster_arn=shop_cluster_arn,
        shop_host_role_arn=shop_role_arn,
        shop_host_profile_arn=shop_profile_arn,
        shop_host_imdsv1_instance_id=shop_hosts["optional"],
        shop_host_imdsv2_instance_id=shop_hosts["required"],
        shop_host_imdsv1_container_instance_arn=shop_imdsv1_ci,
        shop_host_imdsv2_container_instance_arn=shop_imdsv2_ci,
        orders_table_arn=orders_table_arn,
        payments_cluster_arn=payments_cluster_arn,
        payments_host_role_arn=payments_role_arn,
        payments_host_profile_arn=payments_profile_arn,
        payments_host_instance_id=payments_host,
        payments_host_container_instance_arn=payments_ci,
        task_execution_role_arn=execution_role_arn,
        checkout_task_role_arn=checkout_role_arn,
        billing_shared_role_arn=billing_role_arn,
        orders_api_task_definition_arn=orders_api_td,
        checkout_task_definition_arn=checkout_td,
        billing_task_definition_arn=billing_td,
        reports_task_definition_arn=reports_td,
        orders_api_task_arn=orders_api_task,
        checkout_task_arn=checkout_task,
        orders_service_arn=orders_service_arn,
        legacy_batch_instance_id=legacy_batch,
        orphan_profile_arn=orphan_profile_arn,
        orphan_profile_instance_id=orphan_instance,
        reporting_app_role_arn=reporting_role_arn,
        reporting_app_profile_arn=reporting_profile_arn,
        reporting_app_instance_id=reporting_instance,
        exempt_instance_id=exempt_instance,
        exemption_until=exemption_until,
        expired_exemption_instance_id=expired_instance,
        expired_exemption_until=expired_until,
    )


def _ecs_user_data(cluster: str, *, block_imds_for_awsvpc: bool = False) -> str:
    lines = ["#!/bin/bash", f"echo ECS_CLUSTER={cluster} >> /etc/ecs/ecs.config"]
    if block_imds_for_awsvpc:
        lines.append("echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config")
    return "\n".join(lines) + "\n"
