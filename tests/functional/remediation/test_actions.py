"""Every remediation action, round trip in moto: plan, apply, read back, undo.

Scenarios:
  1. Each action in ACTIONS: the plan states `before` and `after`; once applied the
     account shows the change and the read-back equals `after`; once undone the account
     is as it was and the read-back equals `before`.
  2. A resource already as it should be plans nothing.
  3. A plan that cannot work is refused before anything changes (ActionError).
  4. End to end: a role finding remediated through RemediationService, journaled with
     the inline document, then restored from the journal to exactly its old policies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError

from functional.accounts import (
    ACCOUNT,
    ORDERS_TABLE_POLICY,
    REGION,
    expected_finding_id,
    live_profile_arns,
    make_role,
)
from functional.journals import create_table, key_alias
from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    ECS_TASKS_SERVICE,
    S3_READ_ONLY_POLICY_ARN,
    add_policy_version,
    allow,
    create_cluster,
    create_customer_policy,
    create_instance_profile,
    create_role,
    create_service,
    launch_instance,
    policy_document,
    register_task_definition,
)
from rolewarden.policy.digest import document_digest
from rolewarden.remediation.change import ActionError, ActionRefusedError, Change
from rolewarden.remediation.journal import Status
from rolewarden.remediation.outcome import OutcomeStatus
from rolewarden.remediation.registry import ACTIONS
from rolewarden.remediation.request import Request
from rolewarden.remediation.service import RemediationService, journal_of
from rolewarden.rules import ids
from rolewarden.settings import Settings

RULE_APP = ids.INSTANCE_ROLE_APP_PERMISSIONS

# The actions a round-trip test below covers (filled in by @round_trip).
ROUND_TRIPPED: set[str] = set()

Test = TypeVar("Test", bound=Callable[..., None])


def round_trip(action: str) -> Callable[[Test], Test]:
    def mark(test: Test) -> Test:
        ROUND_TRIPPED.add(action)
        return test

    return mark


@pytest.fixture(scope="module")
def aws(moto_account: Any) -> Iterator[SimpleNamespace]:
    """One account for the module; each scenario builds its own resources."""
    with moto_account() as session:
        iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
        yield SimpleNamespace(
            session=session,
            clients=AwsClients(session, home_region=REGION),
            iam=iam,
            ec2=ec2,
            ecs=ecs,
        )


def attached(iam: Any, role: str) -> set[str]:
    policies = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    return {policy["PolicyArn"] for policy in policies}


def inline_names(iam: Any, role: str) -> list[str]:
    names: list[str] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return names


def live_profile(aws: SimpleNamespace, instance_id: str) -> str | None:
    """The profile of the instance's live association (DescribeInstances lags in moto)."""
    live = live_profile_arns(aws.ec2, instance_id)
    assert len(live) <= 1, live
    return live[0] if live else None


def metadata_options(aws: SimpleNamespace, instance_id: str) -> dict[str, Any]:
    instance = aws.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
        "Instances"
    ][0]
    options = dict(instance["MetadataOptions"])
    options.pop("State", None)
    return options


def plan(name: str, aws: SimpleNamespace, **params: Any) -> Change | None:
    action = ACTIONS[name]
    return action.plan(aws.clients, REGION, action.parse(params))


def apply_and_read(name: str, aws: SimpleNamespace, change: Change) -> Change:
    """Apply the change; the read-back shows `after`."""
    action = ACTIONS[name]
    applied = action.apply(aws.clients, change)
    assert action.read(aws.clients, applied) == applied.after
    return applied


def undo_and_read(name: str, aws: SimpleNamespace, applied: Change) -> None:
    """Undo the change; the read-back shows `before`."""
    action = ACTIONS[name]
    action.undo(aws.clients, applied)
    assert action.read(aws.clients, applied) == applied.before


def test_every_action_has_a_round_trip_test() -> None:
    assert set(ACTIONS) == ROUND_TRIPPED


# --- detach-managed-policy -------------------------------------------------------------


