"""Evaluate only the resources a trigger touched, reading only what that needs.

IAM is global: a role (or a policy, or an instance profile) is judged with its hosts
in every region RoleWarden covers. Instances, task definitions and tasks are regional.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rolewarden.aws.arn import Arn
from rolewarden.aws.clients import AwsClients
from rolewarden.evaluation.scope import Scope
from rolewarden.inventory import iam
from rolewarden.inventory.build import TargetedReader
from rolewarden.inventory.context_cache import ContextCache
from rolewarden.inventory.snapshot import IamInventory, ScanError, Snapshot
from rolewarden.rules.context import RuleContext
from rolewarden.rules.engine import RuleRun, run_rules
from rolewarden.rules.model import Evaluation, Finding
from rolewarden.rules.registry import REGISTRY


@dataclass(frozen=True)
class Targets:
    """What a trigger names. Regional ids belong to the trigger's region."""

    instance_ids: frozenset[str] = frozenset()
    # The instances' roles (through their profiles) are judged too, with their hosts in
    # every region, as a role is: a launch, a new profile, a new ECS registration.
    instance_roles: bool = False
    task_definition_arns: frozenset[str] = frozenset()
    # Named as a call names them: `family` (its latest ACTIVE revision) or `family:revision`.
    task_definition_names: frozenset[str] = frozenset()
    tasks: frozenset[tuple[str, str]] = frozenset()  # (cluster, task ARN)
    role_names: frozenset[str] = frozenset()
    policy_arns: frozenset[str] = frozenset()  # judged through the roles that use them
    instance_profile_names: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.instance_ids,
                self.task_definition_arns,
                self.task_definition_names,
                self.tasks,
                self.role_names,
                self.policy_arns,
                self.instance_profile_names,
            )
        )

    @property
    def touches_iam(self) -> bool:
        return bool(self.role_names or self.policy_arns or self.instance_profile_names)


@dataclass
class TargetedResult:
    evaluations: list[Evaluation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    # Ids, names and ARNs of the resources read: what exists (a rule may stay silent on it).
    found: set[str] = field(default_factory=set)


def evaluate_targets(
    clients: AwsClients,
    targets: Targets,
    scope: Scope,
    context: RuleContext,
    rule_ids: Sequence[str],
    cache: ContextCache | None = None,
) -> TargetedResult:
    """Evaluations of the named resources only (by the given rules).

    `cache`: the context a warm container remembers (default: none kept after this call).
    """
    cache = cache or ContextCache()
    shared_iam = IamInventory()
    role_names = set(targets.role_names)
    for policy_arn in sorted(targets.policy_arns):
        role_names |= set(iam.roles_using_policy(clients, shared_iam, policy_arn))

    home = _reader(clients, scope, scope.region, context, shared_iam, cache)
    definitions = _read_regional(home, targets)
    if targets.instance_roles:
        role_names |= _roles_of_instances(home.snapshot, targets.instance_ids)
    snapshots = [home.snapshot]
    if role_names or targets.instance_profile_names:
        for each in scope.all_regions:
            reader = (
                home
                if each == scope.region
                else _reader(clients, scope, each, context, shared_iam, cache)
            )
            _read_identities(reader, role_names, targets.instance_profile_names)
            if reader is not home:
                snapshots.append(reader.snapshot)
    role_names |= _roles_of_profiles(shared_iam, targets.instance_profile_names)

    result = TargetedResult(errors=[*shared_iam.errors])
    for snapshot in snapshots:
        result.errors += [error for error in snapshot.errors if error not in result.errors]
    regional = [rule for rule in rule_ids if not REGISTRY[rule].global_resource]
    account_wide = [rule for rule in rule_ids if REGISTRY[rule].global_resource]
    combined = Snapshot.combine(snapshots)
    result.found = _found(combined)
    wanted = _wanted(home.snapshot, combined, targets, role_names, shared_iam) | definitions
    for snapshot in snapshots:
        _keep(result, run_rules(snapshot, context, regional), wanted)
    if account_wide:
        _keep(result, run_rules(combined, context, account_wide), wanted)
    return result


def _reader(
    clients: AwsClients,
    scope: Scope,
    region: str,
    context: RuleContext,
    shared_iam: IamInventory,
    cache: ContextCache,
) -> TargetedReader:
    return TargetedReader(
        clients, region, scope.account, scope.partition, context.skip_document, shared_iam, cache
    )


def _read_identities(
    reader: TargetedReader, role_names: set[str], profile_names: Iterable[str]
) -> None:
    """The roles and instance profiles, with what uses them in the reader's region."""
    for name in sorted(role_names):
        reader.role(name)
    for name in sorted(profile_names):
        reader.instance_profile(name)


def _read_regional(home: TargetedReader, targets: Targets) -> set[str]:
    """Read the trigger's regional resources; the ARNs of the task definitions it named."""
    home.instances(targets.instance_ids)
    definitions = set(targets.task_definition_arns)
    for arn in sorted(targets.task_definition_arns):
        home.task_definition(arn)
    for name in sorted(targets.task_definition_names):
        if (named := home.task_definition_named(name)) is not None:
            definitions.add(named)
    for cluster, task_arn in sorted(targets.tasks):
        home.task(cluster, task_arn)
    return definitions


def _roles_of_instances(snapshot: Snapshot, instance_ids: Iterable[str]) -> set[str]:
    """The roles of the instances' profiles, as the read found them."""
    profiles = {
        snapshot.instances[instance_id].profile_arn
        for instance_id in instance_ids
        if instance_id in snapshot.instances
    }
    return {
        Arn.parse(arn).name
        for profile_arn in profiles
        if profile_arn in snapshot.iam.instance_profiles
        for arn in snapshot.iam.instance_profiles[profile_arn].role_arns
    }


def _roles_of_profiles(inventory: IamInventory, profile_names: Iterable[str]) -> set[str]:
    names = set(profile_names)
    return {
        Arn.parse(arn).name
        for profile in inventory.instance_profiles.values()
        if profile.name in names
        for arn in profile.role_arns
    }


def _wanted(
    home: Snapshot,
    combined: Snapshot,
    targets: Targets,
    role_names: set[str],
    inventory: IamInventory,
) -> set[str]:
    """ARNs of the resources the trigger touched (what its evaluations are about)."""
    wanted = {
        f"arn:{home.partition}:ec2:{home.region}:{home.account}:instance/{instance_id}"
        for instance_id in targets.instance_ids
    }
    wanted |= {task_arn for _cluster, task_arn in targets.tasks}
    wanted |= {role.arn for role in inventory.roles.values() if role.name in role_names}
    profile_names = set(targets.instance_profile_names)
    profile_arns = {p.arn for p in inventory.instance_profiles.values() if p.name in profile_names}
    # A profile is global: the instances using it in every region read, not only the home one.
    wanted |= {
        instance.arn
        for instance in combined.instances.values()
        if instance.profile_arn in profile_arns
    }
    return wanted


def _found(snapshot: Snapshot) -> set[str]:
    found = {*snapshot.instances, *(i.arn for i in snapshot.instances.values())}
    found |= {name for role in snapshot.iam.roles.values() for name in (role.arn, role.name)}
    return (
        found
        | set(snapshot.task_definitions)
        | set(snapshot.context_revisions)
        | set(snapshot.tasks)
    )


def _keep(result: TargetedResult, run: RuleRun, wanted: set[str]) -> None:
    result.evaluations += [e for e in run.evaluations if e.resource.arn in wanted]
    result.findings += [f for f in run.findings if f.resource_arn in wanted]
