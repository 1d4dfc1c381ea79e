"""The data and rules behind critical: published escalation actions, read-only verbs."""

from __future__ import annotations

import pytest

from rolewarden.policy.catalogue import ActionCatalogue
from rolewarden.policy.critical import escalation_actions, grants_critical_action, reads_only

# Named by issue 12 and design.md: each must be in the published list.
NAMED_ESCALATION = [
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:UpdateAssumeRolePolicy",
    "iam:AddUserToGroup",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "glue:UpdateDevEndpoint",
    "ec2-instance-connect:SendSSHPublicKey",
    "ssm:SendCommand",
    "ssm:StartSession",
]


def test_every_published_escalation_action_is_a_known_write_with_a_reason_and_a_source(
    catalogue: ActionCatalogue,
) -> None:
    # Given the packaged list of privilege-escalation actions
    entries = escalation_actions()
    # When each is looked up in the catalogue
    # Then it is spelled as AWS spells it, writes, and says why and who published it
    for key, entry in entries.items():
        info = catalogue.info(entry.action)
        assert info.known and info.name == entry.action, entry.action
        assert key == entry.action.lower()
        assert "Write" in info.access_levels, entry.action
        assert entry.why and entry.sources, entry.action
    assert sorted(e.action for e in entries.values() if e.critical_only_on_any) == [
        "ssm:SendCommand",
        "ssm:StartSession",
    ]


def test_the_actions_the_issue_names_are_in_the_published_list() -> None:
    # Given / When the list is loaded / Then every action the issue and design name is there
    assert {name.lower() for name in NAMED_ESCALATION} <= escalation_actions().keys()


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("quicksight:DescribeTopicPermissions", True),
        ("billing:GetResourcePolicy", True),
        ("glue:BatchGetStageFiles", True),
        ("opensearch:ViewLoginPage", True),
        ("iam:PutRolePolicy", False),
        ("lakeformation:BatchGrantPermissions", False),
        ("managedblockchain:GET", False),
        ("rds-db:connect", False),
        ("s3:Getaway", False),
    ],
)
def test_read_only_is_judged_by_the_whole_verb(action: str, expected: bool) -> None:
    # Given / When / Then Get, Describe, List, View, Search and BatchGet read; nothing else
    assert reads_only(action) is expected


@pytest.mark.parametrize(
    ("pattern", "critical"),
    [
        ("iam:PassRole", True),
        ("sts:Assume*", True),
        ("lambda:Update*", True),
        ("ssm:Send*", True),
        ("iam:Put*", True),
        ("quicksight:Describe*Permissions", False),
        ("ssm:GetParameter", False),
        ("logs:Put*", True),
        ("cloudwatch:PutMetric*", False),
    ],
)
def test_settings_refuse_patterns_that_can_grant_a_critical_action(
    pattern: str, critical: bool, catalogue: ActionCatalogue
) -> None:
    # Given an action pattern someone wants to add to the baseline
    # When / Then it is refused when it covers a critical action on any resource
    assert grants_critical_action(pattern, catalogue) is critical
