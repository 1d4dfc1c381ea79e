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
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functional.accounts import REGION, make_host
from functional.journals import create_table, signed_journal
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    allow,
    create_cluster,
    create_customer_policy,
    create_role,
    policy_document,
)
from rolewarden.inventory.aws import AwsClients
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
    change = action.plan(clients, REGION, params)
    assert change is not None

    # When its pre-flight runs / Then it says who else uses it is unknown: a person decides
    reasons = action.preflight(clients, change, Settings(), datetime.now(UTC))
    assert reasons == [
        f"who else uses {policy} is unknown (iam:ListEntitiesForPolicy: AccessDenied: not "
        "authorized): its new version changes them too"
    ]
