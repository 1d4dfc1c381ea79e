"""A scan of several regions: IAM is read once, a role is judged once with all its hosts."""

from __future__ import annotations

import boto3

from rolewarden.demo.builders import (
    allow,
    create_cluster,
    create_customer_policy,
    create_instance_profile,
    create_role,
    launch_instance,
    policy_document,
    register_container_instance,
)
from rolewarden.evaluation.account import scan_account
from rolewarden.rules.ids import INSTANCE_ROLE_APP_PERMISSIONS, RULE_IDS
from rolewarden.settings import Settings


def test_role_shared_across_regions_is_one_finding_naming_every_instance(
    mock_aws: boto3.Session,
) -> None:
    # Given a role with S3 read (a customer policy, no ECS agent policy), on a registered
    # ECS host in us-east-1 and on a plain (non-ECS) instance in eu-west-1
    iam = mock_aws.client("iam")
    reports = create_customer_policy(iam, "reports-read", policy_document(allow(["s3:GetObject"])))
    create_role(iam, "shared-host", managed_policy_arns=[reports])
    profile = create_instance_profile(iam, "shared-host", "shared-host")
    east_ec2, east_ecs = mock_aws.client("ec2"), mock_aws.client("ecs")
    host = launch_instance(east_ec2, profile_arn=profile)
    register_container_instance(east_ecs, east_ec2, create_cluster(east_ecs, "web"), host)
    plain = launch_instance(mock_aws.client("ec2", region_name="eu-west-1"), profile_arn=profile)

    # When both regions are scanned with the role rule in remediate mode
    settings = Settings(rule_modes={INSTANCE_ROLE_APP_PERMISSIONS: "remediate"})
    result = scan_account(mock_aws, ["us-east-1", "eu-west-1"], settings, list(RULE_IDS))

    # Then the role is one finding, naming both instances, and not automatic: the
    # eu-west-1 instance's application may rely on the permissions
    role_findings = [f for f in result.findings if f.rule == INSTANCE_ROLE_APP_PERMISSIONS]
    assert len(role_findings) == 1
    finding = role_findings[0]
    assert finding.region == "us-east-1"
    assert finding.evidence["instances"] == sorted([host, plain])
    assert finding.remediation is not None
    assert finding.remediation.automatic is False
    assert finding.remediation.blocked_by == (
        f"also the role of instances that are not ECS hosts ({plain}): their applications "
        "may need these permissions",
    )
    # And IAM was read once for both regions
    # (one GetAccountAuthorizationDetails call holds the role and its customer policy)
    assert result.api_calls["iam"] == 1
