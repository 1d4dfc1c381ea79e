"""Apply a migration plan: per family, create its task role, then register the revision that
uses it (with `update_services`, the services running the old revision move to it).

Every step is a journal entry of one migration (its `migration_id`), made by the change
runner as any remediation is: saved before the call, read back after. A step that fails
stops the migration where it is; run again, it resumes: a role this migration created is
recognised by its tags and kept, a revision registered already is reused, and the steps
join the migration they continue. `rolewarden restore <migration id>` undoes the whole of
it, newest step first. Nothing runs under the kill switch, without a journal and its key,
or for a family the plan refused.

Scenarios:
  1. A plan applied -> one role per family, one revision with it, services moved on ask;
     each step journaled under the migration's id.
  2. Interrupted and applied again -> the steps done are not repeated, and the new steps
     belong to the same migration.
  3. ROLEWARDEN_DRY_RUN, no journal or no key, or --apply not given -> nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rolewarden.aws.arn import Arn
from rolewarden.aws.clients import AwsClients
from rolewarden.inventory.iam import GLOBAL
from rolewarden.migration.plan import MIGRATED_FROM_TAG, ROLE_PATH, FamilyPlan, MigrationPlan
from rolewarden.remediation.actions.create_task_role import CreateTaskRole
from rolewarden.remediation.actions.register_task_definition_with_task_role import (
    RegisterTaskDefinitionWithTaskRole,
)
from rolewarden.remediation.change import Action, ActionError, Change, Poll
from rolewarden.remediation.journal import Journal, JournalEntry, Status, new_journal_id
from rolewarden.remediation.outcome import OutcomeStatus
from rolewarden.remediation.request import Request, gate, utc_now
from rolewarden.remediation.runner import ChangeRunner, ResourceBusyError
from rolewarden.rules.ids import INSTANCE_ROLE_APP_PERMISSIONS as HOST_ROLE_RULE
from rolewarden.rules.model import finding_id
from rolewarden.settings import Settings

MIGRATION_PREFIX = "migration-"
CREATE_ROLE = CreateTaskRole()
REGISTER = RegisterTaskDefinitionWithTaskRole()


@dataclass
class MigrationOutcome:
    status: OutcomeStatus
    migration_id: str | None = None
    reasons: list[str] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "migration_id": self.migration_id,
            "reasons": self.reasons,
            "journal": [entry.as_json() for entry in self.journal],
        }


def is_migration_id(text: str) -> bool:
    return text.startswith(MIGRATION_PREFIX)


def migration_of(journal: Journal, host_role_arn: str) -> str | None:
    """The latest migration that created task roles from this host role (its finish step
    joins it, so that restoring it puts the host role's policies back too)."""
    created = [
        entry
        for entry in journal.entries()
        if entry.migration_id
        and entry.action == CREATE_ROLE.name
        and entry.change.target.get("tags", {}).get(MIGRATED_FROM_TAG) == host_role_arn
    ]
    latest = max(created, key=lambda entry: (entry.time, entry.journal_id), default=None)
    return latest.migration_id if latest else None


def migration_steps(journal: Journal, migration_id: str) -> list[str]:
    """The journal ids of a migration's steps, newest first: the order that undoes it
    (services back and revisions deregistered before the roles they use are deleted)."""
    steps = [
        entry
        for entry in journal.entries()
        if entry.migration_id == migration_id and entry.restore_of is None
    ]
    steps.sort(key=lambda entry: (entry.time, entry.journal_id), reverse=True)
    return [entry.journal_id for entry in steps]


class MigrationApplier:
    def __init__(
        self,
        clients: AwsClients,
        journal: Journal | None,
        settings: Settings,
        *,
        now: Callable[[], datetime] = utc_now,
        poll: Poll | None = None,
    ) -> None:
        self.clients = clients
        self.journal = journal
        self.settings = settings
        self.now = now
        self.poll = poll or Poll()

    def apply(
        self, plan: MigrationPlan, request: Request, *, update_services: bool
    ) -> MigrationOutcome:
        held = gate(self.settings, self.journal, request)
        if held:
            return MigrationOutcome(held.status, reasons=[held.reason])
        families = [family for family in plan.families if not family.refusal]
        if not families:
            return MigrationOutcome(OutcomeStatus.NOTHING_TO_DO, reasons=["no family to move"])
        assert self.journal is not None  # gate refuses without one
        runner = ChangeRunner(self.clients, self.journal, self.now, self.poll)
        outcome = MigrationOutcome(OutcomeStatus.APPLIED)
        try:
            with runner.exclusive(plan.host_role_arn):
                for family in families:
                    if not self._family(runner, plan, family, request, update_services, outcome):
                        break
        except ResourceBusyError as error:
            outcome.status, outcome.reasons = OutcomeStatus.REFUSED, [str(error)]
        except ActionError as error:
            outcome.status = OutcomeStatus.FAILED
            outcome.reasons.append(f"planning a step failed: {error}")
        if outcome.migration_id is None and outcome.status is OutcomeStatus.APPLIED:
            outcome.status = OutcomeStatus.NOTHING_TO_DO
            outcome.reasons.append("every family has moved already")
        return outcome

    def _family(
        self,
        runner: ChangeRunner,
        plan: MigrationPlan,
        family: FamilyPlan,
        request: Request,
        update_services: bool,
        outcome: MigrationOutcome,
    ) -> bool:
        """Its role, then its revision; False when a step failed (the migration stops)."""
        role_params = CREATE_ROLE.parse(
            {
                "role_name": family.role_name,
                "role_arn": family.role_arn,
                "regions": sorted(family.regions),
                "path": ROLE_PATH,
                "trust_policy": dict(family.trust_policy),
                "policy_document": dict(family.policy_document),
                "tags": dict(family.tags),
                "boundary_arn": family.boundary_arn,
            }
        )
        role_step = CREATE_ROLE.plan(self.clients, GLOBAL, role_params)
        if role_step is None:  # created by an earlier run of this migration
            self._continue(family, outcome)
        elif not self._step(
            runner, CREATE_ROLE, role_step, plan, family.role_arn, request, outcome
        ):
            return False
        region = Arn.parse(family.derives_from).region
        register_params = REGISTER.parse(
            {
                "task_definition_arn": family.derives_from,
                "task_role_arn": family.role_arn,
                "update_service": update_services,
            }
        )
        revision_step = REGISTER.plan(self.clients, region, register_params)
        if revision_step is None:
            return True
        return self._step(
            runner, REGISTER, revision_step, plan, family.derives_from, request, outcome
        )

    def _step(
        self,
        runner: ChangeRunner,
        action: Action[Any],
        change: Change,
        plan: MigrationPlan,
        resource_arn: str,
        request: Request,
        outcome: MigrationOutcome,
    ) -> bool:
        if outcome.migration_id is None:
            outcome.migration_id = MIGRATION_PREFIX + new_journal_id(self.now())
        entry = runner.entry(
            change,
            actor=request.actor,
            rule=HOST_ROLE_RULE,
            finding_id=finding_id(HOST_ROLE_RULE, plan.host_role_arn),
            resource_arn=resource_arn,
            account=Arn.parse(plan.host_role_arn).account,
            migration_id=outcome.migration_id,
        )
        done = runner.apply(entry)
        outcome.journal.append(done)
        if done.status is Status.FAILED:
            outcome.status = OutcomeStatus.FAILED
            outcome.reasons.append(f"{action.name} failed: {done.error}")
            return False
        return True

    def _continue(self, family: FamilyPlan, outcome: MigrationOutcome) -> None:
        """A role created by an earlier run: the steps after it join that run's migration."""
        if outcome.migration_id is not None:
            return
        assert self.journal is not None
        created_by = CREATE_ROLE.created_by(self.clients, family.role_name)
        earlier = self.journal.get(created_by) if created_by else None
        if earlier is not None and earlier.migration_id:
            outcome.migration_id = earlier.migration_id
