"""Split a mixed policy: keep its baseline statements, remove its application ones.

The finding proposes the baseline-only document (policy/classify.py), computed from the
policy as it read it; `source` names that reading (a managed policy's default version id,
an inline document's digest) and the plan refuses a policy changed since: a split of its
older self would undo someone's edit.

- Customer managed: a new default version holds the baseline-only document; the old one
  is kept, so undo makes it the default again and deletes the version RoleWarden made.
  A policy at IAM's 5 versions is refused, not trimmed: every version is one a person may
  roll back to, and RoleWarden deletes only what it created. The pre-flight names the
  other roles, users and groups the policy is attached to: the new version changes them
  too, so only a person decides (--force). CreatePolicyVersion is sent once
  (lost_reply.py): the journal holds the versions there were and the split document's
  digest before the call, and after a lost reply, or when the journal never learned the
  version (a crash), the new version holding that document is adopted, and undone.
- AWS managed: AWS owns its versions, so it cannot be split: refused (a person detaches it).
- Inline: the baseline-only document is put in its place; the original is in `before`
  (journaled first), and undo puts it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Self
from urllib.parse import unquote

from pydantic import Field, model_validator

from rolewarden.aws.arn import is_aws_managed_policy
from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call, pages
from rolewarden.policy.digest import document_digest
from rolewarden.remediation.actions.delete_inline_policy import DeleteInlinePolicy
from rolewarden.remediation.change import (
    Action,
    ActionError,
    ActionRefusedError,
    Change,
    State,
)
from rolewarden.remediation.lost_reply import create_once
from rolewarden.remediation.params import ActionParams
from rolewarden.remediation.policy_text import default_version
from rolewarden.settings import Settings

MAX_VERSIONS = 5  # IAM's limit per managed policy
JUDGE_AGAIN = "scan again for a split of what it is now"


class SplitSource(ActionParams):
    """The reading the split was made from."""

    version_id: str | None = None  # a managed policy's default version
    sha256: str | None = None  # an inline policy's document digest


class SplitMixedPolicyParams(ActionParams):
    role_name: str
    document: dict[str, Any]  # the baseline-only document
    policy_arn: str | None = None  # a managed policy; else the inline `policy_name`
    policy_name: str | None = None
    source: SplitSource = Field(default_factory=SplitSource)

    @model_validator(mode="after")
    def _names_a_policy(self) -> Self:
        if not (self.policy_arn or self.policy_name):
            raise ValueError("names neither a policy_arn nor a policy_name")
        return self


class SplitMixedPolicy(Action[SplitMixedPolicyParams]):
    name = "split-mixed-policy"
    permissions = (
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:ListPolicyVersions",
        "iam:ListEntitiesForPolicy",
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",  # undo
        "iam:DeletePolicyVersion",  # undo: only the version RoleWarden created
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:PutRolePolicy",
    )
    params_type = SplitMixedPolicyParams

    def plan(
        self, clients: AwsClients, region: str, params: SplitMixedPolicyParams
    ) -> Change | None:
        if not params.document.get("Statement"):
            raise ActionRefusedError(f"the split of {_policy(params)} keeps no statement")
        if params.policy_arn:
            return _plan_managed(self.name, clients, region, params, params.policy_arn)
        return _plan_inline(self.name, clients, region, params, params.policy_name or "")

    def apply(self, clients: AwsClients, change: Change) -> Change:
        iam = clients.client("iam")
        target, document = change.target, json.dumps(change.after["document"])
        if "policy_arn" not in target:
            call(
                ActionError,
                "iam:PutRolePolicy",
                iam.put_role_policy,
                RoleName=target["role_name"],
                PolicyName=target["policy_name"],
                PolicyDocument=document,
            )
            return change
        created = _create_version(clients, target, document)
        return change.with_after(
            {**change.after, "default_version": created}, created_version=created
        )

    def read(self, clients: AwsClients, change: Change) -> State:
        if "policy_arn" not in change.target:
            return _INLINE.read(clients, change)
        return _read_managed(clients, change.target["policy_arn"])

    def undo(self, clients: AwsClients, change: Change) -> None:
        if "policy_arn" not in change.target:
            _INLINE.undo(clients, change)  # puts `before`'s document back
            return
        iam = clients.client("iam")
        arn, old = change.target["policy_arn"], change.before["default_version"]
        call(
            ActionError,
            "iam:SetDefaultPolicyVersion",
            iam.set_default_policy_version,
            PolicyArn=arn,
            VersionId=old,
        )
        created = change.target.get("created_version")
        if not created:  # a crash kept it from the journal: the version is found again
            found = _created(clients, change.target)
            created = found["VersionId"] if found else None
        if created and created != old:
            call(
                ActionError,
                "iam:DeletePolicyVersion",
                iam.delete_policy_version,
                PolicyArn=arn,
                VersionId=created,
            )

    def preflight(
        self, clients: AwsClients, change: Change, settings: Settings, now: datetime
    ) -> list[str]:
        if "policy_arn" not in change.target:
            return []  # an inline policy is the role's alone
        arn = change.target["policy_arn"]
        try:
            others = _other_users(clients, arn, change.target["role_name"])
        except ActionError as error:
            return [f"who else uses {arn} is unknown ({error}): its new version changes them too"]
        if not others:
            return []
        return [
            f"shared policy: {arn} is also attached to {', '.join(others)}; its new version "
            "takes the application permissions from them too"
        ]


_INLINE = DeleteInlinePolicy()  # the same read of an inline policy, and the same undo


def _plan_managed(
    name: str, clients: AwsClients, region: str, params: SplitMixedPolicyParams, arn: str
) -> Change | None:
    document = params.document
    if is_aws_managed_policy(arn):
        raise ActionRefusedError(
            f"{arn} is an AWS managed policy: AWS owns its versions, so it cannot be split; a "
            "person detaches it (after attaching the proposed baseline-only document as a "
            "policy of their own)"
        )
    before = _read_managed(clients, arn)
    if before["document"] == document:
        return None
    source = params.source.version_id
    if before["default_version"] != source:
        raise ActionRefusedError(
            f"{arn} changed since it was judged (default version {source}, now "
            f"{before['default_version']}): {JUDGE_AGAIN}"
        )
    # What tells the version it creates from the others, should its reply be lost.
    target = {
        "role_name": params.role_name,
        "policy_arn": arn,
        "versions_before": _room_for_a_version(clients, arn),
        "document_digest": document_digest(document),
    }
    return Change(
        name,
        region,
        target,
        before=before,
        after={"document": document},
        summary=f"split {arn} on role {params.role_name}: a new default version keeps its "
        f"baseline statements only ({before['default_version']} is kept, for undo)",
    )


def _plan_inline(
    name: str, clients: AwsClients, region: str, params: SplitMixedPolicyParams, policy: str
) -> Change | None:
    document = params.document
    target = {"role_name": params.role_name, "policy_name": policy}
    current = _INLINE.read(clients, Change(name, region, target, before={}, after={}))["document"]
    if current is None or current == document:
        return None  # deleted, or split already: nothing of the application's is left
    if document_digest(current) != params.source.sha256:
        raise ActionRefusedError(
            f"inline policy {policy} of role {params.role_name} changed "
            f"since it was judged: {JUDGE_AGAIN}"
        )
    return Change(
        name,
        region,
        target,
        before={"document": current},
        after={"document": document},
        summary=f"split inline policy {policy} of role {params.role_name}: "
        "keep its baseline statements only (its document is kept in the journal)",
    )


def _read_managed(clients: AwsClients, arn: str) -> State:
    """The default version, and its document."""
    version = default_version(clients, arn)
    return {"default_version": version["VersionId"], "document": _decoded(version["Document"])}


def _room_for_a_version(clients: AwsClients, arn: str) -> list[str]:
    """The policy's version ids, when there is room for one more."""
    iam = clients.client("iam")
    versions = call(ActionError, "iam:ListPolicyVersions", iam.list_policy_versions, PolicyArn=arn)[
        "Versions"
    ]
    if len(versions) >= MAX_VERSIONS:
        older = sorted(v["VersionId"] for v in versions if not v["IsDefaultVersion"])
        raise ActionRefusedError(
            f"{arn} has {len(versions)} versions, the most IAM keeps: RoleWarden deletes none "
            f"(each is one a person may roll back to); delete one no longer needed "
            f"({', '.join(older)} are not the default), then remediate again"
        )
    return sorted(str(version["VersionId"]) for version in versions)


