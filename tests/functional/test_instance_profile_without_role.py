"""instance-profile-without-role scanned in moto."""

from __future__ import annotations

from types import SimpleNamespace

import boto3

from functional.accounts import (
    Scan,
    assert_finding,
    finding,
    instance_arn,
    make_role,
    moto_world,
)
from rolewarden.demo.builders import (
    ASG_NAME_TAG,
    SSM_CORE_POLICY_ARN,
    create_instance_profile,
    launch_instance,
)
from rolewarden.rules import ids

RULE_NO_ROLE = ids.INSTANCE_PROFILE_WITHOUT_ROLE
RULE_NO_PROFILE = ids.EC2_INSTANCE_WITHOUT_PROFILE


def build_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    ec2, iam = session.client("ec2"), session.client("iam")
    orphan_profile = create_instance_profile(iam, "orphan", None)
    orphan = launch_instance(ec2, profile_arn=orphan_profile, tags={ASG_NAME_TAG: "orphan-asg"})
    _arn, _id, gone_profile = make_role(session, "temp-app", managed=())
    gone = launch_instance(ec2, profile_arn=gone_profile)
    iam.remove_role_from_instance_profile(InstanceProfileName="temp-app", RoleName="temp-app")
    iam.delete_instance_profile(InstanceProfileName="temp-app")
    _arn, _id, good_profile = make_role(session, "good-app", managed=(SSM_CORE_POLICY_ARN,))
    world = SimpleNamespace(
        orphan=orphan,
        orphan_profile=orphan_profile,
        gone=gone,
        gone_profile=gone_profile,
        good=launch_instance(ec2, profile_arn=good_profile),
        bare=launch_instance(ec2),
    )
    world.result = scan(session)
    return world


class TestInstanceProfileWithoutRole:
    world = moto_world(build_world)

    def test_profile_without_role_is_medium_and_manual(self, world: SimpleNamespace) -> None:
        # Given an instance whose profile holds no role (scenario 1)
        # When scanned
        found = finding(world.result, RULE_NO_ROLE, instance_arn(world.orphan))

        # Then a medium finding names the profile; replacing it is a person's call
        found = assert_finding(
            found,
            rule=RULE_NO_ROLE,
            severity="medium",
            resource_type="AWS::EC2::Instance",
            resource_id=world.orphan,
            resource_arn=instance_arn(world.orphan),
            title=f"Instance profile orphan of {world.orphan} has no role",
        )
        assert found["evidence"] == {
            "instance_profile": {"arn": world.orphan_profile, "name": "orphan", "roles": []},
            "root_cause": {"auto_scaling_group": "orphan-asg"},
        }
        assert found["remediation"] == {
            "action": "associate-instance-profile",
            "automatic": False,
            "params": {"instance_id": world.orphan, "instance_profile": None, "replace": True},
            "blocked_by": [
                "the instance already has a profile: replacing it is a person's decision"
            ],
        }

    def test_profile_that_is_gone_is_reported(self, world: SimpleNamespace) -> None:
        # Given an instance whose profile was deleted after launch (scenario 2)
        # When scanned
        found = finding(world.result, RULE_NO_ROLE, instance_arn(world.gone))

        # Then it is reported as gone
        assert found is not None
        assert found["severity"] == "medium"
        assert found["title"] == f"Instance profile temp-app of {world.gone} is gone"
        assert found["evidence"]["instance_profile"]["arn"] == world.gone_profile

    def test_profile_with_a_role_is_compliant(self, world: SimpleNamespace) -> None:
        # Given an instance whose profile holds a role (scenario 3) / When scanned / Then no finding
        assert finding(world.result, RULE_NO_ROLE, instance_arn(world.good)) is None

    def test_instance_without_profile_is_left_to_the_other_rule(
        self, world: SimpleNamespace
    ) -> None:
        # Given an instance with no profile at all (scenario 4) / When scanned
        # Then only ec2-instance-without-profile reports it
        assert finding(world.result, RULE_NO_ROLE, instance_arn(world.bare)) is None
        assert finding(world.result, RULE_NO_PROFILE, instance_arn(world.bare)) is not None
