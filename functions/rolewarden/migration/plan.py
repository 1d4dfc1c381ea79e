"""The migration plan: a task role of its own for every family on a host role's credentials.

Pure: snapshot in, plan out (the existing role names come from the reader). Nothing here
changes the account; apply, journal and finish are later steps.

Scenarios:
  1. A family whose tasks or services run without a task role on hosts using the role, and
     reach IMDS -> one proposed task role: its name from the family, path /rolewarden/,
     tags naming the host role, the host role's application statements only (with its
     Deny statements), a trust policy for ecs-tasks.amazonaws.com limited to the account
     and its task ARNs, the boundary from the settings (else the host role's own); the
     new revision derives from the highest one its services and tasks run.
  2. A task with a task role (its definition's or an override), a task that cannot reach
     IMDS, a Fargate service -> not part of the plan.
  3. What stays on the host role: the baseline policies, and a mixed policy cut down to
     its baseline statements; the purely application ones leave it.
  4. A role that is not an ECS host role, that grants no application permission, whose
     policies could not all be read, or whose boundary is not the one the settings name
     -> refused (MigrationRefusedError): nothing planned.
  5. A family whose name makes an invalid IAM role name, or whose role name exists
     already -> that family is refused, with the reason; the others are planned.
  6. A family with a later ACTIVE revision that has a task role (tasks left on an older
     one) -> refused: replace those tasks with that revision instead.
  7. An application document longer than IAM allows a role's inline policies (10,240
     characters, whitespace aside) -> every family refused: IAM would reject the role.
  8. A family whose revision is protected (rolewarden:protected) -> refused: RoleWarden
     never registers a revision from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from rolewarden.inventory.snapshot import (
    RevisionFacts,
    Role,
    Service,
    Snapshot,
    Task,
    TaskDefinition,
)
from rolewarden.migration.documents import application_document, trust_policy
from rolewarden.policy.classify import PolicyVerdict, RoleVerdict, baseline_only_document
from rolewarden.rules.context import RuleContext
from rolewarden.rules.guards import never_changed
from rolewarden.rules.host_roles import is_ecs_host_role
from rolewarden.rules.imds import imds_reachability

ROLE_PATH = "/rolewarden/"
ROLE_NAME_SUFFIX = "-task"
MIGRATED_FROM_TAG = "rolewarden:migrated-from"
FAMILY_TAG = "rolewarden:family"
# IAM's pattern for a role name (ASCII word characters only), at most 64 of them.
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
# IAM's quota on the inline policies of one role, in characters, not counting whitespace.
INLINE_POLICY_CHARACTERS = 10_240


class MigrationRefusedError(Exception):
    """The role cannot be migrated as asked; the message says why. Nothing was planned."""


@dataclass(frozen=True)
class FamilyPlan:
    """One family's move: a task role, a revision with it, the services that move."""

    family: str
    role_name: str
    role_arn: str
    derives_from: str  # the revision the new one copies, plus taskRoleArn
    also_running: tuple[str, ...]  # older revisions still in use: replace them by hand
    services: tuple[str, ...]
    tasks: tuple[str, ...]
    tags: Mapping[str, str]
    policy_document: Mapping[str, Any]
    trust_policy: Mapping[str, Any]
    boundary_arn: str | None
    regions: tuple[str, ...] = ()  # where its tasks and services run
    refusal: str | None = None
    # The revision and services CloudFormation manages: ARN -> the stack (or why unknown).
    owned_by: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "refused": self.refusal,
            "role": {
                "name": self.role_name,
                "arn": self.role_arn,
                "path": ROLE_PATH,
                "tags": dict(self.tags),
                "permissions_boundary": self.boundary_arn,
                "policy_document": self.policy_document,
                "trust_policy": self.trust_policy,
            },
            "new_revision": {"derives_from": self.derives_from, "task_role_arn": self.role_arn},
            "also_running": list(self.also_running),
            "services": list(self.services),
            "tasks": list(self.tasks),
            "owned_by": dict(self.owned_by),
        }


@dataclass(frozen=True)
class HostPolicyAfter:
    """One policy of the host role once the families have moved (the finish step)."""

    name: str
    kind: str  # inline or managed
    outcome: str  # kept, split (baseline statements kept), removed
    document: Mapping[str, Any] | None = None  # what a split leaves

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"policy": self.name, "type": self.kind, "outcome": self.outcome}
        if self.document is not None:
            body["document"] = self.document
        return body


