"""Guards read from the account just before a change: what the finding's snapshot cannot see.

IAM is global, so a role's hosts (and the stacks that would put a policy back) may be in
any region, not only those of ROLEWARDEN_REGIONS. Read once per invocation (cached):
- the account's regions (ec2:DescribeRegions), then in each region outside
  ROLEWARDEN_REGIONS the instances using the role's profiles and what runs on them;
- the stack owning the role, a policy being removed, or an instance (and the stack of the
  Auto Scaling group that launched it), by physical id (cloudformation:DescribeStackResources);
- the stacks that put an inline policy on the role without owning it, from their templates
  (cloudformation:DescribeStacks, GetTemplate), when the change touches its inline policies;
- the tags of the role's instance profiles (a `rolewarden:protected` put there).

Calls, per role: 1 DescribeRegions, (1 + policies removed) DescribeStackResources per region,
1 ListInstanceProfilesForRole + 1 GetInstanceProfile per profile, and the targeted reads of
the role's instances in each region outside ROLEWARDEN_REGIONS (ECS only where some run).
When an inline policy changes, per region: 1 DescribeStacks (a page per 100 stacks) and
1 GetTemplate per stack, once per AccountGuards (a plan of many roles reads them once).
Per instance: 1 DescribeStackResources, and 1 DescribeAutoScalingGroups when an ASG launched it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rolewarden.aws.arn import Arn, is_aws_managed_policy
from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.aws.tags import tag_dict
from rolewarden.inventory.build import TargetedReader
from rolewarden.inventory.iam import SkipDocument
from rolewarden.inventory.snapshot import (
    CLOUDFORMATION_STACK_TAG,
    IamInventory,
    Snapshot,
)
from rolewarden.remediation.change import ActionError
from rolewarden.remediation.ownership import (
    StackPolicies,
    inline_policy_stacks,
    owning_stack,
    physical_id,
)
from rolewarden.remediation.params import ProposedStep, StepsProposal
from rolewarden.rules.guards import Guards, protected_behind
from rolewarden.rules.instance_role_app_permissions import ACTION as REMOVE_APPLICATION_POLICIES
from rolewarden.rules.instance_role_app_permissions import host_guards
from rolewarden.rules.model import Finding

STACK_PUTS_IT_BACK = "fix the template, or the stack puts it back"


class AccountGuards:
    def __init__(
        self,
        clients: AwsClients,
        covered: Sequence[str],
        account: str,
        skip_document: SkipDocument,
    ) -> None:
        self.clients = clients
        self.covered = list(covered)  # ROLEWARDEN_REGIONS: the finding's snapshot saw them
        self.account = account
        self.skip_document = skip_document
        self._regions: list[str] | None = None
        self._owners: dict[tuple[str, str], str | None] = {}
        self._stack_policies: dict[str, list[StackPolicies]] = {}

    def of(self, finding: Finding) -> Guards:
        """A person decides (`manual`) or forces (`force`) what these reads show."""
        if finding.resource_type == "AWS::IAM::Role":
            return self._role(finding)
        if finding.resource_type == "AWS::EC2::Instance":
            return self._instance(finding)
        return Guards(manual=self._owned([finding.region], [("", physical_id(finding))]))

    def regions(self) -> list[str]:
        """Every region of the account, the covered ones first (DescribeRegions: enabled)."""
        if self._regions is None:
            ec2 = self.clients.client("ec2")
            found = call(ActionError, "ec2:DescribeRegions", ec2.describe_regions)
            names = sorted(str(region["RegionName"]) for region in found.get("Regions", []))
            self._regions = [*self.covered, *(name for name in names if name not in self.covered)]
        return self._regions

    # A role

    def _role(self, finding: Finding) -> Guards:
        role_name = physical_id(finding)
        guards = Guards()
        try:
            regions = self.regions()
        except ActionError as error:
            guards.force.append(
                f"outage guard: the account's regions could not be listed ({error}), so hosts "
                "outside ROLEWARDEN_REGIONS are unknown"
            )
            regions = self.covered
        owned = self._owned(regions, _role_stack_ids(role_name, finding))
        guards.manual += owned
        if _changes_inline_policies(finding):
            partition = Arn.parse(finding.resource_arn).partition
            put = self._put_by_stacks(regions, role_name, partition)
            guards.manual += [reason for reason in put if _as_owned(reason) not in owned]
        guards.manual += self._protected_profiles(role_name)
        others = [region for region in regions if region not in self.covered]
        outside = self._outside(role_name, others)
        guards.force += outside.force
        guards.manual += outside.manual
        return guards

    def _outside(self, role_name: str, regions: list[str]) -> Guards:
        """The role's hosts and their tasks in the regions ROLEWARDEN_REGIONS leaves out."""
        guards = Guards()
        if not regions:
            return guards
        shared = IamInventory()
        snapshots = [self._reader(region, shared).role(role_name) for region in regions]
        unreadable = sorted(
            {f"{error.region} ({error.operation})" for s in snapshots for error in s.errors}
            | {f"{error.region} ({error.operation})" for error in shared.errors}
        )
        if unreadable:
            guards.force.append(
                "outage guard: regions outside ROLEWARDEN_REGIONS could not be read: "
                + ", ".join(unreadable)
                + "; who uses this role there is unknown"
            )
        combined = Snapshot.combine(snapshots)
        role = combined.iam.role_by_name(role_name)
        if role is None:
            return guards
        found = host_guards(combined, role)
        where = ", ".join(
            sorted({Arn.parse(i.arn).region for i in combined.instances_using_role(role)})
        )
        prefix = f"in regions outside ROLEWARDEN_REGIONS ({where}): " if where else ""
        guards.force += [prefix + reason for reason in found.force]
        guards.manual += [prefix + reason for reason in found.manual]
        return guards

    def _reader(self, region: str, shared: IamInventory) -> TargetedReader:
        account, partition = self.clients.account_and_partition()
        return TargetedReader(self.clients, region, account, partition, self.skip_document, shared)

    def _protected_profiles(self, role_name: str) -> list[str]:
        try:
            tags = self._profile_tags(role_name)
        except ActionError as error:
            return [f"cannot tell whether its instance profiles are protected ({error})"]
        return protected_behind(tags, [])

    def _profile_tags(self, role_name: str) -> dict[str, Mapping[str, str]]:
        """Listing profiles does not return their tags: each is read (GetInstanceProfile)."""
        iam = self.clients.client("iam")
        listed = call(
            ActionError,
            "iam:ListInstanceProfilesForRole",
            iam.list_instance_profiles_for_role,
            RoleName=role_name,
        )
        tags: dict[str, Mapping[str, str]] = {}
        for profile in listed.get("InstanceProfiles", []):
            name = str(profile["InstanceProfileName"])
            read = call(
                ActionError,
                "iam:GetInstanceProfile",
                iam.get_instance_profile,
                InstanceProfileName=name,
            )
            tags[name] = tag_dict(read["InstanceProfile"].get("Tags"))
        return tags

    # An instance

    def _instance(self, finding: Finding) -> Guards:
        guards = Guards(manual=self._owned([finding.region], [("", finding.resource_id)]))
        group = _asg_of(finding)
        if group:
            guards.manual += self._group_stack(finding.region, group)
        return guards

    def _group_stack(self, region: str, group: str) -> list[str]:
        """CloudFormation tags the instances of a stack's ASG with the ASG only: ask the ASG."""
        autoscaling = self.clients.client("autoscaling", region)
        try:
            found = call(
                ActionError,
                "autoscaling:DescribeAutoScalingGroups",
                autoscaling.describe_auto_scaling_groups,
                AutoScalingGroupNames=[group],
            )
        except ActionError as error:
            return [
                f"cannot tell whether CloudFormation manages Auto Scaling group {group} ({error})"
            ]
        for each in found.get("AutoScalingGroups", []):
            stack = tag_dict(each.get("Tags")).get(CLOUDFORMATION_STACK_TAG)
            if stack:
                return [
                    f"launched by Auto Scaling group {group} of CloudFormation stack {stack}: "
                    + STACK_PUTS_IT_BACK
                ]
        return []

    # Stacks

    def _owned(self, regions: list[str], ids: list[tuple[str, str]]) -> list[str]:
        """(what, physical id) pairs: the reasons naming the stacks that own them."""
        reasons: list[str] = []
        for what, resource_id in ids:
            reasons += self._stack_of(regions, what, resource_id)
        return list(dict.fromkeys(reasons))

    def _stack_of(self, regions: list[str], what: str, resource_id: str) -> list[str]:
        """The first region whose stack owns it (one is enough to leave it to a person)."""
        unknown = []
        for region in regions:
            try:
                stack = self._owner(region, resource_id)
            except ActionError as error:
                unknown.append(f"{region}: {error}")
                continue
            if stack:  # the home region goes without saying
                where = f" in {region}" if region not in self.covered[:1] else ""
                return [
                    f"{what}managed by CloudFormation stack {stack}{where}: {STACK_PUTS_IT_BACK}"
                ]
        if unknown:
            return [
                f"{what}cannot tell whether CloudFormation manages it (" + "; ".join(unknown) + ")"
            ]
        return []

    def _put_by_stacks(self, regions: list[str], role_name: str, partition: str) -> list[str]:
        """Stacks that put an inline policy on the role without owning it: any change to its
        inline policies is a person's, as the next stack update puts the stack's back."""
        reasons: list[str] = []
        unknown = []
        for region in regions:
            try:
                stacks = self._policies_of_stacks(region, partition)
            except ActionError as error:
                unknown.append(f"{region}: {error}")
                continue
            where = f" in {region}" if region not in self.covered[:1] else ""
            for stack in stacks:
                reasons += _puts_on(role_name, stack, where)
            reasons += _unreadable([stack for stack in stacks if stack.unreadable], where)
        if unknown:
            reasons.append(
                "cannot tell whether a CloudFormation stack puts an inline policy on it ("
                + "; ".join(unknown)
                + ")"
            )
        return reasons

    def _policies_of_stacks(self, region: str, partition: str) -> list[StackPolicies]:
        if region not in self._stack_policies:
            self._stack_policies[region] = inline_policy_stacks(
                self.clients, region, self.account, partition
            )
        return self._stack_policies[region]

    def _owner(self, region: str, resource_id: str) -> str | None:
        key = (region, resource_id)
        if key not in self._owners:
            self._owners[key] = owning_stack(self.clients, region, resource_id)
        return self._owners[key]


