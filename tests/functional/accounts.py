"""Shared helpers of the functional rule tests: the moto account, findings, roles, hosts.

One small account per rule (a class): each scenario gets its own resources, and
its compliant twin sits next to it. The account is scanned once per setting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    allow,
    create_instance_profile,
    create_role,
    launch_instance,
    policy_document,
    register_container_instance,
)
from rolewarden.evaluation.account import ScanResult

ACCOUNT = "123456789012"
REGION = "us-east-1"
TODAY_TEXT = "2030-01-01"  # conftest.TODAY
PROTECTED = {"rolewarden:protected": "true"}
EXEMPTION_REASON = "vendor appliance, ticket SEC-142"
ORDERS_TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
ORDERS_TABLE_POLICY = policy_document(
    allow(["dynamodb:GetItem", "dynamodb:PutItem"], [ORDERS_TABLE])
)
APP_INLINE = {"orders-table": ORDERS_TABLE_POLICY}

Scan = Callable[..., ScanResult]


def instance_arn(instance_id: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"


def expected_finding_id(rule: str, arn: str) -> str:
    return hashlib.sha256(f"{rule}|{arn}".encode()).hexdigest()[:16]


def finding(result: ScanResult, rule: str, arn: str) -> dict[str, Any] | None:
    """The finding of `rule` on the resource, as `scan --output json` prints it."""
    found = [f.as_json() for f in result.findings if f.rule == rule and f.resource_arn == arn]
    assert len(found) <= 1, found
    return found[0] if found else None


def assert_finding(
    found: dict[str, Any] | None,
    *,
    rule: str,
    severity: str,
    resource_type: str,
    resource_id: str,
    resource_arn: str,
    title: str,
) -> dict[str, Any]:
    assert found is not None, f"no {rule} finding for {resource_arn}"
    header = {key: found[key] for key in ("rule", "severity", "status", "account", "region")}
    assert header == {
        "rule": rule,
        "severity": severity,
        "status": "NON_COMPLIANT",
        "account": ACCOUNT,
        "region": REGION,
    }
    assert found["resource_type"] == resource_type
    assert found["resource_id"] == resource_id
    assert found["resource_arn"] == resource_arn
    assert found["finding_id"] == expected_finding_id(rule, resource_arn)
    assert found["title"] == title
    return found


@dataclass(frozen=True)
class Host:
    role_name: str
    role_arn: str
    role_id: str
    profile_arn: str
    instance_id: str
    container_instance_arn: str | None

    @property
    def instance_arn(self) -> str:
        return instance_arn(self.instance_id)


def make_role(
    session: boto3.Session,
    name: str,
    *,
    managed: tuple[str, ...] = (ECS_AGENT_POLICY_ARN,),
    inline: Mapping[str, Mapping[str, Any]] = {},
    boundary_arn: str | None = None,
    tags: Mapping[str, str] = {},
    path: str = "/",
    profile: bool = True,
) -> tuple[str, str, str | None]:
    """A role (behind a profile of the same name unless told): (arn, role id, profile arn)."""
    iam = session.client("iam")
    arn = create_role(
        iam,
        name,
        managed_policy_arns=managed,
        inline_policies=inline,
        boundary_arn=boundary_arn,
        tags=tags,
        path=path,
    )
    role_id = iam.get_role(RoleName=name)["Role"]["RoleId"]
    profile_arn = create_instance_profile(iam, name, name) if profile else None
    return arn, role_id, profile_arn


def make_host(
    session: boto3.Session,
    name: str,
    *,
    cluster: str | None = None,
    managed: tuple[str, ...] = (ECS_AGENT_POLICY_ARN,),
    inline: Mapping[str, Mapping[str, Any]] = {},
    http_tokens: str = "required",
    hop_limit: int = 1,
    user_data: str | None = None,
    instance_tags: Mapping[str, str] = {},
    metadata_no_token: float | None = 0.0,
) -> Host:
    """A role and profile named `name`, an instance with it, registered in `cluster`.

    `metadata_no_token`: the IMDSv1 calls CloudWatch shows for it an hour ago, as EC2
    publishes them (None: no data), which enforce-imdsv2's pre-flight reads."""
    ec2, ecs = session.client("ec2"), session.client("ecs")
    role_arn, role_id, profile_arn = make_role(session, name, managed=managed, inline=inline)
    assert profile_arn is not None
    instance_id = launch_instance(
        ec2,
        profile_arn=profile_arn,
        tags={"Name": name, **instance_tags},
        http_tokens=http_tokens,
        hop_limit=hop_limit,
        user_data=user_data,
    )
    container = register_container_instance(ecs, ec2, cluster, instance_id) if cluster else None
    if metadata_no_token is not None:
        put_metadata_no_token(session, instance_id, metadata_no_token)
    return Host(name, role_arn, role_id, profile_arn, instance_id, container)


def put_metadata_no_token(
    session: boto3.Session, instance_id: str, calls: float, hours_ago: float = 1
) -> None:
    session.client("cloudwatch").put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "MetadataNoToken",
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                "Timestamp": datetime.now(UTC) - timedelta(hours=hours_ago),
                "Value": calls,
            }
        ],
    )


def ecs_user_data(cluster: str, *, block_imds_for_awsvpc: bool) -> str:
    lines = ["#!/bin/bash", f"echo ECS_CLUSTER={cluster} >> /etc/ecs/ecs.config"]
    if block_imds_for_awsvpc:
        lines.append("echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config")
    return "\n".join(lines) + "\n"


def short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def moto_world(build: Callable[[boto3.Session, Scan], SimpleNamespace]) -> Any:
    """A test class's fixture `world`: what `build` puts in a fresh moto account (and the
    scans it makes of it), for all the class's tests; the account lasts as long as they do."""

    @pytest.fixture(scope="class")
    @classmethod
    def world(cls: type, moto_account: Any, scan: Scan) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            yield build(session, scan)

    return world


def live_profile_arns(ec2: Any, instance_id: str) -> list[str]:
    """The instance profiles of the instance's live associations (DescribeInstances lags in
    moto)."""
    associations = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}]
    )["IamInstanceProfileAssociations"]
    return [
        a["IamInstanceProfile"]["Arn"]
        for a in associations
        if a["State"] in ("associating", "associated")
    ]
