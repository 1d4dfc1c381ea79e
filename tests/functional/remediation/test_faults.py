"""Remediation when things go wrong: AWS errors, a crash halfway, a resource changed by hand.

Scenarios:
  1. IAM throttles the change twice: botocore retries it and the change is verified.
  2. IAM denies the change: the remediation fails, the journal says why, the policy
     stays, and RemediationFailed raises the alarm.
  3. The process dies after journaling and before the change: the journal holds a
     `started` entry with the document; restore puts the policy back if it was deleted
     after all, and does nothing when it was not.
  4. A person changed the resource after the remediation: restore refuses unless forced,
     and a forced restore is journaled as such. A change that put the resource back as
     it was leaves nothing to restore.
  5. The change does not show when read back: the remediation fails verification.
  6. A new task definition revision is registered but its service cannot be moved: the
     journal still knows the revision, and a (forced) restore deregisters it.

Faults are injected on the client RoleWarden uses (support.py explains how).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from functional.accounts import ORDERS_TABLE_POLICY
from functional.remediation.support import (
    APPLY,
    Fault,
    attached,
    host_role,
    inject,
    inline_document,
    json_error,
    only_entry,
    remediate,
    start_rolewarden,
)
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    ECS_TASKS_SERVICE,
    S3_READ_ONLY_POLICY_ARN,
    allow,
    create_cluster,
    create_role,
    create_service,
    policy_document,
    register_task_definition,
)
from rolewarden.remediation.actions.delete_inline_policy import DeleteInlinePolicy
from rolewarden.remediation.actions.detach_managed_policy import DetachManagedPolicy
from rolewarden.remediation.change import Poll
from rolewarden.remediation.journal import JournalEntry, Status
from rolewarden.remediation.outcome import OutcomeStatus
from rolewarden.remediation.request import Request
from rolewarden.rules import ids

# --- 1. throttling --------------------------------------------------------------------


@pytest.mark.usefixtures("no_retry_waits")
def test_throttled_detach_is_retried_and_verified(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a host role with an application policy, and IAM throttling the first two detaches
    role_arn = host_role(session, "throttled-host", app_policy="managed")
    throttle = inject(
        rolewarden.clients,
        "iam.DetachRolePolicy",
        Fault(400, "Throttling", "Rate exceeded", times=2),
    )
    # When a person remediates the role
    outcome = remediate(rolewarden, role_arn)
    # Then botocore retried until IAM took the detach, and the change is verified
    assert throttle.attempts == 3
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert attached(session, "throttled-host") == {ECS_AGENT_POLICY_ARN}
    entry = only_entry(rolewarden)
    assert (entry.action, entry.status, entry.error) == (
        "detach-managed-policy",
        Status.VERIFIED,
        None,
    )


# --- 2. access denied -----------------------------------------------------------------


def test_denied_delete_fails_loudly_and_keeps_the_policy(
    session: Any, rolewarden: SimpleNamespace, emitted: Callable[[], dict[str, float]]
) -> None:
    # Given a host role with an inline application policy, and IAM denying its deletion
    role_arn = host_role(session, "denied-host", app_policy="inline")
    denied = inject(
        rolewarden.clients,
        "iam.DeleteRolePolicy",
        Fault(403, "AccessDenied", "not authorized to perform iam:DeleteRolePolicy"),
    )
    # When a person remediates the role
    outcome = remediate(rolewarden, role_arn)
    # Then the remediation failed, and says why
    assert denied.attempts == 1  # an AccessDenied is not retried
    assert outcome.status is OutcomeStatus.FAILED
    assert any("AccessDenied" in reason for reason in outcome.reasons), outcome.reasons
    entry = only_entry(rolewarden)
    assert entry.status is Status.FAILED
    assert entry.error is not None
    assert "iam:DeleteRolePolicy" in entry.error
    assert "AccessDenied" in entry.error
    assert entry.as_json()["state_before"] == {"document": ORDERS_TABLE_POLICY}
    # and the policy is still there, and the alarm metric was counted
    assert inline_document(session, "denied-host") == ORDERS_TABLE_POLICY
    assert emitted().get("RemediationFailed") == 1
    # and restoring the failed entry finds nothing to undo
    restore = rolewarden.service.restore(entry.journal_id, APPLY)
    assert restore.status is OutcomeStatus.NOTHING_TO_DO


# --- 3. a crash between the journal and the change -------------------------------------


def crash_before_the_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: Any) -> Any:
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(DeleteInlinePolicy, "apply", crash)


def crashed_remediation(
    session: Any, rolewarden: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, role: str
) -> JournalEntry:
    """Remediate `role`'s inline policy; the process dies right after journaling it."""
    role_arn = host_role(session, role, app_policy="inline")
    with monkeypatch.context() as patch:
        crash_before_the_delete(patch)
        with pytest.raises(RuntimeError):
            remediate(rolewarden, role_arn)
    entry = only_entry(rolewarden)
    assert entry.status is Status.STARTED
    assert entry.as_json()["state_before"] == {"document": ORDERS_TABLE_POLICY}
    return entry


