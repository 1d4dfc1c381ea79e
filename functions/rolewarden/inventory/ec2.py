"""EC2 readers: live instances with their profile and metadata options; user data."""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import InventoryError, call, pages
from rolewarden.aws.tags import tag_dict
from rolewarden.inventory.snapshot import LIVE_INSTANCE_STATES, Instance, MetadataOptions

PAGE_SIZE = 1000
# The ECS agent setting in user data that decides whether awsvpc tasks can reach IMDS.
BLOCK_IMDS = "ECS_AWSVPC_BLOCK_IMDS"
AGENT_SETTING = re.compile(r"\bECS_AWSVPC_BLOCK_IMDS\s*=\s*[\"']?(?P<value>[A-Za-z]+)")
BOTTLEROCKET_SETTING = re.compile(r"^awsvpc-block-imds\s*=\s*[\"']?(?P<value>[A-Za-z]+)")
GZIP_MAGIC = b"\x1f\x8b"
GZIP_WBITS = 31
MAX_USER_DATA = 1 << 20  # user data is at most 16 KB; never inflate a bomb


def read_instances(
    clients: AwsClients,
    region: str,
    account: str,
    partition: str,
    instance_ids: Iterable[str] | None = None,
    *,
    profile_arns: Iterable[str] | None = None,
) -> dict[str, Instance]:
    """Instances in every state but terminated (all, the ids given, or those using the
    instance profiles given)."""
    ec2 = clients.client("ec2", region)
    arguments: dict[str, Any] = {
        "Filters": [{"Name": "instance-state-name", "Values": list(LIVE_INSTANCE_STATES)}]
    }
    if instance_ids is not None:
        ids = sorted(set(instance_ids))
        if not ids:
            return {}
        # A filter, not InstanceIds: one id not visible yet (or terminated) would fail them all.
        arguments["Filters"].append({"Name": "instance-id", "Values": ids})
    if profile_arns is not None:
        arns = sorted(set(profile_arns))
        if not arns:
            return {}
        arguments["Filters"].append({"Name": "iam-instance-profile.arn", "Values": arns})
    if instance_ids is None and profile_arns is None:
        arguments["MaxResults"] = PAGE_SIZE
    instances: dict[str, Instance] = {}
    paginate = ec2.get_paginator("describe_instances").paginate
    for page in pages(InventoryError, "ec2:DescribeInstances", paginate, **arguments):
        for reservation in page.get("Reservations", []):
            for raw in reservation.get("Instances", []):
                instance = _instance(raw, region, account, partition)
                instances[instance.instance_id] = instance
    return instances


def read_ecs_agent_settings(clients: AwsClients, region: str, instance_id: str) -> dict[str, str]:
    """The ECS agent settings an instance's user data sets (see `parse_ecs_agent_settings`)."""
    ec2 = clients.client("ec2", region)
    response = call(
        InventoryError,
        "ec2:DescribeInstanceAttribute",
        ec2.describe_instance_attribute,
        InstanceId=instance_id,
        Attribute="userData",
    )
    encoded = response.get("UserData", {}).get("Value")
    if not encoded:
        return {}
    try:
        raw = base64.b64decode(encoded)
        if raw[:2] == GZIP_MAGIC:  # cloud-init accepts gzip-compressed user data
            raw = zlib.decompressobj(wbits=GZIP_WBITS).decompress(raw, MAX_USER_DATA)
    except (binascii.Error, zlib.error, ValueError) as error:
        operation = "ec2:DescribeInstanceAttribute"
        raise InventoryError(
            f"{operation}: user data unreadable: {error}", operation=operation
        ) from error
    return parse_ecs_agent_settings(raw.decode("utf-8", errors="replace"))


def parse_ecs_agent_settings(user_data: str) -> dict[str, str]:
    """`ECS_AWSVPC_BLOCK_IMDS`, however user data sets it (lower-cased value).

    Amazon Linux: `ECS_AWSVPC_BLOCK_IMDS=true` in /etc/ecs/ecs.config (echo, heredoc,
    export); Bottlerocket: `awsvpc-block-imds = true` in its TOML settings. Comment lines
    do not count; the last assignment wins, as it would in the file.
    """
    settings: dict[str, str] = {}
    for line in user_data.splitlines():
        text = line.strip()
        if text.startswith("#"):
            continue
        found = AGENT_SETTING.search(text) or BOTTLEROCKET_SETTING.search(text)
        if found:
            settings[BLOCK_IMDS] = found.group("value").lower()
    return settings


def _instance(raw: Mapping[str, Any], region: str, account: str, partition: str) -> Instance:
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
        tags=tag_dict(raw.get("Tags")),
    )