@round_trip("detach-managed-policy")
def test_detaching_a_managed_policy_is_undone_by_attaching_it_again(aws: SimpleNamespace) -> None:
    # Given a host role with the ECS agent policy and an application policy
    make_role(aws.session, "detach-host", managed=(ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN))
    # When the application policy's detach is planned
    change = plan(
        "detach-managed-policy",
        aws,
        role_name="detach-host",
        policy_arn=S3_READ_ONLY_POLICY_ARN,
    )
    # Then the plan says what changes
    assert change is not None
    assert (change.before, change.after) == ({"attached": True}, {"attached": False})
    assert attached(aws.iam, "detach-host") == {ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN}

    # When it is applied, then only the agent policy is left
    applied = apply_and_read("detach-managed-policy", aws, change)
    assert attached(aws.iam, "detach-host") == {ECS_AGENT_POLICY_ARN}

    # When it is undone, then the role has both policies again
    undo_and_read("detach-managed-policy", aws, applied)
    assert attached(aws.iam, "detach-host") == {ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN}


def test_a_policy_already_detached_plans_nothing(aws: SimpleNamespace) -> None:
    # Given a host role without the application policy
    make_role(aws.session, "detached-host")
    # When its detach is planned, then there is nothing to do
    assert (
        plan(
            "detach-managed-policy",
            aws,
            role_name="detached-host",
            policy_arn=S3_READ_ONLY_POLICY_ARN,
        )
        is None
    )


# --- delete-inline-policy ---------------------------------------------------------------


@round_trip("delete-inline-policy")
def test_deleting_an_inline_policy_is_undone_with_its_exact_document(aws: SimpleNamespace) -> None:
    # Given a host role with an inline application policy
    make_role(aws.session, "inline-host", inline={"orders-table": ORDERS_TABLE_POLICY})
    # When its deletion is planned, then the plan holds the document to put back
    change = plan("delete-inline-policy", aws, role_name="inline-host", policy_name="orders-table")
    assert change is not None
    assert change.before == {"document": ORDERS_TABLE_POLICY}
    assert change.after == {"document": None}

    # When it is applied, then the role has no inline policy left
    applied = apply_and_read("delete-inline-policy", aws, change)
    assert inline_names(aws.iam, "inline-host") == []
    with pytest.raises(ClientError, match="NoSuchEntity"):
        aws.iam.get_role_policy(RoleName="inline-host", PolicyName="orders-table")
    assert attached(aws.iam, "inline-host") == {ECS_AGENT_POLICY_ARN}

    # When it is undone, then the policy is back with the same document
    undo_and_read("delete-inline-policy", aws, applied)
    assert inline_names(aws.iam, "inline-host") == ["orders-table"]
    document = aws.iam.get_role_policy(RoleName="inline-host", PolicyName="orders-table")
    assert document["PolicyDocument"] == ORDERS_TABLE_POLICY


def test_an_inline_policy_already_deleted_plans_nothing(aws: SimpleNamespace) -> None:
    # Given a host role without the inline policy
    make_role(aws.session, "no-inline-host")
    # When its deletion is planned, then there is nothing to do
    change = plan(
        "delete-inline-policy", aws, role_name="no-inline-host", policy_name="orders-table"
    )
    assert change is None


def test_a_missing_role_is_not_taken_for_a_deleted_policy(aws: SimpleNamespace) -> None:
    # Given no role named "gone-host"
    # When deleting its inline policy is planned, then the plan fails instead of saying "done"
    with pytest.raises(ActionError, match="NoSuchEntity"):
        plan("delete-inline-policy", aws, role_name="gone-host", policy_name="orders-table")


# --- split-mixed-policy -------------------------------------------------------------------

MIXED = policy_document(allow(["ecr:GetAuthorizationToken", "logs:PutLogEvents", "s3:GetObject"]))
BASELINE_ONLY = policy_document(allow(["ecr:GetAuthorizationToken", "logs:PutLogEvents"]))


def default_version(aws: SimpleNamespace, arn: str) -> tuple[str, Any]:
    version_id = aws.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    version = aws.iam.get_policy_version(PolicyArn=arn, VersionId=version_id)["PolicyVersion"]
    return version_id, version["Document"]


