"""Safety nets around a change: one change per resource at a time, CloudFormation's own
resources left to their stack, restore markers that hold even when the undo fails, and
a journal that is data, not orders (a forged or mismatched entry is not restored).

Scenarios:
  1. Another remediation holds the resource's lock -> refused, nothing changed; the lock
     is released after a change, and an expired one does not block.
  2. CloudFormation says a stack owns the role -> automatic refused naming the stack; a
     person may. CloudFormation cannot be asked -> automatic refused (when unsure, don't).
  3. A restore whose undo fails still leaves the restore marker: the grace holds.
  4. A journal entry whose target is not the resource it names -> restore refused.
  5. The fix was made by someone else between the plan and the change -> nothing to do.
  6. A resource protected since its change -> restore refused, even forced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from functional.remediation.support import (
    APPLY,
    NOT_SERVED_BY_MOTO,
    RULE_APP,
    Body,
    Fault,
    attached,
    host_role,
    inject,
    start_rolewarden,
)
from rolewarden.demo.builders import ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN
from rolewarden.remediation.journal import LOCK_SECONDS
from rolewarden.remediation.outcome import OutcomeStatus
from rolewarden.remediation.request import Request
from rolewarden.remediation.runner import ChangeRunner
from rolewarden.remediation.service import RemediationService
from rolewarden.settings import Settings

AUTOMATIC = Request(actor="event:e-1", apply=True, automatic=True)


def automatic_service(rolewarden: SimpleNamespace) -> RemediationService:
    settings = Settings(journal_table=rolewarden.table, rule_modes={RULE_APP: "remediate"})
    return RemediationService(
        rolewarden.clients, settings, ["us-east-1"], rolewarden.journal, cli=False
    )


def automatic_service_asking_cloudformation(
    rolewarden: SimpleNamespace, stack_resources: Fault
) -> RemediationService:
    """The automatic service, whose question to CloudFormation (which stack owns the
    resource) gets the answer `stack_resources`."""
    service = automatic_service(rolewarden)
    inject(service.clients, "cloudformation.DescribeStackResources", stack_resources)
    return service


# --- 1. one change per resource at a time ------------------------------------------------


def test_a_resource_locked_by_another_remediation_is_left_alone(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given another invocation holding the role's lock
    role_arn = host_role(session, "locked-host", app_policy="managed")
    token = rolewarden.journal.lock(role_arn, datetime.now(UTC))
    assert token is not None
    # When a person remediates the role, then it is refused and nothing changes
    busy = rolewarden.service.by_resource(RULE_APP, role_arn, APPLY)
    assert busy.status is OutcomeStatus.REFUSED
    assert busy.reasons == [f"another remediation or restore of {role_arn} is under way"]
    assert attached(session, "locked-host") == {ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN}
    # When the other one is done, then the remediation goes ahead and releases the lock
    rolewarden.journal.unlock(role_arn, token)
    done = rolewarden.service.by_resource(RULE_APP, role_arn, APPLY)
    assert done.status is OutcomeStatus.APPLIED
    assert rolewarden.journal.lock(role_arn, datetime.now(UTC)) is not None


def test_a_lock_whose_holder_died_expires(rolewarden: SimpleNamespace) -> None:
    arn = "arn:aws:iam::123456789012:role/crashed-holder"
    long_ago = datetime.now(UTC) - timedelta(seconds=LOCK_SECONDS + 1)
    assert rolewarden.journal.lock(arn, long_ago) is not None
    assert rolewarden.journal.lock(arn, datetime.now(UTC)) is not None
    assert rolewarden.journal.lock(arn, datetime.now(UTC)) is None  # now held


# --- 2. CloudFormation's resources --------------------------------------------------------


def stack_owns_it(stack: str) -> Any:
    """CloudFormation's answer to DescribeStackResources: `stack` has the resource."""

    def respond(request: AWSPreparedRequest, *_: Any) -> AWSResponse:
        body = (
            "<DescribeStackResourcesResponse><DescribeStackResourcesResult><StackResources>"
            f"<member><StackName>{stack}</StackName><LogicalResourceId>HostRole"
            "</LogicalResourceId><ResourceType>AWS::IAM::Role</ResourceType>"
            "<Timestamp>2026-01-01T00:00:00Z</Timestamp><ResourceStatus>CREATE_COMPLETE"
            "</ResourceStatus></member></StackResources></DescribeStackResourcesResult>"
            "</DescribeStackResourcesResponse>"
        )
        url = request.url
        request.url = NOT_SERVED_BY_MOTO
        return AWSResponse(url, 200, {"Content-Type": "text/xml"}, Body(body.encode()))

    return respond


