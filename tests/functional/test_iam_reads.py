"""What an IAM read asks AWS, and what it leaves out, each in a fresh moto account."""

from __future__ import annotations

import boto3

from rolewarden.aws.clients import AwsClients
from rolewarden.cli.remediation import caller
from rolewarden.demo.builders import (
    allow,
    create_customer_policy,
    create_instance_profile,
    create_role,
    launch_instance,
    policy_document,
)
from rolewarden.inventory.build import TargetedReader
from rolewarden.rules.engine import run_rules
from rolewarden.rules.ids import INSTANCE_ROLE_APP_PERMISSIONS
from rolewarden.settings import Settings

ACCOUNT = "123456789012"
REGION = "us-east-1"


def test_who_the_clients_act_as_is_asked_of_sts_once(mock_aws: boto3.Session) -> None:
    # Given the clients a CLI remediation uses
    clients = AwsClients(mock_aws)

    # When the account and partition are needed, then the actor for the journal
    account, partition = clients.account_and_partition()
    actor = caller(clients)

    # Then one GetCallerIdentity answered both
    assert (account, partition) == (ACCOUNT, "aws")
    assert actor == mock_aws.client("sts").get_caller_identity()["Arn"]
    assert clients.counter.calls == {("sts", "GetCallerIdentity"): 1}


def test_a_role_that_no_instance_uses_is_read_without_its_policies_until_one_does(
    mock_aws: boto3.Session,
) -> None:
    # Given a task role with an inline and a managed policy, behind no instance profile
    iam, ec2 = mock_aws.client("iam"), mock_aws.client("ec2")
    policy = create_customer_policy(iam, "queue", policy_document(allow(["sqs:*"])))
    arn = create_role(
        iam,
        "late-host",
        managed_policy_arns=(policy,),
        inline_policies={"cache": policy_document(allow(["dynamodb:GetItem"]))},
    )
    context = Settings(instance_role_scope="all").rule_context()
    reader = TargetedReader(AwsClients(mock_aws), REGION, ACCOUNT, "aws", context.skip_document)

    # When an event names it, it is read without its policies (no rule judges it)
    reader.role("late-host")
    unused = reader.snapshot.iam.roles[arn]
    assert (unused.permissions_read, unused.inline_policies, unused.attached_policy_arns) == (
        False,
        (),
        (),
    )

    # When an instance comes to use it (a profile lists it after all) and is read too
    profile = create_instance_profile(iam, "late-host", "late-host")
    instance = launch_instance(ec2, profile_arn=profile)
    snapshot = reader.instances([instance])

    # Then the role is read again, whole, and judged on its policies
    role = snapshot.iam.roles[arn]
    assert role.permissions_read is True
    assert [p.name for p in role.inline_policies] == ["cache"]
    assert role.attached_policy_arns == (policy,)
    findings = run_rules(snapshot, context, [INSTANCE_ROLE_APP_PERMISSIONS]).findings
    assert [finding.resource_arn for finding in findings] == [arn]
