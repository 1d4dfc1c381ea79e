"""instance-profile-without-role: one test per numbered Scenario of the rule's docstring."""

from __future__ import annotations

from snapshots import (
    ACCOUNT,
    add_instance,
    add_profile,
    add_role,
    assert_proposes,
    context,
    empty_snapshot,
    evaluate,
    only_evaluation,
    only_finding,
    only_non_compliant_finding,
    profile_of,
    remediating,
)

from rolewarden.rules.model import Compliance, Severity

RULE = "instance-profile-without-role"
MANUAL = "the instance already has a profile: replacing it is a person's decision"


def test_scenario_1_profile_without_role_is_medium() -> None:
    # Given an instance whose profile holds no role
    snapshot = empty_snapshot()
    profile = add_profile(snapshot, "empty-profile")
    instance = add_instance(snapshot, "i-0empty", profile_arn=profile.arn)

    # When the rule runs, even in remediate mode
    run = evaluate(RULE, snapshot, remediating(RULE, baseline_instance_profile="baseline"))

    # Then a medium finding proposes a manual replacement by the baseline profile
    finding = only_non_compliant_finding(run, instance.arn)
    assert finding.severity is Severity.MEDIUM
    assert finding.title == "Instance profile empty-profile of i-0empty has no role"
    assert finding.evidence == {
        "instance_profile": {"arn": profile.arn, "name": "empty-profile", "roles": []}
    }
    assert_proposes(
        finding,
        "associate-instance-profile",
        {
            "instance_id": "i-0empty",
            "instance_profile": "baseline",
            "replace": True,
        },
        automatic=False,
        blocked_by=(MANUAL,),
    )


def test_scenario_2_profile_naming_a_deleted_role() -> None:
    # Given a profile that names a role no longer in IAM (and no scan error about it)
    snapshot = empty_snapshot()
    gone = f"arn:aws:iam::{ACCOUNT}:role/deleted-role"
    profile = add_profile(snapshot, "orphan-profile", (gone,))
    add_instance(snapshot, "i-0orphan", profile_arn=profile.arn)

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then the finding says the role is gone
    assert finding.severity is Severity.MEDIUM
    assert finding.title == (
        "Instance profile orphan-profile of i-0orphan names role deleted-role, which is gone"
    )
    assert finding.evidence["instance_profile"]["roles"] == [gone]


def test_scenario_2_profile_itself_gone() -> None:
    # Given an instance whose profile was deleted
    snapshot = empty_snapshot()
    profile = add_profile(snapshot, "deleted-profile", exists=False)
    add_instance(snapshot, "i-0lost", profile_arn=profile.arn)

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it is reported as gone
    assert finding.title == "Instance profile deleted-profile of i-0lost is gone"


def test_scenario_2_cloudformation_instance_also_names_the_stack() -> None:
    # Given a CloudFormation-managed instance with an empty profile
    snapshot = empty_snapshot()
    profile = add_profile(snapshot, "empty-profile")
    add_instance(
        snapshot,
        "i-0cfn",
        profile_arn=profile.arn,
        tags={"aws:cloudformation:stack-name": "web-stack"},
    )

    # When the rule runs
    remediation = only_finding(evaluate(RULE, snapshot)).remediation

    # Then both manual reasons are given
    assert remediation is not None
    assert remediation.blocked_by == (
        "managed by CloudFormation stack web-stack: fix the template, or the stack puts it back",
        MANUAL,
    )


def test_scenario_3_profile_with_role_is_compliant() -> None:
    # Given an instance whose profile holds an existing role
    snapshot = empty_snapshot()
    role = add_role(snapshot, "app")
    instance = add_instance(snapshot, "i-0ok", profile_arn=profile_of(role))

    # When the rule runs
    run = evaluate(RULE, snapshot, context())

    # Then it is compliant
    evaluation = only_evaluation(run, instance.arn)
    assert evaluation.compliance is Compliance.COMPLIANT
    assert evaluation.annotation == "profile app-profile has a role"
    assert run.findings == []


def test_scenario_4_instance_without_profile_is_not_applicable() -> None:
    # Given an instance with no profile at all
    snapshot = empty_snapshot()
    instance = add_instance(snapshot, "i-0noprofile")

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then the other rule reports it; this one says why it does not apply
    evaluation = only_evaluation(run, instance.arn)
    assert evaluation.compliance is Compliance.NOT_APPLICABLE
    assert evaluation.annotation == "instance has no instance profile"
    assert run.findings == []
