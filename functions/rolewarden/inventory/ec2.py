"""EC2 readers: live instances with their profile and metadata options; user data."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rolewarden.inventory.aws import AwsClients, InventoryError, error_from
from rolewarden.inventory.snapshot import LIVE_INSTANCE_STATES, Instance, MetadataOptions

PAGE_SIZE = 1000
# ECS agent settings in user data that decide whether awsvpc tasks can reach IMDS.
ECS_AGENT_KEYS = ("ECS_AWSVPC_BLOCK_IMDS", "ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST")


def read_instances(
    clients: AwsClients,
    region: str,
    account: str,
    partition: str,
    instance_ids: Iterable[str] | None = None,
) -> dict[str, Instance]:
    """Instances in every state but terminated (all, or the ids given)."""
    ec2 = clients.client("ec2", region)
    arguments: dict[str, Any] = {
        "Filters": [{"Name": "instance-state-name", "Values": list(LIVE_INSTANCE_STATES)}]
    }
    if instance_ids is not None:
        arguments["InstanceIds"] = sorted(set(instance_ids))
        if not arguments["InstanceIds"]:
            return {}
    else:
        arguments["MaxResults"] = PAGE_SIZE
    instances: dict[str, Instance] = {}
    try:
        for page in ec2.get_paginator("describe_instances").paginate(**arguments):
            for reservation in page.get("Reservations", []):
                for raw in reservation.get("Instances", []):
                    instance = _instance(raw, region, account, partition)
                    instances[instance.instance_id] = instance
    except (ClientError, BotoCoreError) as error:
        raise error_from("ec2:DescribeInstances", error) from error
    return instances


def read_ecs_agent_settings(clients: AwsClients, region: str, instance_id: str) -> dict[str, str]:
    """The ECS agent variables set in an instance's user data (`KEY=value` lines)."""
    ec2 = clients.client("ec2", region)
    try:
        response = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    except (ClientError, BotoCoreError) as error:
        raise error_from("ec2:DescribeInstanceAttribute", error) from error
    encoded = response.get("UserData", {}).get("Value")
    if not encoded:
        return {}
    try:
        text = base64.b64decode(encoded).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError) as error:
        raise InventoryError(
            "ec2:DescribeInstanceAttribute", f"user data unreadable: {error}"
        ) from error
    return parse_ecs_agent_settings(text)


def parse_ecs_agent_settings(user_data: str) -> dict[str, str]:
    """Finds `ECS_X=value` however it is written (echo into ecs.config, export, plain)."""
    settings: dict[str, str] = {}
    for line in user_data.splitlines():
        for key in ECS_AGENT_KEYS:
            marker = f"{key}="
            if marker in line:
                value = line.split(marker, 1)[1].strip().strip("'\"")
                settings[key] = value.split()[0].strip("'\"").lower() if value else ""
    return settings


def _instance(raw: dict[str, Any], region: str, account: str, partition: str) -> Instance:
    options = raw.get("MetadataOptions", {})
    return Instance(
        instance_id=raw["InstanceId"],
        arn=f"arn:{partition}:ec2:{region}:{account}:instance/{raw['InstanceId']}",
        state=raw.get("State", {}).get("Name", "unknown"),
        profile_arn=raw.get("IamInstanceProfile", {}).get("Arn"),
        metadata=MetadataOptions(
            http_tokens=options.get("HttpTokens", "optional"),
            hop_limit=int(options.get("HttpPutResponseHopLimit", 1)),
            endpoint=options.get("HttpEndpoint", "enabled"),
        ),
        tags={tag["Key"]: tag["Value"] for tag in raw.get("Tags", [])},
    )