@dataclass(frozen=True)
class MigrationPlan:
    host_role_name: str
    host_role_arn: str
    families: tuple[FamilyPlan, ...]
    host_role_after: tuple[HostPolicyAfter, ...]

    @property
    def refused(self) -> list[FamilyPlan]:
        return [family for family in self.families if family.refusal]

    def as_json(self) -> dict[str, Any]:
        return {
            "host_role": {"name": self.host_role_name, "arn": self.host_role_arn},
            "families": [family.as_json() for family in self.families],
            "host_role_after": [policy.as_json() for policy in self.host_role_after],
        }


@dataclass
class _Users:
    """What of one family runs on the host role's credentials."""

    revisions: dict[str, RevisionFacts]  # by ARN
    services: set[str]
    tasks: set[str]
    regions: set[str]


def find_host_role(snapshot: Snapshot, name_or_arn: str) -> Role:
    role = snapshot.iam.roles.get(name_or_arn) or snapshot.iam.role_by_name(name_or_arn)
    if role is None:
        raise MigrationRefusedError(f"no role {name_or_arn} in account {snapshot.account}")
    return role


def role_name_for(family: str) -> str:
    return family + ROLE_NAME_SUFFIX


def proposed_role_names(snapshot: Snapshot, host_role: Role) -> list[str]:
    """The names the plan will propose: the reader checks which exist already."""
    return [role_name_for(family) for family in _families_on(snapshot, host_role)]


def plan_migration(
    snapshot: Snapshot,
    context: RuleContext,
    host_role: Role,
    *,
    existing_roles: Set[str],
    boundary_arn: str | None = None,
) -> MigrationPlan:
    """`existing_roles`: the proposed names IAM holds a role of already (any case)."""
    verdict = _application_verdict(snapshot, context, host_role)
    boundary = _boundary(host_role, boundary_arn)
    document = application_document(verdict, context.catalogue)
    taken = {name.lower() for name in existing_roles}
    families = tuple(
        _family_plan(
            snapshot,
            host_role,
            family,
            users,
            document,
            boundary,
            taken,
        )
        for family, users in sorted(_families_on(snapshot, host_role).items())
    )
    return MigrationPlan(
        host_role_name=host_role.name,
        host_role_arn=host_role.arn,
        families=families,
        host_role_after=tuple(_after(context, verdict, policy) for policy in verdict.policies),
    )


def _boundary(host_role: Role, wanted: str | None) -> str | None:
    """The setting's boundary, else the host role's: statements copied as written must stay
    under the boundary that limits them today."""
    own = host_role.boundary_arn
    if wanted and own and wanted != own:
        raise MigrationRefusedError(
            f"{host_role.name} has the permissions boundary {own}, and "
            f"ROLEWARDEN_TASK_ROLE_BOUNDARY_ARN is {wanted}: under another boundary its "
            f"statements could grant the tasks what {own} denies them today"
        )
    return wanted or own


def _application_verdict(snapshot: Snapshot, context: RuleContext, role: Role) -> RoleVerdict:
    if not is_ecs_host_role(snapshot, role):
        raise MigrationRefusedError(
            f"{role.name} is not an ECS host role (no container instance uses it and it "
            "does not carry the ECS agent's policy): nothing falls back to it"
        )
    verdict = context.roles.verdict(snapshot, role)
    if verdict.evaluation.errors:
        unread = "; ".join(f"{e.policy.name}: {e.reason}" for e in verdict.evaluation.errors)
        raise MigrationRefusedError(
            f"{role.name}: not every policy could be evaluated ({unread}), so a task role "
            "copied from it could miss permissions the tasks use"
        )
    if not verdict.offending:
        raise MigrationRefusedError(
            f"{role.name} grants no application permission (baseline only): nothing to move"
        )
    return verdict


