"""The remediate function's payload: what a person or RoleWarden may ask, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from rolewarden.remediation.payload import RemediatePayload

ROLE = "arn:aws:iam::123456789012:role/shop-ecs-host"


def test_a_finding_id_alone_is_a_dry_run_unforced_request() -> None:
    payload = RemediatePayload.model_validate(
        {"finding_id": "468f83a6e72cdee3", "requested_by": "jane"}
    )
    assert (payload.dry_run, payload.force, payload.automatic) == (True, False, False)


def test_rule_and_resource_with_one_action() -> None:
    payload = RemediatePayload.model_validate(
        {
            "rule": "instance-role-app-permissions",
            "resource_arn": ROLE,
            "action": "detach-managed-policy",
            "dry_run": False,
            "requested_by": "jane",
        }
    )
    assert (payload.rule, payload.action, payload.dry_run) == (
        "instance-role-app-permissions",
        "detach-managed-policy",
        False,
    )


def test_a_restore_names_a_journal_id() -> None:
    payload = RemediatePayload.model_validate(
        {"restore": "20300101T093512Z-0a1b2c3d", "requested_by": "jane"}
    )
    assert payload.restore == "20300101T093512Z-0a1b2c3d"


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"finding_id": "468f83a6e72cdee3", "requested_by": None}, "requested_by"),
        ({"finding_id": "468f83a6e72cdee3", "requested_by": ""}, "requested_by"),
        ({"requested_by": "jane"}, "name exactly one of"),
        (
            {"finding_id": "468f83a6e72cdee3", "restore": "20300101T093512Z-0a1b2c3d"},
            "name exactly one of",
        ),
        ({"rule": "instance-role-app-permissions"}, "rule and resource_arn go together"),
        ({"resource_arn": ROLE}, "rule and resource_arn go together"),
        ({"finding_id": "not-hex"}, "finding_id"),
        ({"restore": "yesterday"}, "restore"),
        ({"rule": "made-up", "resource_arn": ROLE}, "unknown rule made-up"),
        ({"finding_id": "468f83a6e72cdee3", "action": "rm-rf"}, "unknown action rm-rf"),
        ({"finding_id": "468f83a6e72cdee3", "dry_run": "perhaps"}, "dry_run"),
        ({"finding_id": "468f83a6e72cdee3", "dry_run": "false"}, 'got the string "false"'),
        ({"finding_id": "468f83a6e72cdee3", "dry_run": 0}, "must be a JSON boolean"),
        ({"finding_id": "468f83a6e72cdee3", "force": "true"}, "force\n  Value error, must be"),
        ({"finding_id": "468f83a6e72cdee3", "apply": True}, "apply"),
        (
            {"rule": "instance-role-app-permissions", "resource_arn": "arn:aws:s3:::bucket"},
            "resource_arn",
        ),
        ({"finding_id": "468f83a6e72cdee3", "task_role_arn": "checkout-task"}, "task_role_arn"),
        (
            {
                "rule": "ec2-instance-without-profile",
                "resource_arn": "arn:aws:ec2:us-east-1:123456789012:volume/vol-1",
            },
            "is not an EC2 instance, IAM role, ECS task definition or ECS task",
        ),
        (
            {"rule": "ec2-instance-without-profile", "resource_arn": ROLE},
            "ec2-instance-without-profile judges AWS::EC2::Instance resources; "
            f"{ROLE} is AWS::IAM::Role",
        ),
    ],
)
def test_a_malformed_payload_says_what_is_wrong(payload: dict[str, Any], problem: str) -> None:
    merged = {"requested_by": "jane", **payload}
    with pytest.raises(ValidationError) as raised:
        RemediatePayload.model_validate({k: v for k, v in merged.items() if v is not None})
    assert problem in str(raised.value)


@pytest.mark.parametrize("switch", ["dry_run", "force", "update_service", "automatic"])
def test_a_switch_set_to_null_is_refused_not_read_as_its_default(switch: str) -> None:
    with pytest.raises(ValidationError) as raised:
        RemediatePayload.model_validate(
            {"finding_id": "468f83a6e72cdee3", "requested_by": "jane", switch: None}
        )
    assert f"{switch}\n  Value error, must be a JSON boolean (true or false), got null" in str(
        raised.value
    )
