"""Exemptions limited to some rules (`rolewarden:exempt-rules`), scanned in moto: the
findings and the summary as `rolewarden scan` prints them (json and table).

Scenarios (rules/exemptions.py):
  2. Without the rules tag, every rule the resource violates is exempt, and only those
     are listed: not the rules it complies with.
  5. With the rules tag, the named rules are exempt and listed; every other rule reports
     the resource as usual, its evidence naming the exemption's rules.
  6. An unknown rule id in the tag exempts nothing: every finding names the id.
"""

from __future__ import annotations

from types import SimpleNamespace

import boto3

from functional.accounts import EXEMPTION_REASON, Scan, finding, instance_arn, make_host, moto_world
from rolewarden.cli.output import render_table
from rolewarden.demo.builders import (
    EXEMPT_REASON_TAG,
    EXEMPT_UNTIL_TAG,
    create_cluster,
    launch_instance,
    register_container_instance,
)
from rolewarden.rules import ids

RULES_TAG = "rolewarden:exempt-rules"
UNTIL = "2030-03-01"  # 59 days after the tests' today
EXEMPT = {EXEMPT_UNTIL_TAG: UNTIL, EXEMPT_REASON_TAG: EXEMPTION_REASON}
NO_PROFILE = ids.EC2_INSTANCE_WITHOUT_PROFILE
IMDS = ids.ECS_HOST_IMDS_EXPOSED
INSTANCE = "AWS::EC2::Instance"


def listed(rule: str, instance_id: str) -> dict[str, str]:
    """One entry of the summary's exempt list."""
    return {
        "rule": rule,
        "resource_type": INSTANCE,
        "resource_arn": instance_arn(instance_id),
        "until": UNTIL,
        "reason": EXEMPTION_REASON,
    }


def build_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    ec2, ecs = session.client("ec2"), session.client("ecs")
    create_cluster(ecs, "vendor")

    def exposed_host_without_profile(tags: dict[str, str]) -> str:
        """An ECS host with no instance profile allowing IMDSv1: two rules break."""
        instance = launch_instance(ec2, tags=tags, http_tokens="optional")
        register_container_instance(ecs, ec2, "vendor", instance)
        return instance

    world = SimpleNamespace(
        imds_only=exposed_host_without_profile({**EXEMPT, RULES_TAG: IMDS}),
        both_named=exposed_host_without_profile({**EXEMPT, RULES_TAG: f" {NO_PROFILE}   {IMDS} "}),
        every_rule=exposed_host_without_profile(EXEMPT),
        typo=exposed_host_without_profile({**EXEMPT, RULES_TAG: "ecs-host-imds"}),
        # Has a profile: only ecs-host-imds-exposed breaks
        profiled=make_host(
            session,
            "vendor-host",
            cluster="vendor",
            http_tokens="optional",
            instance_tags=EXEMPT,
        ).instance_id,
    )
    world.result = scan(session)
    world.summary = world.result.as_json()["summary"]
    return world


class TestExemptionOfSomeRules:
    world = moto_world(build_world)

    def exempt_of(self, world: SimpleNamespace, instance_id: str) -> list[dict[str, str]]:
        arn = instance_arn(instance_id)
        return [item for item in world.summary["exempt"] if item["resource_arn"] == arn]

    def rules_found(self, world: SimpleNamespace, instance_id: str) -> list[str]:
        arn = instance_arn(instance_id)
        return sorted(f.rule for f in world.result.findings if f.resource_arn == arn)

    def test_scenario_5_exempt_rule_is_listed_and_the_other_is_reported(
        self, world: SimpleNamespace
    ) -> None:
        # Given an ECS host without a profile allowing IMDSv1, exempt for ecs-host-imds-exposed
        instance = world.imds_only

        # When scanned / Then ecs-host-imds-exposed is listed as accepted risk
        assert self.exempt_of(world, instance) == [listed(IMDS, instance)]
        # ... and ec2-instance-without-profile reports it, saying whom the exemption covers
        assert self.rules_found(world, instance) == [NO_PROFILE]
        found = finding(world.result, NO_PROFILE, instance_arn(instance))
        assert found is not None
        assert found["severity"] == "medium"
        assert found["title"] == f"EC2 instance {instance} has no instance profile"
        assert found["evidence"]["exemption"] == {
            "status": "other-rules",
            "until": UNTIL,
            "reason": EXEMPTION_REASON,
            "problem": f"covers only {IMDS} ({RULES_TAG})",
            "rules": [IMDS],
        }

    def test_scenario_5_both_rules_named_with_extra_spaces_are_both_exempt(
        self, world: SimpleNamespace
    ) -> None:
        # Given the same host, its rules tag naming both rules (with extra spaces)
        # When scanned / Then both are listed, and nothing is reported
        instance = world.both_named
        assert self.exempt_of(world, instance) == [
            listed(NO_PROFILE, instance),
            listed(IMDS, instance),
        ]
        assert self.rules_found(world, instance) == []

    def test_scenario_2_without_rules_tag_the_list_names_the_rules_it_breaks(
        self, world: SimpleNamespace
    ) -> None:
        # Given two exempt hosts without a rules tag: one breaks both rules, one (with a
        # profile) only ecs-host-imds-exposed
        # When scanned / Then each is listed for the rules it breaks, not those it complies with
        assert self.exempt_of(world, world.every_rule) == [
            listed(NO_PROFILE, world.every_rule),
            listed(IMDS, world.every_rule),
        ]
        assert self.exempt_of(world, world.profiled) == [listed(IMDS, world.profiled)]
        assert self.rules_found(world, world.every_rule) == []
        assert self.rules_found(world, world.profiled) == []

    def test_scenario_6_a_typo_exempts_nothing_and_each_finding_names_it(
        self, world: SimpleNamespace
    ) -> None:
        # Given the same host, its rules tag naming "ecs-host-imds"
        instance = world.typo

        # When scanned / Then both rules report it, each naming the unknown id and the fix
        assert self.exempt_of(world, instance) == []
        assert self.rules_found(world, instance) == [NO_PROFILE, IMDS]
        for rule in (IMDS, NO_PROFILE):
            found = finding(world.result, rule, instance_arn(instance))
            assert found is not None
            assert found["evidence"]["exemption"] == {
                "status": "malformed",
                "until": UNTIL,
                "reason": EXEMPTION_REASON,
                "problem": f"{RULES_TAG} names unknown rule id 'ecs-host-imds' "
                "(did you mean ecs-host-imds-exposed?)",
                "rules": ["ecs-host-imds"],
            }

    def test_the_table_lists_each_accepted_risk_and_notes_the_others(
        self, world: SimpleNamespace
    ) -> None:
        # Given the scan / When printed as a table
        lines = render_table(world.result).splitlines()

        # Then the exempt section has one line per rule hidden, and the finding of the host
        # exempt for another rule says so
        start = lines.index("Exempt (accepted risk):")
        exempt_lines = [line for line in lines[start + 1 :] if line.startswith("  arn:")]
        assert f"  {instance_arn(world.imds_only)} [{IMDS}] until {UNTIL}: {EXEMPTION_REASON}" in (
            exempt_lines
        )
        assert len(exempt_lines) == 6  # imds_only 1, both_named 2, every_rule 2, profiled 1
        assert any(
            line.endswith(
                f"EC2 instance {world.imds_only} has no instance profile "
                f"[exemption other-rules: covers only {IMDS} ({RULES_TAG})]"
            )
            for line in lines
        )
