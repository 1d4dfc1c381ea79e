"""ec2-instance-without-profile scanned in moto, including exemption tags."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functional.accounts import (
    EXEMPTION_REASON,
    PROTECTED,
    Scan,
    assert_finding,
    finding,
    instance_arn,
    make_role,
    moto_world,
)
from rolewarden.demo.builders import (
    ASG_NAME_TAG,
    EXEMPT_REASON_TAG,
    EXEMPT_UNTIL_TAG,
    SSM_CORE_POLICY_ARN,
    launch_instance,
)
from rolewarden.rules import ids

RULE_NO_PROFILE = ids.EC2_INSTANCE_WITHOUT_PROFILE


def build_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    ec2 = session.client("ec2")
    _arn, _id, web_profile = make_role(session, "web-app", managed=(SSM_CORE_POLICY_ARN,))
    stopped = launch_instance(ec2)
    ec2.stop_instances(InstanceIds=[stopped])
    terminated = launch_instance(ec2)
    ec2.terminate_instances(InstanceIds=[terminated])

    def exempt(until: str | None, reason: str | None = EXEMPTION_REASON) -> str:
        tags = {EXEMPT_UNTIL_TAG: until, EXEMPT_REASON_TAG: reason}
        return launch_instance(ec2, tags={k: v for k, v in tags.items() if v is not None})

    world = SimpleNamespace(
        session=session,
        bare=launch_instance(ec2, tags={"Name": "legacy-batch", ASG_NAME_TAG: "batch-asg"}),
        profiled=launch_instance(ec2, profile_arn=web_profile),
        protected=launch_instance(ec2, tags=PROTECTED),
        stopped=stopped,
        terminated=terminated,
        exempt_valid=exempt("2030-03-01"),
        exempt_expired=exempt("2029-12-01"),
        exempt_malformed=exempt("next spring"),
        exempt_too_long=exempt("2031-06-01"),
        exempt_without_reason=exempt("2030-03-01", None),
    )
    world.default = scan(session)
    world.baseline = scan(
        session,
        baseline_instance_profile="baseline-host",
        rule_modes={RULE_NO_PROFILE: "remediate"},
    )
    return world


class TestEc2InstanceWithoutProfile:
    world = moto_world(build_world)

    def test_instance_without_profile_is_medium_and_names_its_auto_scaling_group(
        self, world: SimpleNamespace
    ) -> None:
        # Given an instance launched by an Auto Scaling group without a profile (scenarios 1, 4)
        # When the account is scanned with no baseline profile configured (scenario 3)
        found = finding(world.default, RULE_NO_PROFILE, instance_arn(world.bare))

        # Then one medium finding names the group and proposes a manual association
        found = assert_finding(
            found,
            rule=RULE_NO_PROFILE,
            severity="medium",
            resource_type="AWS::EC2::Instance",
            resource_id=world.bare,
            resource_arn=instance_arn(world.bare),
            title=f"EC2 instance {world.bare} has no instance profile",
        )
        assert found["evidence"] == {
            "state": "running",
            "root_cause": {"auto_scaling_group": "batch-asg"},
        }
        assert found["remediation"] == {
            "action": "associate-instance-profile",
            "automatic": False,
            "params": {"instance_id": world.bare, "instance_profile": None},
            "blocked_by": [
                "no baseline instance profile configured (ROLEWARDEN_BASELINE_INSTANCE_PROFILE)"
            ],
        }

    def test_stopped_instance_without_profile_is_reported(self, world: SimpleNamespace) -> None:
        # Given a stopped instance without a profile / When scanned
        found = finding(world.default, RULE_NO_PROFILE, instance_arn(world.stopped))

        # Then it is reported: it gets keys again when started
        assert found is not None
        assert found["evidence"]["state"] == "stopped"

    def test_terminated_instance_is_not_reported(self, world: SimpleNamespace) -> None:
        # Given a terminated instance without a profile / When scanned / Then no finding at all
        assert [f for f in world.default.findings if world.terminated in f.resource_arn] == []

    def test_instance_with_a_profile_is_compliant(self, world: SimpleNamespace) -> None:
        # Given an instance running with a profile that holds a role (scenario 2)
        # When scanned / Then no finding of any rule names it
        assert [f for f in world.default.findings if world.profiled in f.resource_arn] == []

    def test_configured_baseline_profile_is_proposed_for_automatic_association(
        self, world: SimpleNamespace
    ) -> None:
        # Given ROLEWARDEN_BASELINE_INSTANCE_PROFILE and the rule in remediate mode (scenario 3)
        # When scanned
        found = finding(world.baseline, RULE_NO_PROFILE, instance_arn(world.bare))

        # Then the proposal attaches that profile, automatically
        assert found is not None
        assert found["remediation"] == {
            "action": "associate-instance-profile",
            "automatic": True,
            "params": {"instance_id": world.bare, "instance_profile": "baseline-host"},
            "blocked_by": [],
        }

    def test_protected_instance_is_reported_but_never_changed(self, world: SimpleNamespace) -> None:
        # Given an instance tagged rolewarden:protected, in remediate mode
        # When scanned
        found = finding(world.baseline, RULE_NO_PROFILE, instance_arn(world.protected))

        # Then it is reported, and the proposal says why it will not be applied
        assert found is not None
        assert found["remediation"]["automatic"] is False
        assert found["remediation"]["blocked_by"] == ["protected: tagged rolewarden:protected"]

    def test_valid_exemption_hides_the_finding_and_is_listed_with_its_reason(
        self, world: SimpleNamespace
    ) -> None:
        # Given an instance without a profile, exempt until a date 59 days ahead
        arn = instance_arn(world.exempt_valid)

        # When scanned
        summary = world.default.as_json()["summary"]

        # Then no finding, and the summary lists it as accepted risk with its reason
        assert [f for f in world.default.findings if f.resource_arn == arn] == []
        assert {
            "rule": RULE_NO_PROFILE,
            "resource_type": "AWS::EC2::Instance",
            "resource_arn": arn,
            "until": "2030-03-01",
            "reason": EXEMPTION_REASON,
        } in summary["exempt"]

    @pytest.mark.parametrize(
        ("instance", "exemption"),
        [
            (
                "exempt_expired",
                {
                    "status": "expired",
                    "until": "2029-12-01",
                    "reason": EXEMPTION_REASON,
                    "problem": "expired on 2029-12-01",
                },
            ),
            (
                "exempt_malformed",
                {
                    "status": "malformed",
                    "until": "next spring",
                    "reason": EXEMPTION_REASON,
                    "problem": "rolewarden:exempt-until must be a date YYYY-MM-DD, "
                    "got 'next spring'",
                },
            ),
            (
                "exempt_too_long",
                {
                    "status": "too-long",
                    "until": "2031-06-01",
                    "reason": EXEMPTION_REASON,
                    "problem": "ends more than 365 days ahead (ROLEWARDEN_MAX_EXEMPTION_DAYS)",
                },
            ),
            (
                "exempt_without_reason",
                {
                    "status": "malformed",
                    "until": "2030-03-01",
                    "reason": None,
                    "problem": "rolewarden:exempt-reason is missing or empty",
                },
            ),
        ],
    )
    def test_invalid_exemption_does_not_exempt_and_the_finding_says_why(
        self, world: SimpleNamespace, instance: str, exemption: dict[str, Any]
    ) -> None:
        # Given an instance without a profile whose exemption tags do not hold
        arn = instance_arn(getattr(world, instance))

        # When scanned
        found = finding(world.default, RULE_NO_PROFILE, arn)

        # Then it is reported, with the exemption's status and problem in the evidence
        assert found is not None
        assert found["evidence"]["exemption"] == exemption
        assert arn not in {
            item["resource_arn"] for item in world.default.as_json()["summary"]["exempt"]
        }
