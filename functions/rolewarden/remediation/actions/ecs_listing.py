"""Every service or task of a region's clusters, described: the listing every ECS action
that looks for what runs a revision or a role walks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from rolewarden.aws.errors import call, pages
from rolewarden.remediation.change import ActionError

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient


def described_services(ecs: ECSClient) -> Iterator[Mapping[str, Any]]:
    return _described(ecs, "list_services", "serviceArns", "DescribeServices", "services", 10)


def described_running_tasks(ecs: ECSClient) -> Iterator[Mapping[str, Any]]:
    return _described(
        ecs, "list_tasks", "taskArns", "DescribeTasks", "tasks", 100, desiredStatus="RUNNING"
    )


def _described(
    ecs: ECSClient,
    listing: Any,
    listed: str,
    describing: str,  # the operation, DescribeServices or DescribeTasks
    described: str,
    batch: int,  # how many ARNs the describe call takes
    **filters: str,
) -> Iterator[Mapping[str, Any]]:
    describe = getattr(ecs, "describe_" + described)
    clusters = pages(ActionError, "ecs:list_clusters", ecs.get_paginator("list_clusters").paginate)
    for cluster in (arn for page in clusters for arn in page["clusterArns"]):
        paginate = ecs.get_paginator(listing).paginate
        found = pages(ActionError, f"ecs:{listing}", paginate, cluster=cluster, **filters)
        arns = [arn for page in found for arn in page[listed]]
        for start in range(0, len(arns), batch):
            chunk = {described: arns[start : start + batch]}
            yield from call(ActionError, f"ecs:{describing}", describe, cluster=cluster, **chunk)[
                described
            ]