def version_ids(aws: SimpleNamespace, arn: str) -> list[str]:
    return sorted(v["VersionId"] for v in aws.iam.list_policy_versions(PolicyArn=arn)["Versions"])


def split_params(role: str, document: Any = BASELINE_ONLY, **policy: Any) -> dict[str, Any]:
    return {"role_name": role, "document": document, **policy}


@round_trip("split-mixed-policy")
def test_splitting_a_managed_policy_makes_a_new_default_version_and_undo_brings_back_the_old(
    aws: SimpleNamespace,
) -> None:
    # Given a host role with a customer policy granting ECR and logs (baseline) and S3
    arn = create_customer_policy(aws.iam, "split-host-and-app", MIXED)
    make_role(aws.session, "split-managed-host", managed=(ECS_AGENT_POLICY_ARN, arn))
    # When its split is planned, from the version the finding read
    params = split_params("split-managed-host", policy_arn=arn, source={"version_id": "v1"})
    change = plan("split-mixed-policy", aws, **params)
    # Then the plan holds the default version and its document, and the split to make
    assert change is not None
    assert change.before == {"default_version": "v1", "document": MIXED}
    assert change.after == {"document": BASELINE_ONLY}

    # When applied, then a new default version keeps the baseline statements only, the
    # old version is kept, and the policy is still attached
    applied = apply_and_read("split-mixed-policy", aws, change)
    assert default_version(aws, arn) == ("v2", BASELINE_ONLY)
    assert version_ids(aws, arn) == ["v1", "v2"]
    assert applied.target["created_version"] == "v2"
    assert attached(aws.iam, "split-managed-host") == {ECS_AGENT_POLICY_ARN, arn}

    # When undone, then v1 is the default again and the version RoleWarden made is gone
    undo_and_read("split-mixed-policy", aws, applied)
    assert default_version(aws, arn) == ("v1", MIXED)
    assert version_ids(aws, arn) == ["v1"]


@round_trip("split-mixed-policy")
def test_splitting_an_inline_policy_puts_the_baseline_only_document_and_undo_the_original(
    aws: SimpleNamespace,
) -> None:
    # Given a host role with a mixed inline policy
    make_role(aws.session, "split-inline-host", inline={"host": MIXED})
    params = split_params(
        "split-inline-host", policy_name="host", source={"sha256": document_digest(MIXED)}
    )
    # When its split is planned / Then the plan holds the original document
    change = plan("split-mixed-policy", aws, **params)
    assert change is not None
    assert (change.before, change.after) == ({"document": MIXED}, {"document": BASELINE_ONLY})

    # When applied, then the inline policy holds the baseline statements only
    applied = apply_and_read("split-mixed-policy", aws, change)
    policy = aws.iam.get_role_policy(RoleName="split-inline-host", PolicyName="host")
    assert policy["PolicyDocument"] == BASELINE_ONLY

    # When undone, then the original document is back
    undo_and_read("split-mixed-policy", aws, applied)
    policy = aws.iam.get_role_policy(RoleName="split-inline-host", PolicyName="host")
    assert policy["PolicyDocument"] == MIXED


def test_a_policy_split_already_plans_nothing(aws: SimpleNamespace) -> None:
    make_role(aws.session, "split-done-host", inline={"host": BASELINE_ONLY})
    params = split_params("split-done-host", policy_name="host", source={"sha256": "old"})
    assert plan("split-mixed-policy", aws, **params) is None


