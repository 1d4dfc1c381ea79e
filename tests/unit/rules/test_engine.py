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
)

from rolewarden.rules.engine import ExemptResource, run_rules
from rolewarden.rules.model import Compliance, Severity, finding_id

EC2_RULE = "ec2-instance-without-profile"
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
