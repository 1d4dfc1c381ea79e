"""IAM readers: roles with their policies, customer and AWS managed policies, profiles.

A full read uses GetAccountAuthorizationDetails (roles, their inline policies,
attachments, boundaries and profiles, and every customer managed policy with its
versions) instead of per-role calls. AWS managed policies come separately, only
those attached, at their default version; a version's document never changes,
so documents are cached for the life of the process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from rolewarden.aws.arn import Arn, is_aws_managed_policy
from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import InventoryError, call
from rolewarden.aws.tags import tag_dict
from rolewarden.inventory.snapshot import (
    IamInventory,
    InlinePolicy,
    InstanceProfile,
    ManagedPolicy,
    Role,
    ScanError,
)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


GLOBAL = "global"
PAGE_SIZE = 1000  # IAM list calls return 100 items unless asked for more; 1000 at most
# (policy ARN, version id) -> document. AWS managed policy versions are immutable.
_AWS_POLICY_VERSIONS: dict[tuple[str, str], Any] = {}

SkipDocument = Callable[[str], bool]
FULL_READ = ["Role", "LocalManagedPolicy"]
NOT_FOUND = ("NoSuchEntity", "NoSuchEntityException")
# The IAM listings read page by page.
IamListing = Literal[
    "get_account_authorization_details",
    "list_attached_role_policies",
    "list_entities_for_policy",
    "list_instance_profiles",
    "list_instance_profiles_for_role",
    "list_policies",
    "list_role_policies",
]


def read_iam(clients: AwsClients, skip_document: SkipDocument) -> IamInventory:
    """Every role and customer managed policy, plus the AWS managed policies of instance roles.

    `skip_document` names policies whose document is not needed (baseline by identity).
    """
    inventory = IamInventory()
    iam = clients.client("iam")
    operation = "iam:GetAccountAuthorizationDetails"
    try:
        call(InventoryError, operation, _read_authorization_details, iam, inventory)
    except InventoryError as failure:
        _failed(inventory, failure, "account")
        return inventory
    # Only instance roles are judged: a task role's AWS managed policies are not read.
    attached = {
        arn
        for role in inventory.roles.values()
        if role.instance_profile_arns
        for arn in _policy_arns(role)
    }
    aws_managed = [arn for arn in attached if is_aws_managed_policy(arn)]
    # One listing gives every default version, instead of a GetPolicy per policy.
    needed = any(not skip_document(arn) for arn in aws_managed)
    versions = _attached_aws_policy_versions(clients, inventory) if needed else {}
    read_aws_managed_policies(clients, inventory, aws_managed, skip_document, versions)
    return inventory


def read_roles(
    clients: AwsClients,
    inventory: IamInventory,
    role_names: Iterable[str],
    skip_document: SkipDocument,
    *,
    skip_policies_if_unused: bool = False,
) -> None:
    """Targeted read of named roles (per-role calls; for the event-driven path).

    `skip_policies_if_unused`: a role behind no instance profile is read without its
    policies. An event names every task role that uses a policy, and no rule judges a
    role no instance uses: this saves three or more calls on each.
    """
    iam = clients.client("iam")
    for name in role_names:
        try:
            role, profiles = call(
                InventoryError, "iam:GetRole", _read_role, iam, name, skip_policies_if_unused
            )
        except InventoryError as failure:
            if failure.code not in NOT_FOUND:
                _failed(inventory, failure, name)
            continue
        inventory.roles[role.arn] = role
        for profile in profiles:  # with their roles: no GetInstanceProfile needed for them
            _add_profile(inventory, profile)
        if not role.permissions_read:
            continue
        for arn in _policy_arns(role):
            if arn in inventory.managed_policies:
                continue
            if is_aws_managed_policy(arn):
                read_aws_managed_policies(clients, inventory, [arn], skip_document)
            else:
                _read_customer_policy(clients, inventory, arn)


def read_instance_profiles(
    clients: AwsClients, inventory: IamInventory, arns: Iterable[str]
) -> None:
    """Profiles not seen through a role (a profile without a role, or a deleted one)."""
    iam = clients.client("iam")
    for arn in arns:
        if arn in inventory.instance_profiles:
            continue
        name = Arn.parse(arn).name
        try:
            profile = _get_instance_profile(iam, name)
        except InventoryError as failure:
            if failure.code in NOT_FOUND:
                inventory.instance_profiles[arn] = InstanceProfile(
                    arn=arn, name=name, role_arns=(), exists=False
                )
            else:
                _failed(inventory, failure, arn)
            continue
        _add_profile(inventory, profile)


def read_all_instance_profiles(clients: AwsClients, inventory: IamInventory) -> None:
    """Every profile of the account, with or without a role. A failed listing is a scan
    error; the profiles it would have shown are then read one by one."""
    try:
        profiles = call(
            InventoryError,
            "iam:ListInstanceProfiles",
            _listed,
            clients.client("iam"),
            "list_instance_profiles",
            "InstanceProfiles",
        )
    except InventoryError as failure:
        _failed(inventory, failure, "account")
        return
    for profile in profiles:
        _add_profile(inventory, profile)


def read_instance_profile_by_name(
    clients: AwsClients, inventory: IamInventory, name: str
) -> str | None:
    """A profile by name (its ARN, or None when it is gone or unreadable)."""
    try:
        profile = _get_instance_profile(clients.client("iam"), name)
    except InventoryError as failure:
        if failure.code not in NOT_FOUND:
            _failed(inventory, failure, name)
        return None
    _add_profile(inventory, profile)
    arn: str = profile["Arn"]
    return arn


def roles_using_policy(clients: AwsClients, inventory: IamInventory, policy_arn: str) -> list[str]:
    """Names of the roles a managed policy is attached to, or is the boundary of."""
    try:
        roles = call(
            InventoryError,
            "iam:ListEntitiesForPolicy",
            _listed,
            clients.client("iam"),
            "list_entities_for_policy",
            "PolicyRoles",
            PolicyArn=policy_arn,
            EntityFilter="Role",
        )
    except InventoryError as failure:
        if failure.code not in NOT_FOUND:
            _failed(inventory, failure, policy_arn)
        return []
    return sorted({role["RoleName"] for role in roles})


def read_aws_managed_policies(
    clients: AwsClients,
    inventory: IamInventory,
    arns: Iterable[str],
    skip_document: SkipDocument,
    default_versions: Mapping[str, str] | None = None,
) -> None:
    """Documents at their default version, found with GetPolicy, or in `default_versions`
    (a listing of the account's attached policies). A policy the listing lacks (it failed,
    or the policy was attached since) stays unread: its roles are not called compliant."""
    iam = clients.client("iam")
    for arn in sorted(set(arns)):
        name = Arn.parse(arn).name
        if skip_document(arn):
            inventory.managed_policies[arn] = ManagedPolicy(arn, name, None, None)
            continue
        if default_versions is not None and arn not in default_versions:
            continue
        try:
            version = (
                default_versions[arn]
                if default_versions is not None
                else _default_version_id(iam, arn)
            )
            key = (arn, version)
            if key not in _AWS_POLICY_VERSIONS:
                _AWS_POLICY_VERSIONS[key] = _version_document(iam, arn, version)
        except InventoryError as failure:
            _failed(inventory, failure, arn)
            continue
        inventory.managed_policies[arn] = ManagedPolicy(
            arn, name, version, _AWS_POLICY_VERSIONS[key]
        )


def _attached_aws_policy_versions(clients: AwsClients, inventory: IamInventory) -> dict[str, str]:
    """Default version of every AWS managed policy attached in the account (empty, and a
    scan error, when the listing fails)."""
    try:
        policies = call(
            InventoryError,
            "iam:ListPolicies",
            _listed,
            clients.client("iam"),
            "list_policies",
            "Policies",
            Scope="AWS",
            OnlyAttached=True,
        )
    except InventoryError as failure:
        _failed(inventory, failure, "account")
        return {}
    return {policy["Arn"]: policy["DefaultVersionId"] for policy in policies}


def _pages(iam: IAMClient, method: IamListing, **arguments: Any) -> Iterable[Mapping[str, Any]]:
    paginator = iam.get_paginator(method)
    pages: Iterable[Mapping[str, Any]] = paginator.paginate(
        **arguments, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    return pages


def _listed(
    iam: IAMClient, method: IamListing, key: str, **arguments: Any
) -> list[Mapping[str, Any]]:
    """The items under `key` of every page."""
    return [item for page in _pages(iam, method, **arguments) for item in page.get(key, [])]


def _read_authorization_details(iam: IAMClient, inventory: IamInventory) -> None:
    for page in _pages(iam, "get_account_authorization_details", Filter=FULL_READ):
        for detail in page.get("RoleDetailList", []):
            role = _role_from_details(detail)
            inventory.roles[role.arn] = role
            for profile in detail.get("InstanceProfileList", []):
                _add_profile(inventory, profile)
        for detail in page.get("Policies", []):
            policy = _customer_policy_from_details(detail)
            inventory.managed_policies[policy.arn] = policy


def _get_instance_profile(iam: IAMClient, name: str) -> Mapping[str, Any]:
    response = call(
        InventoryError,
        "iam:GetInstanceProfile",
        iam.get_instance_profile,
        InstanceProfileName=name,
    )
    return response["InstanceProfile"]


def _default_version_id(iam: IAMClient, arn: str) -> str:
    policy = call(InventoryError, "iam:GetPolicy", iam.get_policy, PolicyArn=arn)["Policy"]
    return str(policy["DefaultVersionId"])


def _version_document(iam: IAMClient, arn: str, version: str) -> Any:
    response = call(
        InventoryError,
        "iam:GetPolicyVersion",
        iam.get_policy_version,
        PolicyArn=arn,
        VersionId=version,
    )
    return response["PolicyVersion"]["Document"]


def _failed(inventory: IamInventory, failure: InventoryError, resource: str) -> None:
    """A read failed: a scan error, and the scan goes on."""
    inventory.errors.append(ScanError(GLOBAL, failure.operation, resource, str(failure)))


def _read_customer_policy(clients: AwsClients, inventory: IamInventory, arn: str) -> None:
    iam = clients.client("iam")
    try:
        policy = call(InventoryError, "iam:GetPolicyVersion", _customer_policy, iam, arn)
    except InventoryError as failure:
        _failed(inventory, failure, arn)
        return
    inventory.managed_policies[arn] = policy


def _customer_policy(iam: IAMClient, arn: str) -> ManagedPolicy:
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    version = policy["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return ManagedPolicy(arn, policy["PolicyName"], version, document)


def _read_role(
    iam: IAMClient, name: str, skip_policies_if_unused: bool
) -> tuple[Role, list[Mapping[str, Any]]]:
    """The role, and its instance profiles as ListInstanceProfilesForRole shows them."""
    detail = iam.get_role(RoleName=name)["Role"]
    profiles = [
        profile
        for page in _pages(iam, "list_instance_profiles_for_role", RoleName=name)
        for profile in page["InstanceProfiles"]
    ]
    if skip_policies_if_unused and not profiles:
        return _role_from_details(detail, permissions_read=False), profiles
    inline: list[dict[str, Any]] = []
    for page in _pages(iam, "list_role_policies", RoleName=name):
        for policy_name in page["PolicyNames"]:
            document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            inline.append({"PolicyName": policy_name, "PolicyDocument": document})
    attached = [
        policy["PolicyArn"]
        for page in _pages(iam, "list_attached_role_policies", RoleName=name)
        for policy in page["AttachedPolicies"]
    ]
    # The same shape GetAccountAuthorizationDetails returns, so one function reads both.
    role = _role_from_details(
        {
            **detail,
            "RolePolicyList": inline,
            "AttachedManagedPolicies": [{"PolicyArn": arn} for arn in attached],
            "InstanceProfileList": [{"Arn": profile["Arn"]} for profile in profiles],
        }
    )
    return role, profiles


def _role_from_details(detail: Mapping[str, Any], permissions_read: bool = True) -> Role:
    return Role(
        arn=detail["Arn"],
        name=detail["RoleName"],
        role_id=detail["RoleId"],
        path=detail.get("Path", "/"),
        tags=tag_dict(detail.get("Tags")),
        inline_policies=tuple(
            InlinePolicy(policy["PolicyName"], policy["PolicyDocument"])
            for policy in detail.get("RolePolicyList", [])
        ),
        attached_policy_arns=tuple(
            policy["PolicyArn"] for policy in detail.get("AttachedManagedPolicies", [])
        ),
        boundary_arn=detail.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
        instance_profile_arns=tuple(
            profile["Arn"] for profile in detail.get("InstanceProfileList", [])
        ),
        permissions_read=permissions_read,
    )


def _customer_policy_from_details(detail: Mapping[str, Any]) -> ManagedPolicy:
    default = detail.get("DefaultVersionId")
    document = next(
        (
            version.get("Document")
            for version in detail.get("PolicyVersionList", [])
            if version.get("IsDefaultVersion") or version.get("VersionId") == default
        ),
        None,
    )
    name = detail.get("PolicyName") or Arn.parse(detail["Arn"]).name
    return ManagedPolicy(detail["Arn"], name, default, document)


def _add_profile(inventory: IamInventory, profile: Mapping[str, Any]) -> None:
    inventory.instance_profiles[profile["Arn"]] = InstanceProfile(
        arn=profile["Arn"],
        name=profile["InstanceProfileName"],
        role_arns=tuple(role["Arn"] for role in profile.get("Roles", [])),
    )


def _policy_arns(role: Role) -> list[str]:
    return [*role.attached_policy_arns, *([role.boundary_arn] if role.boundary_arn else [])]
