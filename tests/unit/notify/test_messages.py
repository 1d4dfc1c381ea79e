"""The JSON of each notice, as SNS subscribers receive it (snapshots written out here)."""

from __future__ import annotations

from typing import Literal

import pytest

from rolewarden.evaluation.cloudtrail import ExemptionChange
from rolewarden.notify.findings_state import Due
from rolewarden.notify.messages import (
    console_url,
    digest_notice,
    exemption_notice,
    finding_notice,
    remediation_notice,
)
from rolewarden.notify.notice import subject_line
from rolewarden.remediation.change import Change
from rolewarden.remediation.journal import JournalEntry, Status
from rolewarden.remediation.outcome import Outcome, OutcomeStatus, Subject
from rolewarden.rules.model import Blockers, Finding, Remediation
from sample_findings import a_finding

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc1234def567890"


def bare_instance() -> Finding:
    return a_finding(
        "i-0abc1234def567890",
        evidence={"instance_id": "i-0abc1234def567890", "state": "running"},
        remediation=Remediation(
            "associate-instance-profile",
            True,
            {"instance_id": "i-0abc1234def567890", "instance_profile": "baseline"},
            Blockers(),
        ),
    )


def test_a_finding_notice() -> None:
    notice = finding_notice(bare_instance(), trigger="event:7e2c")
    assert notice.subject == (
        "RoleWarden MEDIUM: EC2 instance i-0abc1234def567890 has no instance profile"
    )
    assert notice.attributes() == {
        "kind": "finding",
        "rule": "ec2-instance-without-profile",
        "severity": "medium",
        "account": "123456789012",
        "region": "us-east-1",
        "action": "associate-instance-profile",
    }
    assert notice.message == {
        "kind": "finding",
        "trigger": "event:7e2c",
        "finding": bare_instance().as_json(),
        "console_url": "https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1"
        "#InstanceDetails:instanceId=i-0abc1234def567890",
        "command": f"rolewarden remediate {bare_instance().finding_id} --region us-east-1",
    }


def test_a_remediation_notice_carries_the_restore_command() -> None:
    change = Change(
        "associate-instance-profile",
        "us-east-1",
        {"instance_id": "i-0abc1234def567890"},
        before={"instance_profile_arn": None},
        after={"instance_profile_arn": "arn:aws:iam::123456789012:instance-profile/baseline"},
        summary="associate i-0abc1234def567890 with instance profile baseline",
    )
    entry = JournalEntry(
        journal_id="20300101T093512Z-0a1b2c3d",
        time="2030-01-01T09:35:12+00:00",
        actor="event:7e2c",
        rule="ec2-instance-without-profile",
        finding_id=bare_instance().finding_id,
        resource_arn=INSTANCE,
        account="123456789012",
        change=change,
        status=Status.VERIFIED,
    )
    outcome = Outcome(
        OutcomeStatus.APPLIED,
        Subject(
            finding_id=bare_instance().finding_id,
            rule="ec2-instance-without-profile",
            resource_arn=INSTANCE,
        ),
        plan=[change],
        journal=[entry],
    )
    notice = remediation_notice(outcome, "123456789012", "us-east-1")
    assert notice.subject == f"RoleWarden remediation applied: {INSTANCE}"
    assert notice.attributes() == {
        "kind": "remediation",
        "rule": "ec2-instance-without-profile",
        "account": "123456789012",
        "region": "us-east-1",
        "action": "applied",
    }
    assert notice.message["command"] == "rolewarden restore 20300101T093512Z-0a1b2c3d --apply"
    assert notice.message["outcome"] == outcome.as_json()


def test_a_digest_notice_counts_new_and_resolved() -> None:
    summary = {
        "account": "123456789012",
        "regions": ["us-east-1", "eu-west-1"],
        "findings": 3,
        "findings_by_severity": {"critical": 1, "high": 0, "medium": 2, "low": 0},
    }
    notice = digest_notice(summary, Due(new=[bare_instance()]), ["00000000000000aa"])
    assert notice.subject == (
        "RoleWarden sweep of 123456789012: 3 findings (1 critical, 2 medium), 1 new, 1 resolved"
    )
    assert notice.attributes() == {
        "kind": "digest",
        "account": "123456789012",
        "region": "us-east-1,eu-west-1",
    }
    assert notice.message == {
        "kind": "digest",
        "summary": summary,
        "new_findings": [bare_instance().finding_id],
        "reminded_findings": [],
        "not_sent_one_by_one": 0,
        "resolved_findings": ["00000000000000aa"],
    }