def test_a_policy_changed_since_the_finding_is_not_split(aws: SimpleNamespace) -> None:
    # Given a managed policy whose default version moved on (v2) since the finding read v1,
    # and an inline policy edited since
    arn = create_customer_policy(aws.iam, "split-moved-on", MIXED)
    add_policy_version(aws.iam, arn, policy_document(allow(["ecr:*", "s3:*"])))
    make_role(aws.session, "split-moved-host", managed=(arn,), inline={"host": MIXED})
    stale = {"sha256": document_digest(BASELINE_ONLY)}

    # When their splits are planned / Then both are refused, and nothing changed
    with pytest.raises(ActionRefusedError, match=r"default version v1, now v2\): scan again"):
        plan(
            "split-mixed-policy",
            aws,
            **split_params("split-moved-host", policy_arn=arn, source={"version_id": "v1"}),
        )
    with pytest.raises(ActionRefusedError, match="changed since it was judged: scan again"):
        plan(
            "split-mixed-policy",
            aws,
            **split_params("split-moved-host", policy_name="host", source=stale),
        )
    assert version_ids(aws, arn) == ["v1", "v2"]


def test_a_policy_with_five_versions_is_refused_rather_than_trimmed(aws: SimpleNamespace) -> None:
    # Given a customer policy with IAM's five versions, v5 the default
    arn = create_customer_policy(aws.iam, "split-full", MIXED)
    for _ in range(4):
        add_policy_version(aws.iam, arn, MIXED)
    make_role(aws.session, "split-full-host", managed=(arn,))

    # When its split is planned / Then it is refused naming the versions a person may delete
    with pytest.raises(ActionRefusedError) as refused:
        plan(
            "split-mixed-policy",
            aws,
            **split_params("split-full-host", policy_arn=arn, source={"version_id": "v5"}),
        )
    assert str(refused.value) == (
        f"{arn} has 5 versions, the most IAM keeps: RoleWarden deletes none (each is one a "
        "person may roll back to); delete one no longer needed (v1, v2, v3, v4 are not the "
        "default), then remediate again"
    )
    # And every version is still there
    assert version_ids(aws, arn) == ["v1", "v2", "v3", "v4", "v5"]


def test_an_aws_managed_policy_is_refused_with_the_reason(aws: SimpleNamespace) -> None:
    params = split_params(
        "any-host", policy_arn=S3_READ_ONLY_POLICY_ARN, source={"version_id": "v1"}
    )
    with pytest.raises(ActionRefusedError, match="AWS managed policy: AWS owns its versions"):
        plan("split-mixed-policy", aws, **params)


# --- associate-instance-profile -------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_profile(aws: SimpleNamespace) -> str:
    """The baseline instance profile (with its role) the settings name."""
    _arn, _id, profile = make_role(aws.session, "baseline-profile")
    assert profile is not None
    return profile


@round_trip("associate-instance-profile")
def test_associating_the_baseline_profile_is_undone_by_disassociating_it(
    aws: SimpleNamespace, baseline_profile: str
) -> None:
    # Given an instance without an instance profile
    instance = launch_instance(aws.ec2, tags={"Name": "no-profile"})
    assert live_profile(aws, instance) is None
    # When associating the baseline profile is planned
    change = plan(
        "associate-instance-profile", aws, instance_id=instance, instance_profile="baseline-profile"
    )
    assert change is not None
    assert change.before == {"instance_profile_arn": None}
    assert change.after == {"instance_profile_arn": baseline_profile}

    # When applied, then the instance has the baseline profile
    applied = apply_and_read("associate-instance-profile", aws, change)
    assert live_profile(aws, instance) == baseline_profile

    # When undone, then the instance has no profile again
    undo_and_read("associate-instance-profile", aws, applied)
    assert live_profile(aws, instance) is None


@round_trip("associate-instance-profile")
def test_replacing_a_broken_profile_is_undone_by_putting_the_old_one_back(
    aws: SimpleNamespace, baseline_profile: str
) -> None:
    # Given an instance whose profile holds no role
    broken = create_instance_profile(aws.iam, "broken-profile", None)
    instance = launch_instance(aws.ec2, profile_arn=broken, tags={"Name": "broken"})
    # When replacing it with the baseline profile is planned
    change = plan(
        "associate-instance-profile",
        aws,
        instance_id=instance,
        instance_profile=baseline_profile,  # an ARN works as well as a name
        replace=True,
    )
    assert change is not None
    assert change.before == {"instance_profile_arn": broken}
    assert change.after == {"instance_profile_arn": baseline_profile}

    # When applied, then the instance's association is the baseline profile
    applied = apply_and_read("associate-instance-profile", aws, change)
    assert live_profile(aws, instance) == baseline_profile

    # When undone, then the broken profile is back
    undo_and_read("associate-instance-profile", aws, applied)
    assert live_profile(aws, instance) == broken


