"""Is a resource managed by a CloudFormation stack? Then its template must be fixed: a
change RoleWarden made on its own would be undone by the next stack update.

CloudFormation tags the instances it creates (`aws:cloudformation:stack-name`, which the
rules read) but not IAM roles, so before an automatic change RoleWarden asks
CloudFormation by the resource's physical id.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from rolewarden.inventory.aws import AwsClients
from rolewarden.remediation.change import ActionError, error_code
from rolewarden.rules.model import Finding


def physical_id(finding: Finding) -> str:
    """The id CloudFormation knows the resource by: a role's name, an instance's id, an ARN."""
    if finding.resource_type == "AWS::IAM::Role":
        return finding.resource_arn.rsplit("/", 1)[-1]
    if finding.resource_type == "AWS::EC2::Instance":
        return finding.resource_id
    return finding.resource_arn


def owning_stack(clients: AwsClients, region: str, resource_id: str) -> str | None:
    cloudformation = clients.client("cloudformation", region)
    try:
        response = cloudformation.describe_stack_resources(PhysicalResourceId=resource_id)
    except ClientError as error:
        message = str(error.response.get("Error", {}).get("Message", ""))
        if error_code(error) == "ValidationError" and "does not exist" in message:
            return None  # no stack has it
        code = error_code(error)
        raise ActionError(f"cloudformation:DescribeStackResources: {error}", code) from error
    except BotoCoreError as error:
        raise ActionError(f"cloudformation:DescribeStackResources: {error}") from error
    resources = response.get("StackResources", [])
    return str(resources[0]["StackName"]) if resources else None