def test_an_exemption_notice_names_who() -> None:
    change = ExemptionChange(
        event_name="TagRole",
        actor="arn:aws:sts::123456789012:assumed-role/platform-admin/jane.doe",
        resource="shop-ecs-host",
        change="added",
        until="2030-03-01",
        reason="vendor appliance, ticket SEC-142",
    )
    notice = exemption_notice(change, "123456789012", "us-east-1")
    # The subject is cut at SNS's 100 characters; the message names the actor in full
    assert notice.subject == (
        "RoleWarden exemption added on shop-ecs-host until 2030-03-01 by "
        "arn:aws:sts::123456789012:assumed..."
    )
    assert notice.message["actor"] == change.actor
    assert notice.attributes()["action"] == "added"
    assert notice.message["reason"] == "vendor appliance, ticket SEC-142"


ALICE = "arn:aws:iam::123456789012:user/alice"
UNTIL_TAG, REASON_TAG, RULES_TAG = (
    "rolewarden:exempt-until",
    "rolewarden:exempt-reason",
    "rolewarden:exempt-rules",
)


def test_an_exemption_notice_names_the_rules_it_is_limited_to() -> None:
    # Given an exemption added for two rules
    change = ExemptionChange(
        event_name="CreateTags",
        actor=ALICE,
        resource="i-0abc",
        change="added",
        until="2030-03-01",
        reason="vendor appliance",
        rules=("ecs-host-imds-exposed", "ec2-instance-without-profile"),
        tags=(UNTIL_TAG, REASON_TAG, RULES_TAG),
    )

    # When announced
    notice = exemption_notice(change, "123456789012", "us-east-1")

    # Then the subject (cut at SNS's 100 characters) and the message name the rules
    assert notice.subject == (
        "RoleWarden exemption added on i-0abc until 2030-03-01 for ecs-host-imds-exposed "
        "ec2-instance-with..."
    )
    assert notice.message["actor"] == ALICE
    assert notice.message["rules"] == ["ecs-host-imds-exposed", "ec2-instance-without-profile"]
    assert notice.message["tags"] == [UNTIL_TAG, REASON_TAG, RULES_TAG]
    assert notice.message["description"] == "added"
    assert notice.attributes()["action"] == "added"


def test_an_exemption_notice_without_the_rules_tag_has_no_rules() -> None:
    # Given an exemption added with date and reason only (every rule)
    change = ExemptionChange(
        "TagRole", ALICE, "shop-ecs-host", "added", "2030-03-01", "migration", tags=(UNTIL_TAG,)
    )

    # When announced / Then no rules are named: it covers every rule
    notice = exemption_notice(change, "123456789012", "us-east-1")
    assert notice.message["rules"] is None
    assert " for " not in notice.subject


@pytest.mark.parametrize(
    ("change", "rules", "description"),
    [
        ("added", ("ecs-host-imds-exposed",), "narrowed to ecs-host-imds-exposed"),
        ("removed", None, "widened to every rule"),
    ],
)
def test_the_rules_tag_alone_narrows_or_widens_an_exemption(
    change: Literal["added", "removed"], rules: tuple[str, ...] | None, description: str
) -> None:
    # Given a tag call that adds or removes rolewarden:exempt-rules only
    notice = exemption_notice(
        ExemptionChange(
            "CreateTags", "AIDAALICE", "i-0abc", change, rules=rules, tags=(RULES_TAG,)
        ),
        "123456789012",
        "us-east-1",
    )

    # When announced / Then it says what that does to the accepted risk, and who did it
    assert notice.subject == f"RoleWarden exemption {description} on i-0abc by AIDAALICE"
    assert notice.message["description"] == description
    assert notice.attributes()["action"] == change


def test_a_subject_is_one_line_of_ascii_within_100_characters() -> None:
    subject = subject_line("Rôle\nwarden " + "x" * 200)
    assert subject.startswith("R?le warden xxx")
    assert len(subject) == 100 and subject.endswith("...")
    assert subject_line("short") == "short"


def test_console_links_for_each_kind_of_resource() -> None:
    assert console_url("arn:aws:iam::123456789012:role/path/shop-ecs-host") == (
        "https://console.aws.amazon.com/iam/home#/roles/details/shop-ecs-host"
    )
    assert console_url("arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-api:3") == (
        "https://eu-west-1.console.aws.amazon.com/ecs/v2/task-definitions/orders-api/3"
        "?region=eu-west-1"
    )
    assert console_url("arn:aws:ecs:eu-west-1:123456789012:task/shop/4f6b") == (
        "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/shop/tasks/4f6b?region=eu-west-1"
    )
    assert console_url("arn:aws-cn:iam::123456789012:role/x") is None  # another console