def _role_stack_ids(role_name: str, finding: Finding) -> list[tuple[str, str]]:
    """The role, and each policy the remediation would remove: a stack may have created an
    inline policy (AWS::IAM::RolePolicy: "policy|role") or attached a managed policy it
    created (AWS::IAM::ManagedPolicy with Roles: its ARN) on a role it does not own. An
    AWS managed policy no stack creates: attached by a stack, the role is the stack's."""
    ids = [("", role_name)]
    for step in _steps(finding):
        if step.policy_arn and not is_aws_managed_policy(step.policy_arn):
            ids.append((f"managed policy {step.policy_arn}: ", step.policy_arn))
        if step.policy_name:
            name = step.policy_name
            ids.append((f"inline policy {name}: ", f"{name}|{role_name}"))
            ids.append((f"inline policy {name}: ", name))
    return ids


def _changes_inline_policies(finding: Finding) -> bool:
    return any(step.policy_name for step in _steps(finding))


def _steps(finding: Finding) -> list[ProposedStep]:
    """A role's proposal of several steps (the remediator parsed it before any guard)."""
    remediation = finding.remediation
    if remediation is None or remediation.action != REMOVE_APPLICATION_POLICIES:
        return []
    return StepsProposal.of(remediation).steps


def _puts_on(role_name: str, stack: StackPolicies, where: str) -> list[str]:
    """Why the stack's inline policies leave the role to a person (role names: any case,
    as IAM's are unique whatever their case)."""
    name = f"CloudFormation stack {stack.stack}{where}"
    reasons = []
    for policy in stack.policies:
        if role_name.casefold() in {role.casefold() for role in policy.roles}:
            reasons.append(
                f"inline policy {policy.label()}: put by {name} on a role it does not own: "
                + STACK_PUTS_IT_BACK
            )
        elif policy.unknown_roles:
            reasons.append(
                f"cannot tell which role {name}'s inline policy {policy.label()} targets"
            )
    return reasons


def _as_owned(reason: str) -> str:
    """The reason the physical-id check gives the same policy of the same stack (an
    AWS::IAM::RolePolicy's id is "policy|role"): it is said once."""
    return reason.replace(" on a role it does not own: ", ": ").replace(
        ": put by ", ": managed by "
    )


def _unreadable(stacks: list[StackPolicies], where: str) -> list[str]:
    """One reason for the stacks whose templates could not be read (a denied GetTemplate
    denies them all), naming each and each distinct error."""
    if not stacks:
        return []
    names = ", ".join(stack.stack for stack in stacks)
    errors = "; ".join(dict.fromkeys(str(stack.unreadable) for stack in stacks))
    return [
        f"cannot tell whether CloudFormation stacks{where} put an inline policy on it: "
        f"templates unreadable: {names} ({errors})"
    ]


def _asg_of(finding: Finding) -> str | None:
    """The ASG that launched the instance, as the finding's evidence names it (its tag)."""
    cause: Any = finding.evidence.get("root_cause") or {}
    if isinstance(cause, Mapping):
        group = cause.get("auto_scaling_group")
        return str(group) if group else None
    return None
