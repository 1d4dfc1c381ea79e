"""run_rules: exemptions applied, findings built, resources counted."""

from __future__ import annotations

import hashlib

from snapshots import (
    ACCOUNT,
    REGION,
    add_instance,
    add_role,
    add_task_definition,
    context,
    empty_snapshot,
    only_evaluation,
    only_finding,
    profile_of,
    register_container_instance,
)

from rolewarden.inventory.snapshot import Instance, Snapshot
from rolewarden.rules.engine import ExemptResource, run_rules
from rolewarden.rules.model import Compliance, Severity, finding_id

EC2_RULE = "ec2-instance-without-profile"
IMDS_RULE = "ecs-host-imds-exposed"
INSTANCE_RULES = [EC2_RULE, "instance-profile-without-role", IMDS_RULE]
EXEMPT = {
    "rolewarden:exempt-until": "2025-12-31",
    "rolewarden:exempt-reason": "vendor appliance, ticket SEC-142",
}


def test_exempt_resource_is_not_applicable_and_listed() -> None:
    # Given an instance without a profile that carries a valid exemption
    snapshot = empty_snapshot()
    instance = add_instance(snapshot, "i-0vendor", tags=EXEMPT)

    # When the rule runs
    run = run_rules(snapshot, context(), [EC2_RULE])

    # Then there is no finding, Config is told why, and the summary lists the exemption
    evaluation = only_evaluation(run, instance.arn)
    assert evaluation.compliance is Compliance.NOT_APPLICABLE
    assert evaluation.annotation == "exempt until 2025-12-31: vendor appliance, ticket SEC-142"
    assert evaluation.violation is None
    assert run.findings == []
    assert run.exempt == [
        ExemptResource(
            EC2_RULE,
            "AWS::EC2::Instance",
            instance.arn,
            "2025-12-31",
            "vendor appliance, ticket SEC-142",
        )
    ]
    assert run.examined == {("AWS::EC2::Instance", instance.arn)}


def test_expired_exemption_keeps_the_finding_and_says_so() -> None:
    # Given an instance without a profile whose exemption ended yesterday
    snapshot = empty_snapshot()
    tags = {"rolewarden:exempt-until": "2025-05-31", "rolewarden:exempt-reason": "migration"}
    instance = add_instance(snapshot, "i-0late", tags=tags)

    # When the rule runs on 2025-06-01
    run = run_rules(snapshot, context(), [EC2_RULE])

    # Then the finding stands, with the exemption's problem in its evidence
    assert only_evaluation(run, instance.arn).compliance is Compliance.NON_COMPLIANT
    assert run.exempt == []
    finding = only_finding(run)
    assert finding.severity is Severity.MEDIUM
    assert finding.evidence == {
        "state": "running",
        "exemption": {
            "status": "expired",
            "until": "2025-05-31",
            "reason": "migration",
            "problem": "expired on 2025-05-31",
        },
    }


def test_exemption_beyond_max_days_keeps_the_finding() -> None:
    # Given ROLEWARDEN_MAX_EXEMPTION_DAYS=30 and an exemption 213 days ahead
    snapshot = empty_snapshot()
    add_instance(snapshot, "i-0long", tags=EXEMPT)

    # When the rule runs
    run = run_rules(snapshot, context(max_exemption_days=30), [EC2_RULE])

    # Then it does not exempt
    assert run.exempt == []
    assert only_finding(run).evidence["exemption"]["status"] == "too-long"


def test_finding_identity_and_location() -> None:
    # Given an instance without a profile
    snapshot = empty_snapshot()
    instance = add_instance(snapshot, "i-0noprofile")

    # When the rule runs
    finding = only_finding(run_rules(snapshot, context(), [EC2_RULE]))

    # Then the id is the first 16 hex digits of sha256("rule|arn"), and it names account/region
    expected = hashlib.sha256(f"{EC2_RULE}|{instance.arn}".encode()).hexdigest()[:16]
    assert finding.finding_id == expected
    assert finding_id(EC2_RULE, instance.arn) == expected
    assert len(expected) == 16
    document = finding.as_json()
    assert document["finding_id"] == expected
    assert document["status"] == "NON_COMPLIANT"
    assert (document["account"], document["region"]) == (ACCOUNT, REGION)
    assert document["resource_arn"] == instance.arn


def test_examined_counts_evaluated_resources_not_out_of_scope_ones() -> None:
    # Given a compliant instance, a non-compliant one and (for the IMDS rule) no ECS host
    snapshot = empty_snapshot()
    role = add_role(snapshot, "app")
    good = add_instance(snapshot, "i-0good", profile_arn=profile_of(role))
    bad = add_instance(snapshot, "i-0bad")
    definition = add_task_definition(snapshot, status="INACTIVE")

    # When three rules run
    run = run_rules(
        snapshot,
        context(),
        [EC2_RULE, "ecs-host-imds-exposed", "ecs-task-definition-without-task-role"],
    )

    # Then compliant and non-compliant resources count once each; NOT_APPLICABLE ones do not
    assert run.examined == {
        ("AWS::EC2::Instance", good.arn),
        ("AWS::EC2::Instance", bad.arn),
    }
    assert ("AWS::ECS::TaskDefinition", definition.arn) not in run.examined
    assert len(run.evaluations) == 5
    assert [f.resource_arn for f in run.findings] == [bad.arn]


