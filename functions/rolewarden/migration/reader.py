"""Read what a migration plan needs: the account in the regions asked (which proposed role
names IAM holds already comes with it), and which stacks manage the revisions and services
that would change. The plan itself is pure (plan.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from rolewarden.aws.arn import Arn
from rolewarden.aws.clients import AwsClients
from rolewarden.inventory.build import read_account
from rolewarden.inventory.snapshot import Role, Snapshot
from rolewarden.migration.plan import (
    FAMILY_TAG,
    MIGRATED_FROM_TAG,
    ROLE_PATH,
    FamilyPlan,
    MigrationPlan,
    MigrationRefusedError,
    find_host_role,
    plan_migration,
    proposed_role_names,
    role_name_for,
)
from rolewarden.remediation.change import ActionError
from rolewarden.remediation.ownership import owning_stack
from rolewarden.rules.context import RuleContext
from rolewarden.settings import Settings


def read_migration_plan(
    clients: AwsClients, regions: Sequence[str], settings: Settings, host_role: str
) -> MigrationPlan:
    """The plan for `host_role` (name or ARN) over these regions of the caller's account."""
    context = settings.rule_context()
    snapshot = _read_account(clients, regions, context)
    role = find_host_role(snapshot, host_role)
    # The snapshot holds every role of the account (read in full, or the plan is refused):
    # which proposed names are taken needs no call of its own. IAM names match in any case.
    # A role an interrupted apply of this migration created is not taken: apply resumes.
    proposed = {name.lower() for name in proposed_role_names(snapshot, role)}
    existing = frozenset(
        known.name
        for known in snapshot.iam.roles.values()
        if known.name.lower() in proposed and not _migrated_from(known, role)
    )
    plan = plan_migration(
        snapshot,
        context,
        role,
        existing_roles=existing,
        boundary_arn=settings.task_role_boundary_arn,
    )
    return replace(plan, families=tuple(_with_owners(clients, plan.families)))


def _with_owners(clients: AwsClients, families: Sequence[FamilyPlan]) -> Iterator[FamilyPlan]:
    """Each family with the stacks that manage its revision and services: a change made
    only in the account goes back at the stack's next deploy."""
    for family in families:
        if family.refusal:
            yield family
            continue
        owners = {}
        for arn in (family.derives_from, *family.services):
            try:
                stack = owning_stack(clients, Arn.parse(arn).region, arn)
            except ActionError as error:  # unknown: say so, never "not managed"
                stack = f"unknown ({error})"
            if stack:
                owners[arn] = stack
        yield replace(family, owned_by=owners)


def _read_account(clients: AwsClients, regions: Sequence[str], context: RuleContext) -> Snapshot:
    """Every region asked, as one snapshot (a role's hosts may be in any of them). A read
    that failed refuses the plan: a family it hides would keep riding on the host role."""
    account, partition = clients.account_and_partition()
    iam, snapshots = read_account(clients, account, partition, regions, context.skip_document)
    snapshot = Snapshot.combine(snapshots)
    errors = [*iam.errors, *snapshot.errors]
    if errors:
        failed = "; ".join(
            f"{error.operation} ({error.resource}): {error.message}" for error in errors
        )
        raise MigrationRefusedError(f"the account could not be read in full: {failed}")
    return snapshot


def _migrated_from(task_role: Role, host_role: Role) -> bool:
    """Created by a migration of this host role, for the family its name is made of."""
    family = task_role.tags.get(FAMILY_TAG)
    return (
        task_role.path == ROLE_PATH
        and task_role.tags.get(MIGRATED_FROM_TAG) == host_role.arn
        and family is not None
        and task_role.name == role_name_for(family)
    )
