"""Is a resource managed by a CloudFormation stack? Then its template must be fixed: a
change RoleWarden made on its own would be undone by the next stack update.

CloudFormation tags the instances it creates (`aws:cloudformation:stack-name`, which the
rules read) but not IAM roles, so before an automatic change RoleWarden asks
CloudFormation by the resource's physical id; and, since a stack may put an inline policy
on a role it does not own, it reads the stacks' templates for such policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rolewarden.aws.arn import Arn
from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call, pages
from rolewarden.remediation.change import ActionError
from rolewarden.remediation.stack_templates import (
    InlinePolicy,
    TemplateError,
    inline_policies,
    load_template,
)
from rolewarden.rules.model import Finding

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient


GONE = ("DELETE_COMPLETE", "DELETE_IN_PROGRESS")  # a stack being deleted puts nothing back
NO_ECHO = "****"


def physical_id(finding: Finding) -> str:
    """The id CloudFormation knows the resource by: a role's name, an instance's id, an ARN."""
    if finding.resource_type == "AWS::IAM::Role":
        return Arn.parse(finding.resource_arn).name
    if finding.resource_type == "AWS::EC2::Instance":
        return finding.resource_id
    return finding.resource_arn


def owning_stack(clients: AwsClients, region: str, resource_id: str) -> str | None:
    cloudformation = clients.client("cloudformation", region)
    try:
        response = call(
            ActionError,
            "cloudformation:DescribeStackResources",
            cloudformation.describe_stack_resources,
            PhysicalResourceId=resource_id,
        )
    except ActionError as error:
        if error.code == "ValidationError" and "does not exist" in str(error):
            return None  # no stack has it
        raise
    resources = response.get("StackResources", [])
    return str(resources[0]["StackName"]) if resources else None


@dataclass(frozen=True)
class StackPolicies:
    """A stack's inline-policy resources, or why its template could not be read."""

    stack: str
    policies: tuple[InlinePolicy, ...] = ()
    unreadable: str | None = None


def inline_policy_stacks(
    clients: AwsClients, region: str, account: str, partition: str
) -> list[StackPolicies]:
    """The region's stacks that put inline policies on roles, read from their templates.

    An inline policy a stack puts on a role it does not own has no physical id naming the
    role (AWS::IAM::Policy's is generated), so DescribeStackResources cannot find it: the
    templates are read. Calls: cloudformation:DescribeStacks (paginated) for the stacks
    not deleted and their parameter values, then one cloudformation:GetTemplate per stack
    (TemplateStage Processed: a SAM or other transform expanded, as the stack was built)."""
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
    }
    cloudformation = clients.client("cloudformation", region)
    listed = pages(
        ActionError,
        "cloudformation:DescribeStacks",
        cloudformation.get_paginator("describe_stacks").paginate,
    )
    stacks = [stack for page in listed for stack in page.get("Stacks", [])]
    found = []
    for stack in stacks:
        if stack.get("StackStatus") in GONE:
            continue
        read = _stack_policies(cloudformation, stack, pseudo)
        if read.policies or read.unreadable:
            found.append(read)
    return found


def _stack_policies(
    cloudformation: CloudFormationClient, stack: Mapping[str, Any], region_pseudo: Mapping[str, str]
) -> StackPolicies:
    name = str(stack["StackName"])
    try:
        body = call(
            ActionError,
            "cloudformation:GetTemplate",
            cloudformation.get_template,
            StackName=stack.get("StackId", name),
            TemplateStage="Processed",
        )["TemplateBody"]
        template = load_template(body)
    except (ActionError, TemplateError) as error:
        return StackPolicies(name, unreadable=str(error))
    pseudo = {**region_pseudo, "AWS::StackName": name, "AWS::StackId": str(stack.get("StackId"))}
    return StackPolicies(name, tuple(inline_policies(template, _parameters(stack), pseudo)))


def _parameters(stack: Mapping[str, Any]) -> dict[str, str | None]:
    """The stack's parameter values; None for a NoEcho one (shown as ****): it cannot be told."""
    values: dict[str, str | None] = {}
    for parameter in stack.get("Parameters", []):
        value = parameter.get("ResolvedValue", parameter.get("ParameterValue"))
        values[str(parameter["ParameterKey"])] = None if value in (None, NO_ECHO) else str(value)
    return values