def test_crash_then_delete_by_other_means_is_restored_from_the_journal(
    session: Any, rolewarden: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a remediation that died after journaling the inline policy's document
    entry = crashed_remediation(session, rolewarden, monkeypatch, "crashed-host")
    # and the policy deleted afterwards all the same
    session.client("iam").delete_role_policy(RoleName="crashed-host", PolicyName="orders-table")
    # When a person restores the entry from a new process
    restarted = start_rolewarden(session, rolewarden.table)
    outcome = restarted.service.restore(entry.journal_id, APPLY)
    # Then the policy is back with its exact document
    assert outcome.status is OutcomeStatus.RESTORED, outcome.reasons
    assert inline_document(session, "crashed-host") == ORDERS_TABLE_POLICY
    assert restarted.journal.get(entry.journal_id).status is Status.RESTORED


def test_crash_before_the_delete_leaves_nothing_to_restore(
    session: Any, rolewarden: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a remediation that died after journaling, before deleting anything
    entry = crashed_remediation(session, rolewarden, monkeypatch, "half-done-host")
    # When a person restores the entry from a new process
    restarted = start_rolewarden(session, rolewarden.table)
    outcome = restarted.service.restore(entry.journal_id, APPLY)
    # Then there is nothing to do: the policy never went away
    assert outcome.status is OutcomeStatus.NOTHING_TO_DO
    assert "as it was before" in outcome.reasons[0]
    assert inline_document(session, "half-done-host") == ORDERS_TABLE_POLICY
    assert len(restarted.journal.entries()) == 1


# --- 4. a restore after the resource changed -------------------------------------------

CHANGED_BY_HAND = policy_document(allow(["dynamodb:GetItem"], ["*"]))


def test_restore_over_a_hand_made_change_is_refused_unless_forced(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given an inline policy deleted by a remediation
    role_arn = host_role(session, "edited-host", app_policy="inline")
    assert remediate(rolewarden, role_arn).status is OutcomeStatus.APPLIED
    entry = only_entry(rolewarden)
    # and a person who put another document under the same name since
    iam = session.client("iam")
    iam.put_role_policy(
        RoleName="edited-host",
        PolicyName="orders-table",
        PolicyDocument=json.dumps(CHANGED_BY_HAND),
    )
    # When the entry is restored
    refused = rolewarden.service.restore(entry.journal_id, APPLY)
    # Then the restore is refused, naming the change, and nothing changes
    assert refused.status is OutcomeStatus.REFUSED
    assert "changed since the journal entry" in refused.reasons[0]
    assert "dynamodb:GetItem" in refused.reasons[0]  # what it found
    assert "--force" in refused.reasons[0]
    assert inline_document(session, "edited-host") == CHANGED_BY_HAND
    assert [e.journal_id for e in rolewarden.journal.entries()] == [entry.journal_id]
    assert rolewarden.journal.get(entry.journal_id).status is Status.VERIFIED

    # When a person forces it
    forced = rolewarden.service.restore(
        entry.journal_id, Request(actor="alice", apply=True, force=True)
    )
    # Then the original document is back, and the restore entry records what was overridden
    assert forced.status is OutcomeStatus.RESTORED, forced.reasons
    assert inline_document(session, "edited-host") == ORDERS_TABLE_POLICY
    restore = rolewarden.journal.get(forced.journal[0].journal_id)
    assert restore.restore_of == entry.journal_id
    assert restore.status is Status.VERIFIED
    assert restore.change.before == {"document": CHANGED_BY_HAND}  # what it overwrote
    assert len(restore.forced) == 1
    assert "changed since the journal entry" in restore.forced[0]


def test_reattached_by_hand_leaves_nothing_to_restore(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a managed policy detached by a remediation, and attached again by a person
    role_arn = host_role(session, "reattached-host", app_policy="managed")
    assert remediate(rolewarden, role_arn).status is OutcomeStatus.APPLIED
    entry = only_entry(rolewarden)
    session.client("iam").attach_role_policy(
        RoleName="reattached-host", PolicyArn=S3_READ_ONLY_POLICY_ARN
    )
    # When the entry is restored, then there is nothing to restore and nothing changes
    outcome = rolewarden.service.restore(entry.journal_id, APPLY)
    assert outcome.status is OutcomeStatus.NOTHING_TO_DO
    assert attached(session, "reattached-host") == {ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN}
    assert len(rolewarden.journal.entries()) == 1


# --- 5. a change that does not show ----------------------------------------------------


def test_change_that_never_shows_fails_verification(
    session: Any,
    rolewarden: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
    emitted: Callable[[], dict[str, float]],
) -> None:
    # Given a detach that IAM accepts but never carries out, and a short read-back
    role_arn = host_role(session, "sticky-host", app_policy="managed")
    monkeypatch.setattr(DetachManagedPolicy, "apply", lambda self, clients, change: change)
    waits: list[float] = []
    rolewarden.service.remediator.poll = Poll(attempts=2, first_delay=0, sleep=waits.append)
    # When a person remediates the role
    outcome = remediate(rolewarden, role_arn)
    # Then it failed verification after reading back twice
    assert outcome.status is OutcomeStatus.FAILED
    entry = only_entry(rolewarden)
    assert entry.status is Status.FAILED
    assert entry.error is not None
    assert entry.error.startswith("verification failed")
    assert entry.verify == 'did not take: read back {"attached": true}'
    assert waits == [0]
    assert attached(session, "sticky-host") == {ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN}
    assert emitted().get("RemediationFailed") == 1


# --- 6. a new revision registered, its service not moved ---------------------------------


def test_a_service_that_cannot_be_moved_leaves_the_new_revision_in_the_journal(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a service running a task definition without a task role
    ecs = session.client("ecs")
    create_cluster(ecs, "partial")
    old = register_task_definition(ecs, "partial")
    service = create_service(ecs, "partial", "partial", old)
    task_role = create_role(session.client("iam"), "partial-task", trust_service=ECS_TASKS_SERVICE)
    # ... and ECS denies moving the service
    inject(
        rolewarden.clients,
        "ecs.UpdateService",
        Fault(400, "AccessDeniedException", "not allowed", times=1, respond=json_error),
    )

    # When a person registers the revision with a task role and asks to move the service
    request = Request(actor="alice", apply=True, task_role_arn=task_role, update_service=True)
    outcome = rolewarden.service.by_resource(
        ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE, old, request
    )

    # Then it failed, and the journal knows the revision it registered
    assert outcome.status is OutcomeStatus.FAILED
    entry = only_entry(rolewarden)
    assert entry.status is Status.FAILED and "AccessDeniedException" in (entry.error or "")
    new = entry.change.target["new_revision"]
    revision = ecs.describe_task_definition(taskDefinition=new)["taskDefinition"]
    assert revision["status"] == "ACTIVE"

    # When restored (forced: it is neither as before nor as after), the revision is gone
    refused = rolewarden.service.restore(entry.journal_id, Request(actor="alice", apply=True))
    assert refused.status is OutcomeStatus.REFUSED
    assert refused.reasons[0].startswith("the change ended failed partway")
    forced = Request(actor="alice", apply=True, force=True)
    restored = rolewarden.service.restore(entry.journal_id, forced)
    assert restored.status is OutcomeStatus.RESTORED
    assert (
        ecs.describe_task_definition(taskDefinition=new)["taskDefinition"]["status"] == "INACTIVE"
    )
    described = ecs.describe_services(cluster="partial", services=[service])["services"][0]
    assert described["taskDefinition"] == old