def _create_version(clients: AwsClients, target: Mapping[str, Any], document: str) -> str:
    """CreatePolicyVersion once; after a lost reply, the version it made is adopted."""
    iam = clients.single_attempt("iam")  # botocore would retry blind
    arn = target["policy_arn"]

    def create() -> str:
        created = iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=document, SetAsDefault=True
        )
        return str(created["PolicyVersion"]["VersionId"])

    def adopt() -> str | None:
        found = _created(clients, target)
        if found and not found["IsDefaultVersion"]:  # the lost call asked for the default
            call(
                ActionError,
                "iam:SetDefaultPolicyVersion",
                clients.client("iam").set_default_policy_version,
                PolicyArn=arn,
                VersionId=found["VersionId"],
            )
        return str(found["VersionId"]) if found else None

    digest = target.get("document_digest")
    others = ", ".join(target.get("versions_before", []))
    return create_once(
        "iam:CreatePolicyVersion",
        create,
        adopt if "versions_before" in target else None,  # None: journaled before it was kept
        looked_for=f"a version of {arn} besides {others} with the split's sha256 {digest}",
    )


def _created(clients: AwsClients, target: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The version beyond `versions_before` holding the split document (by its digest), as
    ListPolicyVersions lists it; newest first, should there be more."""
    if "versions_before" not in target:
        return None
    iam, arn = clients.client("iam"), target["policy_arn"]
    listed = call(ActionError, "iam:ListPolicyVersions", iam.list_policy_versions, PolicyArn=arn)
    new = [v for v in listed["Versions"] if v["VersionId"] not in target["versions_before"]]
    for version in sorted(new, key=lambda v: _version_number(v["VersionId"]), reverse=True):
        document = call(
            ActionError,
            "iam:GetPolicyVersion",
            iam.get_policy_version,
            PolicyArn=arn,
            VersionId=version["VersionId"],
        )["PolicyVersion"]["Document"]
        if document_digest(document) == target["document_digest"]:
            return dict(version)
    return None


def _version_number(version_id: str) -> int:
    """v12 -> 12: IAM numbers its versions v1, v2, ..."""
    digits = version_id.lstrip("v")
    return int(digits) if digits.isdigit() else 0


def _other_users(clients: AwsClients, arn: str, role_name: str) -> list[str]:
    """Every role, user and group the policy is attached to, but this role."""
    iam = clients.client("iam")
    listed: Iterable[Mapping[str, Any]] = pages(
        ActionError,
        "iam:ListEntitiesForPolicy",
        iam.get_paginator("list_entities_for_policy").paginate,
        PolicyArn=arn,
    )
    entities = [
        f"{label} {item[key]}"
        for page in listed
        for kind, key, label in (
            ("PolicyRoles", "RoleName", "role"),
            ("PolicyUsers", "UserName", "user"),
            ("PolicyGroups", "GroupName", "group"),
        )
        for item in page.get(kind, [])
    ]
    return sorted(entity for entity in entities if entity != f"role {role_name}")


def _decoded(document: str | Mapping[str, Any]) -> Any:
    return json.loads(unquote(document)) if isinstance(document, str) else document


def _policy(params: SplitMixedPolicyParams) -> str:
    return params.policy_arn or f"inline policy {params.policy_name}"
