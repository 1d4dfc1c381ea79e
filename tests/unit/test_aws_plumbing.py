"""Plumbing that decides where calls go and what a service record means (no AWS calls)."""

from __future__ import annotations

import boto3
import pytest

from rolewarden.aws.clients import AwsClients
from rolewarden.inventory.ecs import service_launch_type


def test_global_services_use_the_home_regions_partition() -> None:
    # Given a China-partition scan with no default region configured
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name=None
    )  # no calls are made
    clients = AwsClients(session, home_region="cn-north-1")
    # When IAM and STS clients are made
    iam, sts = clients.client("iam"), clients.client("sts")
    # Then they talk to the aws-cn endpoints, not the global commercial ones
    assert iam.meta.endpoint_url.endswith(".amazonaws.com.cn")
    assert sts.meta.endpoint_url.endswith(".amazonaws.com.cn")


@pytest.mark.parametrize(
    ("service", "launch_type"),
    [
        ({"launchType": "EC2"}, "EC2"),
        ({"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]}, "FARGATE"),
        (
            {
                "capacityProviderStrategy": [
                    {"capacityProvider": "FARGATE"},
                    {"capacityProvider": "asg"},
                ]
            },
            None,
        ),
        ({}, None),
    ],
)
def test_service_on_fargate_capacity_providers_is_a_fargate_service(
    service: dict[str, object], launch_type: str | None
) -> None:
    # Given a DescribeServices record (launchType is absent with a capacity provider strategy)
    # When / Then only Fargate providers make it Fargate; anything else may land on EC2 hosts
    assert service_launch_type(service) == launch_type
