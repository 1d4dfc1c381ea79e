"""Policy documents as IAM holds them: the exact text, not botocore's dict of it.

IAM returns a document URL-encoded, as it was written (whitespace, key order, escapes).
botocore decodes it into a dict by default; these read it with that decoding off, so
what undo puts back is byte for byte what was there.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.remediation.change import ActionError


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


def default_version(clients: AwsClients, policy_arn: str) -> dict[str, Any]:
    """A managed policy's default version (GetPolicy, then GetPolicyVersion), as IAM
    returns it: `VersionId` and its `Document`, decoded by botocore."""
    iam = clients.client("iam")
    policy = call(ActionError, "iam:GetPolicy", iam.get_policy, PolicyArn=policy_arn)["Policy"]
    version: dict[str, Any] = call(
        ActionError,
        "iam:GetPolicyVersion",
        iam.get_policy_version,
        PolicyArn=policy_arn,
        VersionId=policy["DefaultVersionId"],
    )["PolicyVersion"]
    return version


def decoded(text: str) -> str:
    return unquote(text)  # what botocore's decoding does before json.loads, and only that


def parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise ActionError(f"IAM returned a policy document that is not JSON: {error}") from error
