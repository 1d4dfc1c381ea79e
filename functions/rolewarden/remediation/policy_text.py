"""Policy documents as IAM holds them: the exact text, not botocore's dict of it.

IAM returns a document URL-encoded, as it was written (whitespace, key order, escapes).
botocore decodes it into a dict by default; these read it with that decoding off, so
what undo puts back is byte for byte what was there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.remediation.change import ActionError

if TYPE_CHECKING:
    from mypy_boto3_iam.type_defs import PolicyVersionTypeDef


def role_policy_text(clients: AwsClients, role_name: str, policy_name: str) -> str:
    """An inline policy's text (GetRolePolicy; its error code is the caller's to judge)."""
    response = call(
        ActionError,
        "iam:GetRolePolicy",
        clients.iam_policy_text().get_role_policy,
        RoleName=role_name,
        PolicyName=policy_name,
    )
    return decoded(response["PolicyDocument"])


def policy_version_text(clients: AwsClients, policy_arn: str, version_id: str) -> str:
    """A managed policy version's text, for an undo that creates that version again."""
    response = call(
        ActionError,
        "iam:GetPolicyVersion",
        clients.iam_policy_text().get_policy_version,
        PolicyArn=policy_arn,
        VersionId=version_id,
    )
    return decoded(response["PolicyVersion"]["Document"])


def default_version(clients: AwsClients, policy_arn: str) -> PolicyVersionTypeDef:
    """A managed policy's default version (GetPolicy, then GetPolicyVersion), as IAM
    returns it: `VersionId` and its `Document`, decoded by botocore."""
    iam = clients.client("iam")
    policy = call(ActionError, "iam:GetPolicy", iam.get_policy, PolicyArn=policy_arn)["Policy"]
    return call(
        ActionError,
        "iam:GetPolicyVersion",
        iam.get_policy_version,
        PolicyArn=policy_arn,
        VersionId=policy["DefaultVersionId"],
    )["PolicyVersion"]


def decoded(text: str | Mapping[str, Any]) -> str:
    if not isinstance(text, str):  # iam_policy_text() leaves documents as text: never here
        raise ActionError("IAM's policy text was decoded on the way: it cannot be kept as is")
    return unquote(text)  # what botocore's decoding does before json.loads, and only that


def parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise ActionError(f"IAM returned a policy document that is not JSON: {error}") from error