def test_an_instance_with_the_baseline_profile_plans_nothing(
    aws: SimpleNamespace, baseline_profile: str
) -> None:
    # Given an instance launched with the baseline profile
    instance = launch_instance(aws.ec2, profile_arn=baseline_profile)
    # When associating it is planned, then there is nothing to do
    change = plan(
        "associate-instance-profile", aws, instance_id=instance, instance_profile="baseline-profile"
    )
    assert change is None


def test_an_instance_with_another_profile_is_not_replaced_unless_asked(
    aws: SimpleNamespace, baseline_profile: str
) -> None:
    # Given an instance with a profile of its own
    _arn, _id, own = make_role(aws.session, "own-profile")
    instance = launch_instance(aws.ec2, profile_arn=own)
    # When associating the baseline profile is planned without `replace`
    # Then the plan is refused and the instance keeps its profile
    with pytest.raises(ActionError, match="already has instance profile"):
        plan(
            "associate-instance-profile",
            aws,
            instance_id=instance,
            instance_profile="baseline-profile",
        )
    assert live_profile(aws, instance) == own


def test_a_baseline_profile_without_a_role_is_refused(aws: SimpleNamespace) -> None:
    # Given a baseline profile that holds no role, and an instance without a profile
    create_instance_profile(aws.iam, "empty-baseline", None)
    instance = launch_instance(aws.ec2)
    # When associating it is planned, then it is refused: it would fix nothing
    with pytest.raises(ActionError, match="has no role"):
        plan(
            "associate-instance-profile",
            aws,
            instance_id=instance,
            instance_profile="empty-baseline",
        )
    assert live_profile(aws, instance) is None


def test_no_baseline_profile_configured_is_refused(aws: SimpleNamespace) -> None:
    instance = launch_instance(aws.ec2)
    with pytest.raises(ActionError, match="ROLEWARDEN_BASELINE_INSTANCE_PROFILE"):
        plan("associate-instance-profile", aws, instance_id=instance, instance_profile=None)


# --- enforce-imdsv2 -----------------------------------------------------------------------

# Every option away from its default, so a reset to a default shows.
OPEN_HOST_OPTIONS = {
    "HttpTokens": "optional",
    "HttpPutResponseHopLimit": 3,
    "HttpEndpoint": "enabled",
    "HttpProtocolIpv6": "enabled",
    "InstanceMetadataTags": "enabled",
}


@round_trip("enforce-imdsv2")
def test_enforcing_imdsv2_keeps_every_other_option_and_undo_restores_them_all(
    aws: SimpleNamespace,
) -> None:
    # Given an IMDSv1 host with hop limit 3, IPv6 and instance tags in its metadata
    instance = launch_instance(aws.ec2, http_tokens="optional", hop_limit=3)
    aws.ec2.modify_instance_metadata_options(InstanceId=instance, **OPEN_HOST_OPTIONS)
    assert metadata_options(aws, instance) == OPEN_HOST_OPTIONS
    # When enforcing IMDSv2 is planned
    change = plan("enforce-imdsv2", aws, instance_id=instance)
    assert change is not None
    assert change.before == OPEN_HOST_OPTIONS
    enforced = {**OPEN_HOST_OPTIONS, "HttpTokens": "required", "HttpPutResponseHopLimit": 1}
    assert change.after == enforced

    # When applied, then tokens are required with hop limit 1, and nothing else changed
    applied = apply_and_read("enforce-imdsv2", aws, change)
    assert metadata_options(aws, instance) == enforced

    # When undone, then every option is as it was
    undo_and_read("enforce-imdsv2", aws, applied)
    assert metadata_options(aws, instance) == OPEN_HOST_OPTIONS