def test_a_role_a_stack_owns_is_not_changed_automatically(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a host role that CloudFormation says stack orders-infra created (untagged)
    role_arn = host_role(session, "stack-host", app_policy="managed")
    service = automatic_service_asking_cloudformation(
        rolewarden, Fault(200, "", "", respond=stack_owns_it("orders-infra"))
    )
    # When RoleWarden remediates it on its own, then it refuses, naming the stack
    outcome = service.by_resource(RULE_APP, role_arn, AUTOMATIC)
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons == [
        "not automatic: managed by CloudFormation stack orders-infra: fix the template, or "
        "the stack puts it back"
    ]
    assert attached(session, "stack-host") == {ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN}
    # But a person may
    assert rolewarden.service.by_resource(RULE_APP, role_arn, APPLY).status.value == "applied"


def test_when_cloudformation_cannot_be_asked_nothing_is_changed_automatically(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    role_arn = host_role(session, "unknown-owner-host", app_policy="managed")
    service = automatic_service_asking_cloudformation(
        rolewarden, Fault(403, "AccessDenied", "not authorized")
    )
    outcome = service.by_resource(RULE_APP, role_arn, AUTOMATIC)
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons[0].startswith(
        "not automatic: cannot tell whether CloudFormation manages it"
    )
    assert S3_READ_ONLY_POLICY_ARN in attached(session, "unknown-owner-host")


def test_a_role_no_stack_owns_is_changed_automatically(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    role_arn = host_role(session, "own-host", app_policy="managed")
    outcome = automatic_service(rolewarden).by_resource(RULE_APP, role_arn, AUTOMATIC)
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert attached(session, "own-host") == {ECS_AGENT_POLICY_ARN}


# --- 3. the restore marker ---------------------------------------------------------------


def test_a_failed_undo_still_keeps_the_restored_resource_in_its_grace(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a detached policy, and IAM denying the re-attach of the restore
    role_arn = host_role(session, "grace-host", app_policy="managed")
    (entry,) = rolewarden.service.by_resource(RULE_APP, role_arn, APPLY).journal
    restorer = start_rolewarden(session, rolewarden.table)
    inject(restorer.clients, "iam.AttachRolePolicy", Fault(403, "AccessDenied", "no"))
    # When a person restores it, the undo fails
    assert restorer.service.restore(entry.journal_id, APPLY).status is OutcomeStatus.FAILED
    # Then RoleWarden still leaves the resource alone for the grace period
    marked = rolewarden.journal.restored_within(role_arn, datetime.now(UTC), 24)
    assert marked is not None


# --- 4. the journal is data ---------------------------------------------------------------


def test_an_entry_whose_target_is_another_resource_is_not_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a journal entry that names one role but whose change targets another
    role_arn = host_role(session, "named-host", app_policy="managed")
    host_role(session, "victim-host", app_policy="managed")
    (entry,) = rolewarden.service.by_resource(RULE_APP, role_arn, APPLY).journal
    forged = rolewarden.journal.get(entry.journal_id)
    forged.change = forged.change.with_after(forged.change.after, role_name="victim-host")
    rolewarden.journal.save(forged)
    # When it is restored, then nothing is attached to the other role
    outcome = rolewarden.service.restore(
        entry.journal_id, Request(actor="x", apply=True, force=True)
    )
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons == [
        f"journal entry {entry.journal_id} does not describe a change of {role_arn}: not restored"
    ]
    assert attached(session, "victim-host") == {ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN}


def test_a_fix_made_by_someone_else_after_the_plan_is_nothing_to_do(
    session: Any, rolewarden: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a person detaching the policy by hand between RoleWarden's plan and its change
    role_arn = host_role(session, "raced-host", app_policy="managed")
    take_lock = ChangeRunner.exclusive

    @contextmanager
    def meanwhile(runner: ChangeRunner, arn: str) -> Iterator[None]:
        session.client("iam").detach_role_policy(
            RoleName="raced-host", PolicyArn=S3_READ_ONLY_POLICY_ARN
        )
        with take_lock(runner, arn):
            yield

    monkeypatch.setattr(ChangeRunner, "exclusive", meanwhile)
    # When RoleWarden goes on, then it plans the step again, finds it done, journals nothing
    outcome = rolewarden.service.by_resource(RULE_APP, role_arn, APPLY)
    assert outcome.status is OutcomeStatus.NOTHING_TO_DO
    assert outcome.reasons == ["already remediated: nothing to change"]
    assert rolewarden.journal.entries() == []


def test_a_resource_protected_since_its_change_is_not_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a detached policy, and the role tagged rolewarden:protected afterwards
    role_arn = host_role(session, "protected-later-host", app_policy="managed")
    (entry,) = rolewarden.service.by_resource(RULE_APP, role_arn, APPLY).journal
    session.client("iam").tag_role(
        RoleName="protected-later-host", Tags=[{"Key": "rolewarden:protected", "Value": "yes"}]
    )
    # When a person restores it, even forcing, then it is refused and nothing changes
    outcome = rolewarden.service.restore(
        entry.journal_id, Request(actor="alice", apply=True, force=True)
    )
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons == ["never changed: protected: tagged rolewarden:protected"]
    assert attached(session, "protected-later-host") == {ECS_AGENT_POLICY_ARN}