def _families_on(snapshot: Snapshot, role: Role) -> dict[str, _Users]:
    """Every family whose tasks or services use the role's credentials through IMDS."""
    families: dict[str, _Users] = {}

    def add(definition: RevisionFacts, workload: Task | Service) -> None:
        users = families.setdefault(definition.family, _Users({}, set(), set(), set()))
        users.revisions[definition.arn] = definition
        (users.tasks if isinstance(workload, Task) else users.services).add(workload.arn)
        users.regions.add(workload.arn.split(":")[3])

    for host in snapshot.instances_using_role(role):
        for task in snapshot.tasks_on_instance(host.instance_id):
            definition = snapshot.revision(task.task_definition_arn)
            if definition is None or snapshot.effective_task_role(task):
                continue
            if imds_reachability(definition.network_mode, host, on_ec2=task.on_ec2).reachable:
                add(definition, task)
        for service in snapshot.services_that_may_run_on(host.instance_id):
            definition = snapshot.revision(service.task_definition_arn)
            if definition is None or definition.task_role_arn:
                continue
            if imds_reachability(definition.network_mode, host, on_ec2=True).reachable:
                add(definition, service)
    return families


def _family_plan(
    snapshot: Snapshot,
    host_role: Role,
    family: str,
    users: _Users,
    document: Mapping[str, Any],
    boundary_arn: str | None,
    taken: Set[str],
) -> FamilyPlan:
    revisions = sorted(users.revisions.values(), key=lambda definition: definition.revision)
    name = role_name_for(family)
    return FamilyPlan(
        family=family,
        role_name=name,
        role_arn=f"arn:{snapshot.partition}:iam::{snapshot.account}:role{ROLE_PATH}{name}",
        derives_from=revisions[-1].arn,
        also_running=tuple(definition.arn for definition in revisions[:-1]),
        services=tuple(sorted(users.services)),
        tasks=tuple(sorted(users.tasks)),
        tags={MIGRATED_FROM_TAG: host_role.arn, FAMILY_TAG: family},
        policy_document=document,
        trust_policy=trust_policy(snapshot.partition, snapshot.account, users.regions),
        boundary_arn=boundary_arn,
        regions=tuple(sorted(users.regions)),
        refusal=_refusal(name, taken)
        or _protected(snapshot, revisions[-1])
        or _too_long(document)
        or _has_moved(snapshot, revisions[-1]),
    )


def _has_moved(snapshot: Snapshot, running: RevisionFacts) -> str | None:
    """A later ACTIVE revision of the family with a task role: the tasks still on older
    ones need replacing with it, not a role of their own."""
    later = [
        definition
        for definition in snapshot.task_definitions.values()
        if definition.family == running.family
        and definition.status == "ACTIVE"
        and definition.task_role_arn
        and definition.revision > running.revision
    ]
    if not later:
        return None
    newest = max(later, key=lambda definition: definition.revision)
    return (
        f"{running.family}:{newest.revision} has a task role already ({newest.task_role_arn}): "
        "replace the tasks and services still on older revisions with it instead"
    )


def _refusal(name: str, taken: Set[str]) -> str | None:
    if not ROLE_NAME.fullmatch(name):
        return (
            f"the role name {name} would be invalid (IAM allows at most 64 characters, "
            "letters, digits and +=,.@_-): give the family a shorter name"
        )
    if name.lower() in taken:
        return f"a role named {name} exists already: RoleWarden creates its own, never reuses one"
    return None


def _protected(snapshot: Snapshot, running: RevisionFacts) -> str | None:
    definition = snapshot.task_definitions.get(running.arn)
    tags = definition.tags if isinstance(definition, TaskDefinition) else {}
    never = never_changed(tags)
    return (
        f"{running.family}:{running.revision} is never changed: {'; '.join(never)}"
        if never
        else None
    )


def _too_long(document: Mapping[str, Any]) -> str | None:
    length = len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":"))))
    if length <= INLINE_POLICY_CHARACTERS:
        return None
    return (
        f"its policy document would be {length} characters, over IAM's "
        f"{INLINE_POLICY_CHARACTERS} for a role's inline policies: narrow the host role's "
        "application policies first"
    )


def _after(context: RuleContext, verdict: RoleVerdict, policy: PolicyVerdict) -> HostPolicyAfter:
    ref = policy.policy
    if not policy.offending:
        return HostPolicyAfter(ref.name, ref.kind, "kept")
    document = verdict.evaluation.documents.get(ref.key)
    if policy.mixed and document is not None:
        split = baseline_only_document(document, context.baseline, context.catalogue)
        if ref.aws_managed:  # AWS managed: cannot be edited, only detached
            outcome = "removed (AWS managed): attach its baseline part as a policy of your own"
            return HostPolicyAfter(ref.name, ref.kind, outcome, split)
        return HostPolicyAfter(ref.name, ref.kind, "split: its baseline statements kept", split)
    return HostPolicyAfter(ref.name, ref.kind, "removed")