def test_a_host_already_on_imdsv2_plans_nothing(aws: SimpleNamespace) -> None:
    # Given a host that requires tokens with hop limit 1
    instance = launch_instance(aws.ec2, http_tokens="required", hop_limit=1)
    # When enforcing IMDSv2 is planned, then there is nothing to do
    assert plan("enforce-imdsv2", aws, instance_id=instance) is None


def test_imdsv2_on_a_missing_instance_is_refused(aws: SimpleNamespace) -> None:
    with pytest.raises(ActionError):
        plan("enforce-imdsv2", aws, instance_id="i-0123456789abcdef0")


# --- register-task-definition-with-task-role ----------------------------------------

REGISTER = "register-task-definition-with-task-role"
# What DescribeTaskDefinition says differently of any two revisions.
REVISION_FIELDS = ("taskDefinitionArn", "revision", "registeredAt", "registeredBy", "status")


def described(aws: SimpleNamespace, arn: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    response = aws.ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return response["taskDefinition"], response.get("tags", [])


def service_definition(aws: SimpleNamespace, cluster: str, service: str) -> str:
    found = aws.ecs.describe_services(cluster=cluster, services=[service])["services"]
    definition: str = found[0]["taskDefinition"]
    return definition


def active_revisions(aws: SimpleNamespace, family: str) -> list[str]:
    arns: list[str] = aws.ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")[
        "taskDefinitionArns"
    ]
    return arns


@pytest.fixture(scope="module")
def task_role(aws: SimpleNamespace) -> str:
    return create_role(aws.iam, "orders-task", trust_service=ECS_TASKS_SERVICE)


@pytest.fixture(scope="module")
def execution_role(aws: SimpleNamespace) -> str:
    return create_role(aws.iam, "orders-execution", trust_service=ECS_TASKS_SERVICE)


def orders_service(aws: SimpleNamespace, name: str, execution_role: str) -> SimpleNamespace:
    """A cluster `name` whose service `name` runs a tagged definition without a task role."""
    create_cluster(aws.ecs, name)
    definition = register_task_definition(
        aws.ecs,
        name,
        execution_role_arn=execution_role,
        tags={"team": "orders", "cost-center": "42"},
    )
    service = create_service(aws.ecs, name, name, definition)
    return SimpleNamespace(cluster=name, definition=definition, service=service)


@round_trip(REGISTER)
def test_a_new_revision_with_the_task_role_leaves_services_alone_unless_asked(
    aws: SimpleNamespace, task_role: str, execution_role: str
) -> None:
    # Given a service running a task definition without a task role
    given = orders_service(aws, "orders-alone", execution_role)
    old, old_tags = described(aws, given.definition)
    # When a revision with the task role is planned, without moving the service
    change = plan(REGISTER, aws, task_definition_arn=given.definition, task_role_arn=task_role)
    assert change is not None
    assert change.before == {"new_revision_active": False, "services": {}}

    # When applied, then a new revision exists, identical but for its task role and tags kept
    applied = apply_and_read(REGISTER, aws, change)
    new_arn = applied.target["new_revision"]
    assert new_arn.endswith("orders-alone:2")
    new, new_tags = described(aws, new_arn)
    assert new["taskRoleArn"] == task_role
    assert "taskRoleArn" not in old
    ignored = (*REVISION_FIELDS, "taskRoleArn")
    assert {k: v for k, v in new.items() if k not in ignored} == {
        k: v for k, v in old.items() if k not in ignored
    }
    assert sorted(new_tags, key=str) == sorted(old_tags, key=str) != []
    # and the service still runs the old revision
    assert service_definition(aws, given.cluster, given.service) == given.definition

    # When undone, then the new revision is deregistered and the old one is left
    undo_and_read(REGISTER, aws, applied)
    assert described(aws, new_arn)[0]["status"] == "INACTIVE"
    assert active_revisions(aws, "orders-alone") == [given.definition]
    assert service_definition(aws, given.cluster, given.service) == given.definition


