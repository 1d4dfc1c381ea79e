"""register-task-definition-with-task-role: the role checked first, one revision per change.

Scenarios:
  1. The reply to RegisterTaskDefinition is lost after ECS registered the revision: one
     new revision, tagged with the journal id and journaled, adopted instead of registered
     again; restore deregisters it.
  2. The process dies after the revision is registered, before the journal learns it:
     restore finds the revision by its tag and deregisters it.
  3. A task role that is not a role ARN, of another account, missing, untrusting
     ecs-tasks.amazonaws.com, an instance role or the execution role is refused with
     the reason, and nothing is registered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ConnectionClosedError

from functional.accounts import ACCOUNT
from functional.dropped_calls import first_request_dropped, request_body
from functional.remediation.support import only_entry, start_rolewarden
from rolewarden.demo.builders import (
    ECS_TASKS_SERVICE,
    create_instance_profile,
    create_role,
    register_task_definition,
)
from rolewarden.remediation.actions.register_task_definition_with_task_role import JOURNAL_TAG
from rolewarden.remediation.journal import Status
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.remediation.request import Request
from rolewarden.rules import ids

RULE = ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE


def active_revisions(session: Any, family: str) -> list[str]:
    arns: list[str] = session.client("ecs").list_task_definitions(
        familyPrefix=family, status="ACTIVE"
    )["taskDefinitionArns"]
    return arns


def tags_of(session: Any, arn: str) -> dict[str, str]:
    response = session.client("ecs").describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return {tag["key"]: tag["value"] for tag in response.get("tags", [])}


def give_task_role(rolewarden: SimpleNamespace, definition: str, task_role: str) -> Outcome:
    request = Request(actor="alice", apply=True, task_role_arn=task_role)
    outcome: Outcome = rolewarden.service.by_resource(RULE, definition, request)
    return outcome


@pytest.fixture(scope="module")
def task_role(session: Any) -> str:
    return create_role(session.client("iam"), "registration-task", trust_service=ECS_TASKS_SERVICE)


def registering(request: AWSPreparedRequest, family: str) -> bool:
    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else str(target)
    return (
        target.endswith(".RegisterTaskDefinition")
        and json.loads(request_body(request))["family"] == family
    )


def reply_lost_once(session: Any, family: str) -> AbstractContextManager[list[str]]:
    """The connection drops after ECS (moto) took the call: the client never hears back.

    Raising ConnectionClosedError once moto has answered is what botocore sees when a reply
    is lost, and what its retry handler retries."""
    return first_request_dropped(
        session, lambda request: registering(request, family), ConnectionClosedError
    )


@contextmanager
def crash_after_registering(session: Any, family: str) -> Iterator[None]:
    """The process dies right after ECS registered the revision (a Lambda timeout, a kill)."""

    def crash(parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("taskDefinition", {}).get("family") == family:
            raise RuntimeError("killed")

    event = "after-call.ecs.RegisterTaskDefinition"
    session.events.register(event, crash)
    try:
        yield
    finally:
        session.events.unregister(event, crash)


# --- 1. a lost reply ------------------------------------------------------------------


def test_a_lost_reply_registers_one_revision_and_the_journal_knows_it(
    session: Any, rolewarden: SimpleNamespace, task_role: str, lost_reply_waits: list[float]
) -> None:
    # Given a task definition without a task role
    old = register_task_definition(session.client("ecs"), "lost-reply")
    # When a person gives it a task role, and the reply to RegisterTaskDefinition is lost
    with reply_lost_once(session, "lost-reply") as dropped:
        outcome = give_task_role(rolewarden, old, task_role)
    # Then one new revision exists, adopted from ECS rather than registered again
    assert dropped, "the reply was not dropped"
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert len(lost_reply_waits) == 1  # it waited before looking
    revisions = active_revisions(session, "lost-reply")
    assert len(revisions) == 2, revisions
    new = revisions[1]
    # and it is journaled, and carries the journal id
    entry = only_entry(rolewarden)
    assert entry.status is Status.VERIFIED
    assert entry.change.target["new_revision"] == new
    assert tags_of(session, new)[JOURNAL_TAG] == entry.journal_id
    # When the entry is restored, then that revision is deregistered
    restored = rolewarden.service.restore(entry.journal_id, Request(actor="alice", apply=True))
    assert restored.status is OutcomeStatus.RESTORED, restored.reasons
    assert active_revisions(session, "lost-reply") == [old]


# --- 2. a crash before the journal learns the revision ----------------------------------


def test_a_revision_registered_before_a_crash_is_found_by_its_tag(
    session: Any, rolewarden: SimpleNamespace, task_role: str
) -> None:
    # Given a task definition without a task role
    old = register_task_definition(session.client("ecs"), "crashed-registration")
    # When a person gives it a task role and the process dies once ECS has registered it
    with crash_after_registering(session, "crashed-registration"), pytest.raises(RuntimeError):
        give_task_role(rolewarden, old, task_role)
    # Then the journal holds the intent, not the revision
    entry = only_entry(rolewarden)
    assert entry.status is Status.STARTED
    assert entry.change.target["journal_id"] == entry.journal_id
    assert "new_revision" not in entry.change.target
    new = active_revisions(session, "crashed-registration")[1]
    assert tags_of(session, new)[JOURNAL_TAG] == entry.journal_id
    # When a person restores the entry from a new process
    restarted = start_rolewarden(session, rolewarden.table)
    restored = restarted.service.restore(entry.journal_id, Request(actor="alice", apply=True))
    # Then the revision it never learned is found by its tag and deregistered
    assert restored.status is OutcomeStatus.RESTORED, restored.reasons
    assert active_revisions(session, "crashed-registration") == [old]


# --- 3. the task role is checked before anything is registered ---------------------------


def role_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:role{path}{name}"


@pytest.fixture(scope="module")
def refused_roles(session: Any) -> dict[str, str]:
    """Roles a task may not have, by what is wrong with them."""
    iam = session.client("iam")
    instance_role = create_role(iam, "tasky-instance-role", trust_service=ECS_TASKS_SERVICE)
    create_instance_profile(iam, "tasky-instance-profile", "tasky-instance-role")
    create_role(iam, "pathed-task", trust_service=ECS_TASKS_SERVICE, path="/teams/")
    return {
        "not an ARN": "registration-task",
        "another account": "arn:aws:iam::210987654321:role/registration-task",
        "missing": role_arn("no-such-task-role"),
        "another path": role_arn("pathed-task"),
        "untrusting": create_role(iam, "ec2-only-role"),
        "instance role": instance_role,
        "execution role": create_role(iam, "checked-execution", trust_service=ECS_TASKS_SERVICE),
    }


REASONS = {
    "not an ARN": "task role 'registration-task' is not a role ARN "
    "(arn:aws:iam::ACCOUNT:role/NAME)",
    "another account": "task role arn:aws:iam::210987654321:role/registration-task is not a "
    f"role of this account ({ACCOUNT}, aws): ECS passes only the task definition's own "
    "account's roles",
    "missing": f"task role {role_arn('no-such-task-role')} does not exist",
    "another path": f"task role {role_arn('pathed-task')} does not exist (the role named "
    f"pathed-task is {role_arn('pathed-task', '/teams/')})",
    "untrusting": f"task role {role_arn('ec2-only-role')} does not trust "
    "ecs-tasks.amazonaws.com: its trust policy must allow sts:AssumeRole to that service, "
    "or ECS cannot give the role to the task",
    "instance role": f"task role {role_arn('tasky-instance-role')} is an instance role "
    "(instance profile tasky-instance-profile): a task gets a role of its own, not a host's",
    "execution role": f"task role {role_arn('checked-execution')} is the task definition's "
    "execution role: the ECS agent and the application would share one identity; choose a "
    "role of the task's own",
}


@pytest.mark.parametrize("wrong", sorted(REASONS))
def test_a_task_role_that_cannot_serve_is_refused_and_nothing_registered(
    session: Any, rolewarden: SimpleNamespace, refused_roles: dict[str, str], wrong: str
) -> None:
    # Given a task definition without a task role (its execution role one that trusts ECS)
    family = f"checked-{wrong.replace(' ', '-')}"
    old = register_task_definition(
        session.client("ecs"), family, execution_role_arn=refused_roles["execution role"]
    )
    # When a person gives it a task role that cannot serve
    outcome = give_task_role(rolewarden, old, refused_roles[wrong])
    # Then it is refused with the reason, and nothing is registered or journaled
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons == [REASONS[wrong]]
    assert active_revisions(session, family) == [old]
    assert rolewarden.journal.entries() == []


def test_a_task_role_that_can_serve_is_registered(
    session: Any, rolewarden: SimpleNamespace, task_role: str
) -> None:
    # Given a task definition without a task role, and a role fit to be its task role
    old = register_task_definition(session.client("ecs"), "checked-fit")
    # When a person gives it that role, then a revision with it is registered
    outcome = give_task_role(rolewarden, old, task_role)
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert len(active_revisions(session, "checked-fit")) == 2
