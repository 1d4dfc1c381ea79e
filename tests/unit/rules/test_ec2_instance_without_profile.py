"""ec2-instance-without-profile: one test per numbered Scenario of the rule's docstring."""

from __future__ import annotations

import pytest
from snapshots import (
    add_instance,
    add_role,
    assert_proposes,
    assert_severity_and_resource,
    context,
    empty_snapshot,
    evaluate,
    only_evaluation,
    only_finding,
    profile_of,
    remediating,
)

from rolewarden.rules.model import Compliance, Severity

RULE = "ec2-instance-without-profile"
BASELINE_PROFILE = "rolewarden-baseline"
NO_PROFILE_REASON = "no baseline instance profile configured (ROLEWARDEN_BASELINE_INSTANCE_PROFILE)"


@pytest.mark.parametrize("state", ["pending", "running", "stopping", "stopped"])
def test_scenario_1_instance_without_profile_is_medium(state: str) -> None:
    # Given a live instance without an instance profile
    snapshot = empty_snapshot()
    instance = add_instance(snapshot, "i-0noprofile", state=state)

    # When the rule runs (notify mode, baseline profile configured)
    run = evaluate(RULE, snapshot, context(baseline_instance_profile=BASELINE_PROFILE))

    # Then it is a medium finding proposing to associate the baseline profile
    evaluation = only_evaluation(run, instance.arn)
    assert evaluation.compliance is Compliance.NON_COMPLIANT
    finding = only_finding(run)
    assert_severity_and_resource(finding, Severity.MEDIUM, "AWS::EC2::Instance", "i-0noprofile")
    assert finding.title == "EC2 instance i-0noprofile has no instance profile"
    assert finding.evidence == {"state": state}
    assert_proposes(
        finding,
        "associate-instance-profile",
        {
            "instance_id": "i-0noprofile",
            "instance_profile": BASELINE_PROFILE,
        },
        automatic=False,  # notify is the default mode
        blocked_by=(),
    )


def test_scenario_1_remediate_mode_makes_it_automatic() -> None:
    # Given an instance without a profile and the rule set to remediate
    snapshot = empty_snapshot()
    add_instance(snapshot, "i-0noprofile")

    # When the rule runs
    run = evaluate(RULE, snapshot, remediating(RULE, baseline_instance_profile=BASELINE_PROFILE))

    # Then nothing blocks the fix and it is applied automatically
    remediation = only_finding(run).remediation
    assert remediation is not None
    assert remediation.automatic is True
    assert remediation.blocked_by == ()


def test_scenario_1_dry_run_is_never_automatic() -> None:
    # Given the remediate mode but the deployment-wide kill switch
    snapshot = empty_snapshot()
    add_instance(snapshot, "i-0noprofile")
    ctx = remediating(RULE, baseline_instance_profile=BASELINE_PROFILE, dry_run=True)

    # When the rule runs
    remediation = only_finding(evaluate(RULE, snapshot, ctx)).remediation

    # Then nothing is changed automatically
    assert remediation is not None
    assert remediation.automatic is False


def test_scenario_1_cloudformation_instance_is_manual() -> None:
    # Given an instance managed by a CloudFormation stack, rule in remediate mode
    snapshot = empty_snapshot()
    add_instance(snapshot, "i-0cfn", tags={"aws:cloudformation:stack-name": "web-stack"})

    # When the rule runs
    ctx = remediating(RULE, baseline_instance_profile=BASELINE_PROFILE)
    remediation = only_finding(evaluate(RULE, snapshot, ctx)).remediation

    # Then a person must fix the template: not automatic, and the reason names the stack
    assert remediation is not None
    assert remediation.automatic is False
    assert remediation.blocked_by == (
        "managed by CloudFormation stack web-stack: fix the template, or the stack puts it back",
    )


def test_scenario_1_protected_instance_is_never_changed() -> None:
    # Given an instance tagged rolewarden:protected, rule in remediate mode
    snapshot = empty_snapshot()
    add_instance(snapshot, "i-0protected", tags={"rolewarden:protected": "true"})

    # When the rule runs
    ctx = remediating(RULE, baseline_instance_profile=BASELINE_PROFILE)
    finding = only_finding(evaluate(RULE, snapshot, ctx))

    # Then it is still reported, but never changed
    assert finding.remediation is not None
    assert finding.remediation.automatic is False
    assert finding.remediation.blocked_by == ("protected: tagged rolewarden:protected",)


def test_scenario_2_instance_with_profile_is_compliant() -> None:
    # Given an instance with a profile
    snapshot = empty_snapshot()
    role = add_role(snapshot, "app")
    instance = add_instance(snapshot, "i-0ok", profile_arn=profile_of(role))

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then it is compliant and no finding is produced
    evaluation = only_evaluation(run, instance.arn)
    assert evaluation.compliance is Compliance.COMPLIANT
    assert evaluation.annotation == "has an instance profile"
    assert run.findings == []


def test_scenario_3_without_baseline_profile_the_proposal_is_not_automatic() -> None:
    # Given no ROLEWARDEN_BASELINE_INSTANCE_PROFILE, even in remediate mode
    snapshot = empty_snapshot()
    add_instance(snapshot, "i-0noprofile")

    # When the rule runs
    remediation = only_finding(evaluate(RULE, snapshot, remediating(RULE))).remediation

    # Then the proposal says why it cannot be applied
    assert remediation is not None
    assert remediation.automatic is False
    assert remediation.params["instance_profile"] is None
    assert remediation.blocked_by == (NO_PROFILE_REASON,)


def test_scenario_4_auto_scaling_group_and_launch_template_are_the_root_cause() -> None:
    # Given an instance launched by an Auto Scaling group from a launch template
    snapshot = empty_snapshot()
    add_instance(
        snapshot,
        "i-0asg",
        tags={"aws:autoscaling:groupName": "web-asg", "aws:ec2launchtemplate:id": "lt-0abc"},
    )

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then the evidence names both: the next instance would repeat the fault
    assert finding.evidence["root_cause"] == {
        "auto_scaling_group": "web-asg",
        "launch_template": "lt-0abc",
    }


def test_terminated_instance_is_not_applicable() -> None:
    # Given a terminated instance without a profile (a targeted read may still see one)
    snapshot = empty_snapshot()
    instance = add_instance(snapshot, "i-0gone", state="terminated")
    # When the rule runs
    evaluation = only_evaluation(evaluate(RULE, snapshot, context()), instance.arn)
    # Then it is not applicable, and says why
    assert evaluation.compliance is Compliance.NOT_APPLICABLE
    assert evaluation.annotation == "instance is terminated"


def test_protected_tag_counts_whatever_its_case() -> None:
    # Given an instance without a profile tagged RoleWarden:Protected (operator's spelling)
    snapshot = empty_snapshot()
    add_instance(snapshot, "i-0vendor", tags={"RoleWarden:Protected": "yes"})
    # When the rule runs in remediate mode, with a baseline profile
    settings = {"baseline_instance_profile": BASELINE_PROFILE}
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE, **settings)))
    # Then it is never changed, and the spelling is reported as a probable typo
    assert finding.remediation is not None
    assert finding.remediation.automatic is False
    assert finding.remediation.blocked_by == (
        'protected: tagged "RoleWarden:Protected" (taken as rolewarden:protected; probable typo)',
    )