@round_trip(REGISTER)
def test_a_new_revision_with_update_service_moves_the_service_and_undo_moves_it_back(
    aws: SimpleNamespace, task_role: str, execution_role: str
) -> None:
    # Given a service running a task definition without a task role
    given = orders_service(aws, "orders-moved", execution_role)
    # When a revision with the task role is planned, moving the services that run it
    change = plan(
        REGISTER,
        aws,
        task_definition_arn=given.definition,
        task_role_arn=task_role,
        update_service=True,
    )
    assert change is not None
    assert change.target["services"] == [given.service]
    assert change.before == {
        "new_revision_active": False,
        "services": {given.service: given.definition},
    }

    # When applied, then the service runs the new revision, which has the task role
    applied = apply_and_read(REGISTER, aws, change)
    new_arn = applied.target["new_revision"]
    assert applied.after == {"new_revision_active": True, "services": {given.service: new_arn}}
    assert service_definition(aws, given.cluster, given.service) == new_arn
    assert described(aws, new_arn)[0]["taskRoleArn"] == task_role

    # When undone, then the service is back on the old revision and the new one is gone
    undo_and_read(REGISTER, aws, applied)
    assert service_definition(aws, given.cluster, given.service) == given.definition
    assert active_revisions(aws, "orders-moved") == [given.definition]


def test_a_definition_with_that_task_role_plans_nothing(
    aws: SimpleNamespace, task_role: str
) -> None:
    definition = register_task_definition(aws.ecs, "orders-done", task_role_arn=task_role)
    change = plan(REGISTER, aws, task_definition_arn=definition, task_role_arn=task_role)
    assert change is None


def test_a_new_revision_without_a_chosen_task_role_is_refused(aws: SimpleNamespace) -> None:
    # Given a task definition without a task role
    definition = register_task_definition(aws.ecs, "orders-unchosen")
    # When a revision is planned without saying which task role, then it is refused
    with pytest.raises(ActionError, match="task role"):
        plan(REGISTER, aws, task_definition_arn=definition, task_role_arn=None)
    assert active_revisions(aws, "orders-unchosen") == [definition]


# --- create-task-role -------------------------------------------------------------------

CREATE_ROLE = "create-task-role"
TASK_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ECS_TASKS_SERVICE},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ],
}
MIGRATION_TAGS = {"rolewarden:migrated-from": f"arn:aws:iam::{ACCOUNT}:role/shop-ecs-host"}


def task_role_params(name: str) -> dict[str, Any]:
    return {
        "role_name": name,
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/rolewarden/{name}",
        "regions": [REGION],
        "path": "/rolewarden/",
        "trust_policy": TASK_TRUST,
        "policy_document": ORDERS_TABLE_POLICY,
        "tags": MIGRATION_TAGS,
    }


@round_trip(CREATE_ROLE)
def test_creating_a_task_role_is_undone_by_deleting_it(aws: SimpleNamespace) -> None:
    # When a task role's creation is planned
    change = plan(CREATE_ROLE, aws, **task_role_params("orders-api-task"))
    # Then the plan says what changes
    assert change is not None
    wanted = {
        "path": "/rolewarden/",
        "trust_policy": TASK_TRUST,
        "boundary_arn": None,
        "policies": {"application": ORDERS_TABLE_POLICY},
        "attached": [],
    }
    assert (change.before, change.after) == ({"role": None}, {"role": wanted})

    # When it is applied (journaled first: the journal id becomes a tag)
    change = ACTIONS[CREATE_ROLE].journaled(change, "20261204T050000Z-0a0b0c0d")
    applied = apply_and_read(CREATE_ROLE, aws, change)
    # Then IAM has the role with its policy, trust, path and tags
    role = aws.iam.get_role(RoleName="orders-api-task")["Role"]
    assert role["Path"] == "/rolewarden/"
    assert role["AssumeRolePolicyDocument"] == TASK_TRUST
    assert {tag["Key"]: tag["Value"] for tag in role["Tags"]} == {
        **MIGRATION_TAGS,
        "rolewarden:journal-id": "20261204T050000Z-0a0b0c0d",
    }
    assert inline_names(aws.iam, "orders-api-task") == ["application"]
    # And planned again, the role as planned is nothing to do (an interrupted run resumes)
    assert plan(CREATE_ROLE, aws, **task_role_params("orders-api-task")) is None

    # When it is undone, then the role is gone
    undo_and_read(CREATE_ROLE, aws, applied)
    assert "orders-api-task" not in {r["RoleName"] for r in aws.iam.list_roles()["Roles"]}


