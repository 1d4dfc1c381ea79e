"""What AWS would be asked: page sizes from the AWS API references, and the minimum.

moto answers a list call with everything in one page whatever the page size asked, so a
call counted against moto can stand for several calls against AWS. `aws_calls` turns
one emulator answer into the number of calls AWS needs for it: the items returned,
divided by the page size the request asked for (or the API's default), capped at the
API's documented maximum.

`minimum_sweep_calls` is the fewest calls that can see an account: one paginated read
per list at the maximum page size, batches as large as each batch API allows, and one
call per item only where AWS offers no batch API.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from benchmarks.accounts import AccountCounts

SNS_PUBLISH_BATCH = 10
DYNAMODB_BATCH_GET, DYNAMODB_BATCH_WRITE = 100, 25
DYNAMODB_TRANSACTION = 100  # conditional updates (marks announced), TransactWriteItems
DYNAMODB_SCAN_PAGE_BYTES = 1 << 20  # Scan stops at 1 MB of items


def _keys(*names: str) -> Callable[[Mapping[str, Any]], int]:
    return lambda response: sum(len(response.get(name) or []) for name in names)


def _instances(response: Mapping[str, Any]) -> int:
    return sum(len(r.get("Instances", [])) for r in response.get("Reservations", []))


@dataclass(frozen=True)
class PageRule:
    parameter: str  # the request's page size parameter
    default: int
    maximum: int
    items: Callable[[Mapping[str, Any]], int]

    def calls(self, request: Mapping[str, Any], response: Mapping[str, Any]) -> int:
        asked = request.get(self.parameter) or self.default
        return max(1, math.ceil(self.items(response) / min(int(asked), self.maximum)))


_IAM_LIST = (100, 1000)  # IAM: MaxItems defaults to 100, at most 1000
PAGE_RULES: dict[tuple[str, str], PageRule] = {
    ("iam", "GetAccountAuthorizationDetails"): PageRule(
        "MaxItems",
        *_IAM_LIST,
        _keys("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"),
    ),
    ("iam", "ListPolicies"): PageRule("MaxItems", *_IAM_LIST, _keys("Policies")),
    ("iam", "ListInstanceProfiles"): PageRule("MaxItems", *_IAM_LIST, _keys("InstanceProfiles")),
    ("iam", "ListEntitiesForPolicy"): PageRule(
        "MaxItems", *_IAM_LIST, _keys("PolicyGroups", "PolicyUsers", "PolicyRoles")
    ),
    ("iam", "ListRolePolicies"): PageRule("MaxItems", *_IAM_LIST, _keys("PolicyNames")),
    ("iam", "ListAttachedRolePolicies"): PageRule(
        "MaxItems", *_IAM_LIST, _keys("AttachedPolicies")
    ),
    ("iam", "ListInstanceProfilesForRole"): PageRule(
        "MaxItems", *_IAM_LIST, _keys("InstanceProfiles")
    ),
    # Without MaxResults AWS pages DescribeInstances at its maximum, 1000.
    ("ec2", "DescribeInstances"): PageRule("MaxResults", 1000, 1000, _instances),
    ("ecs", "ListClusters"): PageRule("maxResults", 100, 100, _keys("clusterArns")),
    ("ecs", "ListContainerInstances"): PageRule(
        "maxResults", 100, 100, _keys("containerInstanceArns")
    ),
    ("ecs", "ListTasks"): PageRule("maxResults", 100, 100, _keys("taskArns")),
    ("ecs", "ListServices"): PageRule("maxResults", 10, 100, _keys("serviceArns")),
    ("ecs", "ListTaskDefinitions"): PageRule("maxResults", 100, 100, _keys("taskDefinitionArns")),
}


def aws_calls(
    service: str, operation: str, request: Mapping[str, Any], response: Mapping[str, Any]
) -> int:
    """How many calls AWS needs to return what the emulator returned in one."""
    rule = PAGE_RULES.get((service, operation))
    if rule is None:
        return 1
    return rule.calls(request, response)


def pages(items: int, page_size: int) -> int:
    """A list call: at least one, even for nothing."""
    return max(1, math.ceil(items / page_size))


def batches(items: int, batch_size: int) -> int:
    """A batch call: none when there is nothing to ask about."""
    return math.ceil(items / batch_size)


def minimum_sweep_calls(
    counts: AccountCounts, findings: int, announced: int, table_bytes: int
) -> dict[str, int]:
    """The fewest calls per service of one sweep of the account (one region).

    `findings` are recorded in the findings table, `announced` of them are announced
    (one SNS message each, plus the digest) and marked so with a conditional update,
    `table_bytes` is what the sweep's Scan of the findings table reads.
    """
    iam = pages(counts.roles + counts.customer_policies, 1000)  # GetAccountAuthorizationDetails
    if counts.aws_policy_documents:
        # Default versions: one ListPolicies of the attached AWS policies, or a GetPolicy
        # each, whichever is fewer; then one GetPolicyVersion per document.
        default_versions = min(
            pages(counts.attached_aws_policies, 1000), counts.aws_policy_documents
        )
        iam += default_versions + counts.aws_policy_documents
    if counts.roleless_profiles_in_use:
        iam += pages(counts.instance_profiles, 1000)  # profiles no role shows
    ec2 = pages(counts.live_instances, 1000) + counts.user_data_reads  # no batch for user data
    ecs = pages(len(counts.clusters), 100) + pages(counts.active_task_definitions, 100)
    for cluster in counts.clusters:
        hosts = counts.container_instances[cluster]
        tasks = counts.running_tasks[cluster]
        services = counts.services[cluster]
        ecs += pages(hosts, 100) + batches(hosts, 100)  # List/DescribeContainerInstances
        ecs += pages(tasks, 100) + batches(tasks, 100)  # ListTasks, DescribeTasks
        ecs += pages(services, 100) + batches(services, 10)  # ListServices, DescribeServices
    ecs += counts.active_task_definitions  # DescribeTaskDefinition has no batch form
    dynamodb = (
        batches(findings, DYNAMODB_BATCH_GET)
        + batches(findings, DYNAMODB_BATCH_WRITE)
        + batches(announced, DYNAMODB_TRANSACTION)
        + pages(table_bytes, DYNAMODB_SCAN_PAGE_BYTES)
    )
    sns = batches(announced, SNS_PUBLISH_BATCH) + 1  # the messages, then the digest
    return {"dynamodb": dynamodb, "ec2": ec2, "ecs": ecs, "iam": iam, "sns": sns, "sts": 1}
