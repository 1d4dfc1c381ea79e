"""In the stack, the journal, its key and the findings table are the stack's own.

Settings are environment variables, and an environment variable can be changed without
changing the code: pointed at another table, the journal would keep no undo (or forged
ones) and the hourly cap would start again; the findings table, silence alerts. So the
remediate function asks CloudFormation which stack it belongs to (by its own function
name: Lambda sets AWS_LAMBDA_FUNCTION_NAME, and no one can override it) and refuses to act
when a setting names anything but that stack's resource; the event, sweep and Config rule
functions, which decide with the findings table which alerts are new, refuse to start when
it is not the stack's (Wiring.findings_table). Outside a stack (the CLI, the demo, a
deployment of one's own) there is nothing to compare with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from rolewarden.aws.errors import AwsError, call
from rolewarden.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient


# setting field -> the template's logical id, and the variable a person sees
STACK_RESOURCES = {
    "journal_table": ("JournalTable", "ROLEWARDEN_JOURNAL_TABLE"),
    "journal_key": ("JournalKey", "ROLEWARDEN_JOURNAL_KEY"),
    "findings_table": ("FindingsTable", "ROLEWARDEN_FINDINGS_TABLE"),
}


class StackReadError(AwsError):
    """CloudFormation could not say which stack this function belongs to."""


def stack_resources(cloudformation: CloudFormationClient, function_name: str) -> dict[str, str]:
    """Logical id -> physical id of the stack this function belongs to ({}: no stack)."""
    try:
        response = call(
            StackReadError,
            "cloudformation:DescribeStackResources",
            cloudformation.describe_stack_resources,
            PhysicalResourceId=function_name,
        )
    except StackReadError as error:
        if error.code == "ValidationError" and "does not exist" in str(error):
            return {}
        raise
    return {
        str(resource["LogicalResourceId"]): str(resource.get("PhysicalResourceId", ""))
        for resource in response.get("StackResources", [])
    }


def foreign_settings(
    settings: Settings, resources: Mapping[str, str], fields: Iterable[str] = tuple(STACK_RESOURCES)
) -> list[str]:
    """The settings (of `fields`) that name something other than the stack's own resource."""
    problems = []
    for field in fields:
        logical_id, variable = STACK_RESOURCES[field]
        own = resources.get(logical_id)
        value = getattr(settings, field)
        if own is None or _same(value, own):
            continue
        problems.append(
            f"{variable}={value or '(unset)'} is not this stack's {logical_id} ({own}): "
            "refused, nothing is changed"
        )
    return problems


def _same(value: str | None, own: str) -> bool:
    """A table by name; a key by id or by ARN (its physical id is the key id)."""
    if value is None:
        return False
    return value == own or value.endswith(f":key/{own}")