def test_a_role_of_that_name_not_created_by_the_migration_is_never_reused(
    aws: SimpleNamespace,
) -> None:
    create_role(aws.iam, "payments-task", trust_service=ECS_TASKS_SERVICE)
    with pytest.raises(ActionRefusedError) as refused:
        plan(CREATE_ROLE, aws, **task_role_params("payments-task"))
    assert str(refused.value) == (
        "a role named payments-task exists already: RoleWarden creates its own, never reuses one"
    )


# --- end to end: remediate a role finding, then restore it from the journal ------------


class TestRemediateAndRestoreARole:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            role_arn, _id, _profile = make_role(
                session,
                "shop-host",
                managed=(ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN),
                inline={"orders-table": ORDERS_TABLE_POLICY},
            )
            clients = AwsClients(session, home_region=REGION)
            settings = Settings(journal_table="journal")
            create_table(clients.client("dynamodb"), "journal")
            journal = journal_of(clients, settings.journal_table, key_alias("journal"))
            yield SimpleNamespace(
                iam=session.client("iam"),
                role_arn=role_arn,
                journal=journal,
                service=RemediationService(clients, settings, [REGION], journal, cli=True),
            )

    def test_remediated_role_is_restored_to_exactly_its_policies(
        self, world: SimpleNamespace
    ) -> None:
        # Given a host role with an application managed policy and an inline policy
        finding_id = expected_finding_id(RULE_APP, world.role_arn)
        # When a person applies the finding's remediation
        outcome = world.service.by_finding_id(finding_id, Request(actor="alice", apply=True))
        # Then both policies are gone and each step is journaled as verified
        assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
        assert attached(world.iam, "shop-host") == {ECS_AGENT_POLICY_ARN}
        assert inline_names(world.iam, "shop-host") == []
        entries = {entry.action: entry for entry in world.journal.entries()}
        assert set(entries) == {"detach-managed-policy", "delete-inline-policy"}
        assert {entry.status for entry in entries.values()} == {Status.VERIFIED}
        assert {entry.actor for entry in entries.values()} == {"alice"}
        assert {entry.account for entry in entries.values()} == {ACCOUNT}
        inline = entries["delete-inline-policy"].as_json()
        assert inline["state_before"] == {"document": ORDERS_TABLE_POLICY}
        assert inline["finding_id"] == finding_id

        # When a person restores each journal entry
        restored = [
            world.service.restore(entry.journal_id, Request(actor="bob", apply=True))
            for entry in entries.values()
        ]
        # Then the role has exactly its policies back, the inline one with its document
        assert [o.status for o in restored] == [OutcomeStatus.RESTORED] * 2, [
            o.reasons for o in restored
        ]
        assert attached(world.iam, "shop-host") == {ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN}
        assert inline_names(world.iam, "shop-host") == ["orders-table"]
        document = world.iam.get_role_policy(RoleName="shop-host", PolicyName="orders-table")
        assert document["PolicyDocument"] == ORDERS_TABLE_POLICY
        # and the journal says so: the originals restored, each restore verified
        for entry in entries.values():
            assert world.journal.get(entry.journal_id).status is Status.RESTORED
        restores = [e for e in world.journal.entries() if e.restore_of]
        assert {e.restore_of for e in restores} == {e.journal_id for e in entries.values()}
        assert {(e.status, e.actor) for e in restores} == {(Status.VERIFIED, "bob")}

        # When the same entry is restored again, then nothing is done
        again = world.service.restore(
            entries["delete-inline-policy"].journal_id, Request(actor="bob", apply=True)
        )
        assert again.status is OutcomeStatus.NOTHING_TO_DO