def test_only_requested_rules_run() -> None:
    # Given an instance without a profile
    snapshot = empty_snapshot()
    add_instance(snapshot, "i-0noprofile")

    # When only an unrelated rule runs
    run = run_rules(snapshot, context(), ["task-role-is-execution-role"])

    # Then nothing is evaluated
    assert run.evaluations == []
    assert run.findings == []


def exposed_host_without_profile(snapshot: Snapshot, tags: dict[str, str]) -> Instance:
    """An ECS container instance with no instance profile that allows IMDSv1: two rules."""
    instance = add_instance(snapshot, "i-0vendorhost", http_tokens="optional", tags=tags)
    register_container_instance(snapshot, instance)
    return instance


def test_exemption_of_one_rule_leaves_the_other_rules_judging_as_usual() -> None:
    # Given an ECS host without a profile allowing IMDSv1, exempt for ecs-host-imds-exposed only
    snapshot = empty_snapshot()
    host = exposed_host_without_profile(snapshot, {**EXEMPT, "rolewarden:exempt-rules": IMDS_RULE})

    # When the instance rules run
    run = run_rules(snapshot, context(), INSTANCE_RULES)

    # Then ecs-host-imds-exposed is exempt (Config is told why) and listed in the summary
    imds = [e for e in run.evaluations if e.rule == IMDS_RULE]
    assert [(e.compliance, e.annotation) for e in imds] == [
        (
            Compliance.NOT_APPLICABLE,
            "exempt until 2025-12-31: vendor appliance, ticket SEC-142",
        )
    ]
    assert run.exempt == [
        ExemptResource(
            IMDS_RULE,
            "AWS::EC2::Instance",
            host.arn,
            "2025-12-31",
            "vendor appliance, ticket SEC-142",
        )
    ]
    # ... and ec2-instance-without-profile still finds the instance, as it would untagged,
    # its evidence saying the exemption covers another rule
    untagged = empty_snapshot()
    exposed_host_without_profile(untagged, {})
    usual = only_finding(run_rules(untagged, context(), [EC2_RULE]))
    finding = only_finding(run)
    assert (finding.rule, finding.resource_arn) == (EC2_RULE, host.arn)
    assert (finding.severity, finding.title, finding.remediation) == (
        usual.severity,
        usual.title,
        usual.remediation,
    )
    assert finding.evidence == {
        **usual.evidence,
        "exemption": {
            "status": "other-rules",
            "until": "2025-12-31",
            "reason": "vendor appliance, ticket SEC-142",
            "problem": f"covers only {IMDS_RULE} (rolewarden:exempt-rules)",
            "rules": [IMDS_RULE],
        },
    }


def test_exempt_list_names_only_the_rules_the_resource_violates() -> None:
    # Given an ECS host with a profile (compliant with the profile rules) allowing IMDSv1,
    # exempt from every rule
    snapshot = empty_snapshot()
    role = add_role(snapshot, "vendor-host")
    instance = add_instance(
        snapshot, "i-0vendor", profile_arn=profile_of(role), http_tokens="optional", tags=EXEMPT
    )
    register_container_instance(snapshot, instance)

    # When the instance rules run
    run = run_rules(snapshot, context(), INSTANCE_RULES)

    # Then the summary lists the one accepted risk, not the rules it complies with
    assert [(item.rule, item.resource_arn) for item in run.exempt] == [(IMDS_RULE, instance.arn)]
    # ... and Config hears COMPLIANT where it complies: there was no risk to accept
    assert {e.rule: e.compliance for e in run.evaluations} == {
        EC2_RULE: Compliance.COMPLIANT,
        "instance-profile-without-role": Compliance.COMPLIANT,
        IMDS_RULE: Compliance.NOT_APPLICABLE,
    }
    assert run.findings == []


def test_unknown_rule_id_exempts_nothing_and_every_finding_names_it() -> None:
    # Given an ECS host without a profile allowing IMDSv1, its rules tag with a typo
    snapshot = empty_snapshot()
    exposed_host_without_profile(
        snapshot, {**EXEMPT, "rolewarden:exempt-rules": "ecs-host-imds-exposd"}
    )

    # When the instance rules run
    run = run_rules(snapshot, context(), INSTANCE_RULES)

    # Then nothing is exempt, and both findings say why
    assert run.exempt == []
    problem = (
        "rolewarden:exempt-rules names unknown rule id 'ecs-host-imds-exposd' "
        "(did you mean ecs-host-imds-exposed?)"
    )
    assert {
        f.rule: (f.evidence["exemption"]["status"], f.evidence["exemption"]["problem"])
        for f in run.findings
    } == {EC2_RULE: ("malformed", problem), IMDS_RULE: ("malformed", problem)}
