"""split-mixed-policy end to end, in moto: judged, split, journaled, verified, restored.

Scenarios:
  1. An ECS host role with a mixed customer managed policy and a mixed inline policy, the
     rule in remediate mode -> RoleWarden splits both on its own: the ECS agent's actions
     stay, the application's go; each restore brings back exactly what was there.
  2. The customer managed policy is attached to another role too -> its new version would
     change that role: not automatic, and a person without --force is refused naming it;
     forced, it is split and the journal says what was forced.
  3. Who else uses the policy cannot be read -> said so, as a reason a person forces past,
     never a crash.
  4. The reply to CreatePolicyVersion is lost after IAM made the version (at 4 versions,
     where a blind retry would hit IAM's limit) -> that version is adopted, not made again:
     one new version, the default, named by the journal; restore leaves the versions as
     they were. Also when the version made is not the default: it is made the default.
  5. The call is lost before it reached IAM -> nothing found, made again once: one version.
  6. The process dies once IAM made the version, before the journal learns it -> restore
     finds it (by the versions before and the split's digest) and deletes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from functional.accounts import REGION, make_host
from functional.dropped_calls import first_request_dropped, request_body
from functional.journals import create_table, signed_journal
from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    allow,
    create_cluster,
    create_customer_policy,
    create_role,
    policy_document,
)
from rolewarden.remediation.journal import Status
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.remediation.registry import ACTIONS
from rolewarden.remediation.request import Request
from rolewarden.remediation.service import RemediationService
from rolewarden.rules import ids
from rolewarden.settings import Settings

RULE = ids.INSTANCE_ROLE_APP_PERMISSIONS
AUTOMATIC = Request(actor="sweep", apply=True, automatic=True)
PERSON = Request(actor="alice@example.com", apply=True)
PERSON_FORCING = Request(actor="alice@example.com", apply=True, force=True)
REMEDIATE = {"rule_modes": {RULE: "remediate"}}
CLUSTER = "web"

MIXED_MANAGED = policy_document(
    allow(["ecr:GetAuthorizationToken", "logs:PutLogEvents", "s3:GetObject"])
)
MANAGED_BASELINE = policy_document(allow(["ecr:GetAuthorizationToken", "logs:PutLogEvents"]))
MIXED_INLINE = policy_document(allow(["ecs:Poll", "dynamodb:GetItem"]))
INLINE_BASELINE = policy_document(allow(["ecs:Poll"]))


@pytest.fixture
def aws(mock_aws: boto3.Session) -> Iterator[SimpleNamespace]:
    create_table(mock_aws.client("dynamodb"), "journal")
    create_cluster(mock_aws.client("ecs"), CLUSTER)  # the hosts are registered ECS hosts
    yield SimpleNamespace(
        session=mock_aws,
        iam=mock_aws.client("iam"),
        journal=signed_journal(mock_aws.client("dynamodb"), "journal"),
    )


def service(aws: SimpleNamespace, **settings: Any) -> RemediationService:
    clients = AwsClients(aws.session, home_region=REGION)
    return RemediationService(clients, Settings(**settings), [REGION], aws.journal, cli=True)


def remediate(aws: SimpleNamespace, arn: str, request: Request, **settings: Any) -> Outcome:
    return service(aws, **settings).by_resource(RULE, arn, request)


def default_document(aws: SimpleNamespace, arn: str) -> tuple[str, Any]:
    version = aws.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = aws.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    return version, document["Document"]


def versions(aws: SimpleNamespace, arn: str) -> list[str]:
    listed = aws.iam.list_policy_versions(PolicyArn=arn)["Versions"]
    return sorted(version["VersionId"] for version in listed)


def inline_document(aws: SimpleNamespace, role: str) -> Any:
    return aws.iam.get_role_policy(RoleName=role, PolicyName="host")["PolicyDocument"]


def test_scenario_1_mixed_policies_are_split_on_their_own_and_restored_exactly(
    aws: SimpleNamespace,
) -> None:
    # Given an ECS host role with a mixed customer managed policy and a mixed inline one
    policy = create_customer_policy(aws.iam, "host-and-app", MIXED_MANAGED)
    host = make_host(
        aws.session,
        "split-host",
        cluster=CLUSTER,
        managed=(ECS_AGENT_POLICY_ARN, policy),
        inline={"host": MIXED_INLINE},
    )

    # When RoleWarden remediates the role on its own, in remediate mode
    outcome = remediate(aws, host.role_arn, AUTOMATIC, **REMEDIATE)

    # Then both are split: baseline statements kept, application ones gone, still attached
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert [change.action for change in outcome.plan] == ["split-mixed-policy"] * 2
    assert default_document(aws, policy) == ("v2", MANAGED_BASELINE)
    assert inline_document(aws, "split-host") == INLINE_BASELINE
    attached = aws.iam.list_attached_role_policies(RoleName="split-host")["AttachedPolicies"]
    assert {p["PolicyArn"] for p in attached} == {ECS_AGENT_POLICY_ARN, policy}
    # And the journal holds both, verified, nothing forced; the role is compliant now
    entries = aws.journal.entries()
    assert sorted((e.status, tuple(e.forced)) for e in entries) == [(Status.VERIFIED, ())] * 2
    again = remediate(aws, host.role_arn, AUTOMATIC, **REMEDIATE)
    assert again.status is OutcomeStatus.NO_LONGER_HOLDS

    # When each entry is restored
    for entry in entries:
        restored = service(aws).restore(entry.journal_id, PERSON)
        assert restored.status is OutcomeStatus.RESTORED, restored.reasons

    # Then v1 is the default again, RoleWarden's version is gone, the inline policy is back
    assert default_document(aws, policy) == ("v1", MIXED_MANAGED)
    assert versions(aws, policy) == ["v1"]
    assert inline_document(aws, "split-host") == MIXED_INLINE


def test_scenario_2_a_policy_other_roles_use_is_split_only_when_a_person_forces_it(
    aws: SimpleNamespace,
) -> None:
    # Given the mixed customer managed policy on the host role and on an application's role
    policy = create_customer_policy(aws.iam, "shared-host-and-app", MIXED_MANAGED)
    host = make_host(
        aws.session, "shared-host", cluster=CLUSTER, managed=(ECS_AGENT_POLICY_ARN, policy)
    )
    create_role(aws.iam, "reporting-app", managed_policy_arns=(policy,))
    shared = (
        f"shared policy: {policy} is also attached to role reporting-app; its new version "
        "takes the application permissions from them too"
    )

    # When RoleWarden remediates on its own, and a person without --force
    automatic = remediate(aws, host.role_arn, AUTOMATIC, **REMEDIATE)
    person = remediate(aws, host.role_arn, PERSON)

    # Then both are refused naming the other role, and the policy is unchanged
    assert (automatic.status, automatic.reasons) == (
        OutcomeStatus.REFUSED,
        [f"not automatic: {shared}"],
    )
    assert person.reasons == [f"blocked unless forced (--force): {shared}"]
    assert default_document(aws, policy) == ("v1", MIXED_MANAGED)
    assert aws.journal.entries() == []

    # When the person forces it / Then it is split, and the journal says what was forced
    forced = remediate(aws, host.role_arn, PERSON_FORCING)
    assert forced.status is OutcomeStatus.APPLIED, forced.reasons
    assert default_document(aws, policy) == ("v2", MANAGED_BASELINE)
    assert [entry.forced for entry in aws.journal.entries()] == [[shared]]


def test_who_else_uses_the_policy_unknown_is_a_reason_not_a_crash(aws: SimpleNamespace) -> None:
    # Given a mixed customer policy, and IAM refusing to list who uses it
    policy = create_customer_policy(aws.iam, "unlisted-host-and-app", MIXED_MANAGED)
    make_host(aws.session, "unlisted-host", managed=(ECS_AGENT_POLICY_ARN, policy))

    def denied(model: Any, **_: Any) -> Any:
        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
        return SimpleNamespace(status_code=403, headers={}), error

    aws.session.events.register("before-call.iam.ListEntitiesForPolicy", denied)
    clients = AwsClients(aws.session, home_region=REGION)
    action = ACTIONS["split-mixed-policy"]
    params = {
        "role_name": "unlisted-host",
        "policy_arn": policy,
        "document": MANAGED_BASELINE,
        "source": {"version_id": "v1"},
    }
    change = action.plan(clients, REGION, action.parse(params))
    assert change is not None

    # When its pre-flight runs / Then it says who else uses it is unknown: a person decides
    reasons = action.preflight(clients, change, Settings(), datetime.now(UTC))
    assert reasons == [
        f"who else uses {policy} is unknown (iam:ListEntitiesForPolicy: AccessDenied: not "
        "authorized): its new version changes them too"
    ]


# --- 4-6. the reply to CreatePolicyVersion lost, the process killed ------------------------


def creating_a_version(request: AWSPreparedRequest) -> bool:
    return "Action=CreatePolicyVersion" in request_body(request)


def reply_lost_after_iam_made_it(
    session: boto3.Session, then: Callable[[], Any] = lambda: None
) -> AbstractContextManager[list[str]]:
    """The read times out once IAM (moto) made the version: the client never hears back
    (`then` runs there too, as IAM would go on)."""
    return first_request_dropped(session, creating_a_version, ReadTimeoutError, then=then)


def call_lost_before_iam(session: boto3.Session) -> AbstractContextManager[list[str]]:
    """The connection fails before the call reaches IAM: moto never sees it."""
    return first_request_dropped(
        session, creating_a_version, EndpointConnectionError, before_moto=True
    )


@contextmanager
def killed_once_iam_made_it(session: boto3.Session) -> Iterator[None]:
    """The process dies right after IAM made the version (a Lambda timeout, a kill)."""

    def kill(**_: Any) -> None:
        raise RuntimeError("killed")

    session.events.register("after-call.iam.CreatePolicyVersion", kill)
    try:
        yield
    finally:
        session.events.unregister("after-call.iam.CreatePolicyVersion", kill)


def policy_with_four_versions(aws: SimpleNamespace, name: str) -> str:
    """The mixed policy as v1, its default, and three older drafts a person kept."""
    arn = create_customer_policy(aws.iam, name, MIXED_MANAGED)
    for action in ("sqs:SendMessage", "sns:Publish", "kms:Decrypt"):
        draft = policy_document(allow([action]))
        aws.iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(draft))
    return arn


def host_of(aws: SimpleNamespace, name: str, policy: str) -> str:
    """An ECS host whose role has the agent's policy and `policy`: its role's ARN."""
    host = make_host(aws.session, name, cluster=CLUSTER, managed=(ECS_AGENT_POLICY_ARN, policy))
    return str(host.role_arn)


def restore_only_entry(aws: SimpleNamespace) -> Any:
    (entry,) = aws.journal.entries()
    restored = service(aws).restore(entry.journal_id, PERSON)
    assert restored.status is OutcomeStatus.RESTORED, restored.reasons
    return entry


@pytest.mark.parametrize("made_default", [True, False], ids=["default", "not-default"])
def test_scenario_4_a_lost_reply_adopts_the_version_iam_made(
    aws: SimpleNamespace, lost_reply_waits: list[float], made_default: bool
) -> None:
    # Given a mixed customer policy with 4 versions: a second new one would be refused
    policy = policy_with_four_versions(aws, f"lost-reply-{made_default}")
    role_arn = host_of(aws, f"lost-reply-host-{made_default}", policy)

    def default_back_to_v1() -> None:  # as though IAM had not made v5 the default yet
        if not made_default:
            aws.iam.set_default_policy_version(PolicyArn=policy, VersionId="v1")

    # When a person splits it, and the reply to CreatePolicyVersion is lost
    with reply_lost_after_iam_made_it(aws.session, then=default_back_to_v1) as dropped:
        outcome = remediate(aws, role_arn, PERSON)

    # Then the version IAM made is adopted after a wait: one new version, the default
    assert dropped, "the reply was not lost"
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert len(lost_reply_waits) == 1
    assert versions(aws, policy) == ["v1", "v2", "v3", "v4", "v5"]
    assert default_document(aws, policy) == ("v5", MANAGED_BASELINE)
    # And the journal names it, and verified it
    (entry,) = aws.journal.entries()
    assert entry.status is Status.VERIFIED
    assert entry.change.target["created_version"] == "v5"
    assert entry.change.target["versions_before"] == ["v1", "v2", "v3", "v4"]

    # When restored / Then the versions are as they were, v1 the default
    restore_only_entry(aws)
    assert versions(aws, policy) == ["v1", "v2", "v3", "v4"]
    assert default_document(aws, policy) == ("v1", MIXED_MANAGED)


def test_scenario_5_a_call_lost_before_it_reached_iam_is_made_again_once(
    aws: SimpleNamespace, lost_reply_waits: list[float]
) -> None:
    # Given a mixed customer policy
    policy = create_customer_policy(aws.iam, "lost-call", MIXED_MANAGED)
    role_arn = host_of(aws, "lost-call-host", policy)

    # When a person splits it, and the call never reaches IAM
    with call_lost_before_iam(aws.session) as dropped:
        outcome = remediate(aws, role_arn, PERSON)

    # Then nothing was found, the call was made again, once: one new version, the default
    assert dropped, "the call was not lost"
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert versions(aws, policy) == ["v1", "v2"]
    assert default_document(aws, policy) == ("v2", MANAGED_BASELINE)
    (entry,) = aws.journal.entries()
    assert entry.change.target["created_version"] == "v2"
    restore_only_entry(aws)
    assert versions(aws, policy) == ["v1"]


def test_scenario_6_a_version_made_before_a_crash_is_found_and_deleted_on_restore(
    aws: SimpleNamespace,
) -> None:
    # Given a mixed customer policy
    policy = policy_with_four_versions(aws, "killed")
    role_arn = host_of(aws, "killed-host", policy)

    # When a person splits it, and the process dies once IAM made the version
    with killed_once_iam_made_it(aws.session), pytest.raises(RuntimeError):
        remediate(aws, role_arn, PERSON)

    # Then the journal holds the intent, not the version
    (entry,) = aws.journal.entries()
    assert entry.status is Status.STARTED
    assert "created_version" not in entry.change.target
    assert default_document(aws, policy) == ("v5", MANAGED_BASELINE)

    # When the entry is restored / Then the version it never learned is found and deleted
    restore_only_entry(aws)
    assert versions(aws, policy) == ["v1", "v2", "v3", "v4"]
    assert default_document(aws, policy) == ("v1", MIXED_MANAGED)
