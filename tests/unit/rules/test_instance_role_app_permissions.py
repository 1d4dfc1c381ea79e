"""instance-role-app-permissions: one test per numbered Scenario of the rule's docstring."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from snapshots import (
    AGENT_ONLY,
    CLUSTER_ARN,
    ECS_AGENT_POLICY_ARN,
    MIXED,
    PASS_ROLE,
    REGION,
    S3_READ,
    SSM_CORE_POLICY_ARN,
    add_ecs_host,
    add_instance,
    add_managed_policy,
    add_role,
    add_service,
    add_task,
    add_task_definition,
    allow,
    assert_severity_and_resource,
    context,
    empty_snapshot,
    evaluate,
    only_evaluation,
    only_finding,
    only_non_compliant_finding,
    profile_of,
    remediating,
)

from rolewarden.inventory.snapshot import ManagedPolicy, ScanError, Snapshot
from rolewarden.notify.messages import finding_notice
from rolewarden.notify.slack_blocks import slack_message
from rolewarden.policy.digest import document_digest
from rolewarden.rules.model import Compliance, Finding, Severity

RULE = "instance-role-app-permissions"
NOT_ECS_HOST = "not an ECS host role: these may be the application's own permissions"


def ecs_host_role_with(snapshot: Snapshot, name: str = "ecs-host", **role: Any) -> None:
    """An ECS host role with the agent's managed policy, on a registered container instance."""
    add_ecs_host(snapshot, add_role(snapshot, name, **role))


def remediation_of(finding: Finding) -> Any:
    assert finding.remediation is not None
    return finding.remediation


def test_scenario_1_ecs_host_role_granting_application_actions_is_high() -> None:
    # Given an ECS host role with the agent policy and an inline S3 read policy,
    # rule in remediate mode, nothing running on the host
    snapshot = empty_snapshot()
    role = add_role(
        snapshot, "ecs-host", inline={"orders-read": S3_READ}, attached=(ECS_AGENT_POLICY_ARN,)
    )
    add_ecs_host(snapshot, role, "i-0host", tags={"aws:autoscaling:groupName": "ecs-asg"})

    # When the rule runs
    run = evaluate(RULE, snapshot, remediating(RULE))

    # Then a high finding lists the offending policy and its actions, and the fix is automatic
    finding = only_non_compliant_finding(run, role.arn)
    assert_severity_and_resource(finding, Severity.HIGH, "AWS::IAM::Role", role.role_id)
    assert finding.title == "ECS host role ecs-host grants application permissions (s3)"
    evidence = finding.evidence
    assert evidence["role"] == {"name": "ecs-host", "arn": role.arn, "ecs_host_role": True}
    assert evidence["instances"] == ["i-0host"]
    assert evidence["root_cause"] == [{"auto_scaling_group": "ecs-asg"}]
    assert evidence["boundary"] is None
    assert "critical" not in evidence
    [offending] = evidence["offending_policies"]
    assert offending["policy"] == {
        "name": "orders-read",
        "arn": None,
        "type": "inline",
        "owner": "customer",
    }
    assert offending["mixed"] is False
    assert offending["resources"] == ["arn:aws:s3:::orders/*"]
    assert offending["actions"] == {"s3": {"Read": {"count": 1, "actions": ["s3:GetObject"]}}}
    remediation = remediation_of(finding)
    assert remediation.action == "remove-application-policies"
    assert dict(remediation.params) == {
        "role_name": "ecs-host",
        "steps": [{"action": "delete-inline-policy", "policy_name": "orders-read"}],
    }
    assert remediation.blocked_by == ()
    assert remediation.automatic is True


def test_scenario_1_customer_managed_policy_is_detached() -> None:
    # Given an ECS host role with a customer managed application policy attached
    snapshot = empty_snapshot()
    policy = add_managed_policy(snapshot, "OrdersRead", S3_READ)
    ecs_host_role_with(snapshot, attached=(ECS_AGENT_POLICY_ARN, policy.arn))

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then the step detaches that policy, and the agent policy is left alone
    assert remediation_of(finding).params["steps"] == [
        {"action": "detach-managed-policy", "policy_arn": policy.arn}
    ]
    assert [p["policy"]["arn"] for p in finding.evidence["offending_policies"]] == [policy.arn]


def test_scenario_1_privilege_escalation_is_critical() -> None:
    # Given an ECS host role that can pass any role
    snapshot = empty_snapshot()
    ecs_host_role_with(snapshot, inline={"deployer": PASS_ROLE}, attached=(ECS_AGENT_POLICY_ARN,))

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it is critical and says why
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence["critical"] == ["privilege escalation: iam:PassRole on any role (*)"]


def test_scenario_1_pass_role_on_named_roles_is_high_and_names_them() -> None:
    # Given an ECS host role that can pass one named role, to ECS tasks only
    worker = "arn:aws:iam::123456789012:role/worker"
    deployer = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PassWorker",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": worker,
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            }
        ],
    }
    snapshot = empty_snapshot()
    ecs_host_role_with(snapshot, inline={"deployer": deployer}, attached=(ECS_AGENT_POLICY_ARN,))

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it is high, and the evidence names the role and the service it may go to
    assert finding.severity is Severity.HIGH
    assert "critical" not in finding.evidence
    [offending] = finding.evidence["offending_policies"]
    assert offending["critical"] == []
    assert offending["role_grants"] == [
        {
            "action": "iam:PassRole",
            "statement": "PassWorker",
            "roles": [worker],
            "any_role": False,
            "passed_to_service": {"StringEquals": ["ecs-tasks.amazonaws.com"]},
        }
    ]


def test_scenario_1_dry_run_is_not_automatic() -> None:
    # Given remediate mode under the dry-run kill switch
    snapshot = empty_snapshot()
    ecs_host_role_with(snapshot, inline={"orders-read": S3_READ})

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE, dry_run=True)))

    # Then nothing is changed automatically
    assert remediation_of(finding).automatic is False
    assert remediation_of(finding).blocked_by == ()


@pytest.mark.parametrize(
    ("role_options", "reason"),
    [
        (
            {"tags": {"aws:cloudformation:stack-name": "ecs-stack"}},
            "managed by CloudFormation stack ecs-stack: fix the template, "
            "or the stack puts it back",
        ),
        ({"tags": {"rolewarden:protected": ""}}, "protected: tagged rolewarden:protected"),
        ({"path": "/aws-service-role/"}, "service-linked role: AWS manages its policies"),
        ({"tags": {"rolewarden:component": "sweep"}}, "RoleWarden's own role"),
    ],
    ids=["cloudformation", "protected", "service-linked", "own-role"],
)
def test_scenario_1_guarded_roles_are_reported_but_not_changed_automatically(
    role_options: dict[str, Any], reason: str
) -> None:
    # Given an offending ECS host role that RoleWarden must not change on its own
    snapshot = empty_snapshot()
    ecs_host_role_with(snapshot, inline={"orders-read": S3_READ}, **role_options)

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then it is still reported, with the reason it is not changed
    assert finding.severity is Severity.HIGH
    assert remediation_of(finding).automatic is False
    assert remediation_of(finding).blocked_by == (reason,)


def test_scenario_2_baseline_only_role_is_compliant() -> None:
    # Given an ECS host role with the agent and SSM managed policies (documents not fetched:
    # baseline by identity) and an inline policy of agent actions only
    snapshot = empty_snapshot()
    role = add_role(
        snapshot,
        "ecs-host",
        inline={"agent": AGENT_ONLY},
        attached=(ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN),
    )
    add_ecs_host(snapshot, role)

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then it is compliant
    evaluation = only_evaluation(run, role.arn)
    assert evaluation.compliance is Compliance.COMPLIANT
    assert evaluation.annotation == "grants only infrastructure baseline actions"
    assert run.findings == []


def test_scenario_3_plain_instance_role_is_out_of_scope_ecs_hosts() -> None:
    # Given an application role on a plain EC2 instance (not an ECS container instance)
    snapshot = empty_snapshot()
    role = add_role(snapshot, "app", inline={"orders-read": S3_READ})
    add_instance(snapshot, "i-0plain", profile_arn=profile_of(role))

    # When the rule runs with the default scope ecs-hosts
    run = evaluate(RULE, snapshot)

    # Then it is not applicable, and says why
    evaluation = only_evaluation(run, role.arn)
    assert evaluation.compliance is Compliance.NOT_APPLICABLE
    assert evaluation.annotation == "not an ECS host role (scope ecs-hosts)"
    assert run.findings == []


def test_scenario_3_scope_all_reports_plain_role_but_never_automatically() -> None:
    # Given the same plain instance role, scope all, rule in remediate mode
    snapshot = empty_snapshot()
    role = add_role(snapshot, "app", inline={"orders-read": S3_READ})
    add_instance(snapshot, "i-0plain", profile_arn=profile_of(role))

    # When the rule runs
    ctx = remediating(RULE, instance_role_scope="all")
    finding = only_finding(evaluate(RULE, snapshot, ctx))

    # Then it is reported as an instance role, for a person to act on
    assert finding.severity is Severity.HIGH
    assert finding.title == "Instance role app grants application permissions (s3)"
    assert finding.evidence["role"]["ecs_host_role"] is False
    assert remediation_of(finding).automatic is False
    assert remediation_of(finding).blocked_by == (NOT_ECS_HOST,)


def test_scenario_3_ecs_agent_policy_puts_role_in_scope_without_container_instance() -> None:
    # Given a role carrying the ECS agent's managed policy (document not fetched) plus S3,
    # behind a profile, but no registered container instance uses it
    snapshot = empty_snapshot()
    role = add_role(
        snapshot, "ecs-host", inline={"orders-read": S3_READ}, attached=(ECS_AGENT_POLICY_ARN,)
    )

    # When the rule runs with scope ecs-hosts
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then it is an ECS host role, reported for S3 only (the agent policy is baseline)
    assert finding.resource_arn == role.arn
    assert finding.evidence["role"]["ecs_host_role"] is True
    assert finding.evidence["instances"] == []
    assert "policy_errors" not in finding.evidence
    assert [p["policy"]["name"] for p in finding.evidence["offending_policies"]] == ["orders-read"]
    assert remediation_of(finding).automatic is True


def test_scenario_4_role_without_instance_profile_is_not_applicable() -> None:
    # Given a role with application permissions that no instance profile holds
    snapshot = empty_snapshot()
    role = add_role(snapshot, "lambda-role", inline={"orders-read": S3_READ}, with_profile=False)

    # When the rule runs, even with scope all
    run = evaluate(RULE, snapshot, context(instance_role_scope="all"))

    # Then it is not applicable
    evaluation = only_evaluation(run, role.arn)
    assert evaluation.compliance is Compliance.NOT_APPLICABLE
    assert evaluation.annotation == "not behind an instance profile"
    assert run.findings == []


def test_scenario_4_a_role_read_without_its_policies_is_never_judged_on_them() -> None:
    # Given a task role an event read without its policies (no instance profile holds it)
    snapshot = empty_snapshot()
    role = replace(add_role(snapshot, "orders-task", with_profile=False), permissions_read=False)
    snapshot.iam.roles[role.arn] = role
    ctx = context(instance_role_scope="all")

    # When the rule runs / Then it is not applicable, as a role read whole would be
    run = evaluate(RULE, snapshot, ctx)
    assert only_evaluation(run, role.arn).compliance is Compliance.NOT_APPLICABLE
    # ... and a verdict on the policies it was read without is refused, never "compliant"
    with pytest.raises(ValueError, match="policies were not read"):
        ctx.roles.verdict(snapshot, role)


BASELINE_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ecs:Poll"], "Resource": ["*"]}],
}


def test_scenario_5_mixed_inline_policy_is_split_not_removed() -> None:
    # Given an ECS host role whose only policy grants ecs:Poll and s3:GetObject together
    snapshot = empty_snapshot()
    ecs_host_role_with(snapshot, inline={"host": MIXED})

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then the step splits it (nothing blocks that: the ECS agent keeps its permissions),
    # from the document as read, and the evidence shows the same split
    assert finding.evidence["offending_policies"][0]["mixed"] is True
    remediation = remediation_of(finding)
    assert remediation.automatic is True
    assert remediation.blocked_by == ()
    assert remediation.params["steps"] == [
        {
            "action": "split-mixed-policy",
            "policy_name": "host",
            "document": BASELINE_ONLY,
            "source": {"sha256": document_digest(MIXED)},
        }
    ]
    assert finding.evidence["proposed_split"] == [
        {
            "policy": "host",
            "baseline_only_document": BASELINE_ONLY,
            "move_to_task_role": ["s3:GetObject"],
        }
    ]


def test_scenario_5_mixed_customer_managed_policy_is_split_from_its_default_version() -> None:
    snapshot = empty_snapshot()
    policy = add_managed_policy(snapshot, "host-and-app", MIXED)
    ecs_host_role_with(snapshot, attached=(ECS_AGENT_POLICY_ARN, policy.arn))

    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    assert remediation_of(finding).params["steps"] == [
        {
            "action": "split-mixed-policy",
            "policy_arn": policy.arn,
            "document": BASELINE_ONLY,
            "source": {"version_id": "v1"},
        }
    ]
    assert remediation_of(finding).blocked_by == ()


def test_scenario_5_mixed_aws_managed_policy_is_detached_only_when_forced() -> None:
    # Given a host role with an AWS managed policy granting baseline and application actions
    snapshot = empty_snapshot()
    arn = "arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM"
    snapshot.iam.managed_policies[arn] = ManagedPolicy(arn, "AmazonEC2RoleforSSM", "v8", MIXED)
    ecs_host_role_with(snapshot, attached=(ECS_AGENT_POLICY_ARN, arn))

    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then it cannot be split (AWS owns it): detaching it stays, blocked unless forced
    remediation = remediation_of(finding)
    assert remediation.params["steps"] == [{"action": "detach-managed-policy", "policy_arn": arn}]
    assert remediation.automatic is False
    assert remediation.blocked_by == (
        "mixed policy grants baseline and application actions (removing it would stop the "
        "ECS agent): AmazonEC2RoleforSSM; split it as proposed (an AWS managed policy cannot "
        "be edited: attach the baseline-only document as a policy of your own)",
    )


def test_scenario_6_task_without_task_role_on_the_host_triggers_outage_guard() -> None:
    # Given an offending ECS host role whose host allows IMDSv1 and, on it, one bridge task
    # without a task role and one with a task role
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host", inline={"orders-read": S3_READ})
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    legacy = add_task_definition(snapshot, "legacy", 2)
    modern = add_task_definition(snapshot, "modern", 1, task_role_arn="arn:aws:iam::1:role/m")
    add_task(snapshot, legacy, container, "t-legacy")
    add_task(snapshot, modern, container, "t-modern")

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then removal is blocked, naming the task that depends on the host role
    assert remediation_of(finding).automatic is False
    assert remediation_of(finding).blocked_by == (
        "outage guard: these run without a task role on this role's hosts and use its "
        "permissions today: task t-legacy (legacy:2); give their task definitions a task "
        "role first",
    )


def test_scenario_6_the_tasks_on_its_credentials_are_evidence_and_alerts_propose_migrating() -> (
    None
):
    # Given the host role above, a bridge task without a task role on its IMDSv1 host
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host", inline={"orders-read": S3_READ})
    _, container = add_ecs_host(snapshot, role, http_tokens="optional")
    add_task(snapshot, add_task_definition(snapshot, "legacy", 2), container, "t-legacy")

    # When the rule runs and its finding is announced
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))
    notice = finding_notice(finding, trigger="sweep")

    # Then the evidence names the task, and the alert proposes the migration's plan
    assert finding.evidence["on_its_credentials"] == ["task t-legacy (legacy:2)"]
    assert notice.message["migrate_command"] == "rolewarden migrate ecs-host --region eu-west-1"
    slack = json.dumps(slack_message(notice))
    assert "rolewarden migrate ecs-host --region eu-west-1" in slack


def test_scenario_6_without_tasks_on_its_credentials_no_migration_is_proposed() -> None:
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host", inline={"orders-read": S3_READ})
    add_ecs_host(snapshot, role, http_tokens="optional")
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))
    assert "on_its_credentials" not in finding.evidence
    assert "migrate_command" not in finding_notice(finding, trigger="sweep").message


def test_scenario_6_task_that_cannot_reach_imds_does_not_trigger_outage_guard() -> None:
    # Given an offending ECS host role whose host requires IMDSv2 with hop limit 1, running
    # a bridge task without a task role (it cannot get a token, so it has no credentials)
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host", inline={"orders-read": S3_READ})
    _, container = add_ecs_host(snapshot, role, http_tokens="required", hop_limit=1)
    add_task(snapshot, add_task_definition(snapshot, "legacy", 2), container, "t-legacy")

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then nothing depends on the host role: removal is automatic
    assert remediation_of(finding).blocked_by == ()
    assert remediation_of(finding).automatic is True


def test_scenario_6_service_without_task_role_on_the_cluster_triggers_outage_guard() -> None:
    # Given an offending ECS host role; on its cluster an EC2 service without a task role,
    # a Fargate service without one, and an EC2 service with one (no task running now)
    snapshot = empty_snapshot()
    ecs_host_role_with(snapshot, inline={"orders-read": S3_READ})
    add_service(snapshot, "web", add_task_definition(snapshot, "web", 5))
    add_service(snapshot, "batch", add_task_definition(snapshot, "batch", 1), "FARGATE")
    add_service(snapshot, "api", add_task_definition(snapshot, "api", 1, task_role_arn="arn:r/api"))

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then only the EC2 service without a task role blocks the change
    assert remediation_of(finding).automatic is False
    assert remediation_of(finding).blocked_by == (
        "outage guard: these run without a task role on this role's hosts and use its "
        "permissions today: service web (web:5); give their task definitions a task "
        "role first",
    )


def test_scenario_8_unparseable_policy_alone_is_never_compliant() -> None:
    # Given an ECS host role with baseline policies and one inline policy that is not JSON
    snapshot = empty_snapshot()
    role = add_role(
        snapshot, "ecs-host", inline={"broken": "{not json"}, attached=(ECS_AGENT_POLICY_ARN,)
    )
    add_ecs_host(snapshot, role)

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then the role gets no COMPLIANT evaluation (nor any finding)
    assert [e for e in run.evaluations if e.resource.arn == role.arn] == []
    assert run.findings == []


def test_scenario_8_unreadable_managed_policy_alone_is_never_compliant() -> None:
    # Given an ECS host role with a customer managed policy whose document was not read
    snapshot = empty_snapshot()
    policy = add_managed_policy(snapshot, "Unknown", None)
    role = add_role(snapshot, "ecs-host", attached=(ECS_AGENT_POLICY_ARN, policy.arn))
    add_ecs_host(snapshot, role)

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then the role is not vouched for
    assert [e for e in run.evaluations if e.resource.arn == role.arn] == []


def test_scenario_8_policy_errors_are_listed_beside_the_offending_policy() -> None:
    # Given an ECS host role with an S3 policy and an unparseable one
    snapshot = empty_snapshot()
    ecs_host_role_with(snapshot, inline={"orders-read": S3_READ, "broken": "{not json"})

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then the finding names the broken policy
    [error] = finding.evidence["policy_errors"]
    assert error.startswith("broken: policy is not valid JSON")


def test_scenario_6_unreadable_tasks_on_the_cluster_block_automatic_removal() -> None:
    # Given an offending ECS host role, and the cluster's tasks could not be read
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host", inline={"orders-read": S3_READ})
    add_ecs_host(snapshot, role)
    snapshot.errors.append(
        ScanError(REGION, "ecs:DescribeTasks", CLUSTER_ARN, "ecs:DescribeTasks: AccessDenied")
    )

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then nobody can tell who depends on the role: removal needs a person
    assert remediation_of(finding).automatic is False
    assert remediation_of(finding).blocked_by == (
        "outage guard: tasks or services could not be read (prod), so who uses this role "
        "through IMDS is unknown",
    )


def test_scenario_3_role_is_not_called_out_of_scope_when_ecs_membership_is_unknown() -> None:
    # Given a role behind a profile on a plain instance, and ListClusters failed
    snapshot = empty_snapshot()
    role = add_role(snapshot, "maybe-host", inline={"orders-read": S3_READ})
    add_instance(snapshot, "i-0maybe", profile_arn=profile_of(role))
    snapshot.errors.append(ScanError(REGION, "ecs:ListClusters", "account", "AccessDenied"))

    # When the rule runs (scope ecs-hosts)
    run = evaluate(RULE, snapshot, context())

    # Then the role gets no verdict at all: the scan error stands instead
    assert [e for e in run.evaluations if e.resource.arn == role.arn] == []


def test_scenario_7_host_role_shared_with_a_plain_instance_is_a_persons_decision() -> None:
    # Given an offending ECS host role that a plain EC2 instance (not an ECS host) also uses
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host", inline={"orders-read": S3_READ})
    add_ecs_host(snapshot, role)
    add_instance(snapshot, "i-0batch", profile_arn=profile_of(role))

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then removal is not automatic: the plain instance's application may need the permissions
    assert remediation_of(finding).automatic is False
    assert remediation_of(finding).blocked_by == (
        "also the role of instances that are not ECS hosts (i-0batch): their applications "
        "may need these permissions",
    )


def test_scenario_7_booting_instance_of_an_agent_policy_role_is_still_a_host() -> None:
    # Given an offending role that carries the ECS agent policy, on a registered host and on
    # an instance still booting (pending: its agent has not registered yet)
    snapshot = empty_snapshot()
    role = add_role(
        snapshot, "ecs-host", inline={"orders-read": S3_READ}, attached=(ECS_AGENT_POLICY_ARN,)
    )
    add_ecs_host(snapshot, role)
    add_instance(snapshot, "i-0booting", profile_arn=profile_of(role), state="pending")

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then both are hosts: nothing blocks the removal
    assert finding.evidence["instances"] == ["i-0booting", "i-0ecshost"]
    assert remediation_of(finding).blocked_by == ()
    assert remediation_of(finding).automatic is True


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_scenario_7_application_server_with_a_generic_ec2_role_is_a_persons_decision(
    state: str,
) -> None:
    # Given a "generic EC2 role" carrying the ECS agent policy, on a registered host and on
    # an application server that is not a registered container instance
    snapshot = empty_snapshot()
    role = add_role(
        snapshot, "generic-ec2", inline={"orders-read": S3_READ}, attached=(ECS_AGENT_POLICY_ARN,)
    )
    add_ecs_host(snapshot, role)
    add_instance(snapshot, "i-0appserver", profile_arn=profile_of(role), state=state)

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then automatic remediation must not strip it, and the reason names the server
    assert remediation_of(finding).automatic is False
    assert remediation_of(finding).blocked_by == (
        "also the role of instances that are not ECS hosts (i-0appserver): their applications "
        "may need these permissions",
    )


def test_scenario_10_protected_or_near_miss_host_blocks_automatic_changes() -> None:
    # Given a host role whose host is tagged rolewarden:protected, and another whose host
    # carries a near miss of the key (a Cyrillic o)
    snapshot = empty_snapshot()
    role = add_role(
        snapshot, "ecs-host", inline={"orders-read": S3_READ}, attached=(ECS_AGENT_POLICY_ARN,)
    )
    add_ecs_host(snapshot, role, tags={"rolewarden:protected": "true"})
    typo = add_role(
        snapshot, "typo-host", inline={"orders-read": S3_READ}, attached=(ECS_AGENT_POLICY_ARN,)
    )
    add_ecs_host(snapshot, typo, "i-0typohost", tags={"rolewarden:pr\u043etected": "true"})

    # When the rule runs in remediate mode
    findings = evaluate(RULE, snapshot, remediating(RULE)).findings

    # Then neither is automatic, and each reason names the instance
    blocked = {f.resource_id: remediation_of(f).blocked_by for f in findings}
    assert not any(remediation_of(f).automatic for f in findings)
    assert sorted(blocked.values()) == [
        ("instance i-0ecshost: protected: tagged rolewarden:protected",),
        (
            'instance i-0typohost: probable typo: tag key "rolewarden:pr\\u043etected" looks '
            "like rolewarden:protected: not honoured as written; fix the key",
        ),
    ]


def test_scenario_6_unreadable_instances_block_automatic_removal() -> None:
    # Given an offending role carrying the ECS agent policy, and DescribeInstances failed
    # (so which hosts use the role, and what runs on them, is unknown)
    snapshot = empty_snapshot()
    add_role(
        snapshot, "ecs-host", inline={"orders-read": S3_READ}, attached=(ECS_AGENT_POLICY_ARN,)
    )
    snapshot.errors.append(ScanError(REGION, "ec2:DescribeInstances", "account", "Throttling"))

    # When the rule runs in remediate mode
    finding = only_finding(evaluate(RULE, snapshot, remediating(RULE)))

    # Then removal waits for a person
    assert remediation_of(finding).automatic is False
    assert remediation_of(finding).blocked_by == (
        "outage guard: tasks or services could not be read (EC2 instances), so who uses this "
        "role through IMDS is unknown",
    )


def test_scenario_1_evidence_records_baseline_scope_and_per_policy_conditions() -> None:
    # Given a host role with a customer policy granting ssm:GetParameter on the CloudWatch
    # agent's parameters and s3:GetObject only under a condition, and another policy
    # granting s3:GetObject without one
    snapshot = empty_snapshot()
    agent_parameters = "arn:aws:ssm:*:*:parameter/AmazonCloudWatch-*"
    conditional = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": agent_parameters},
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
        ],
    }
    ecs_host_role_with(snapshot, inline={"params-and-files": conditional, "files": S3_READ})

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot, context()))

    # Then each policy's evidence is about its own statements, and the baseline action's
    # resource scope is on record
    by_name = {p["policy"]["name"]: p for p in finding.evidence["offending_policies"]}
    assert by_name["params-and-files"]["conditional"] is True
    assert by_name["files"]["conditional"] is False
    assert by_name["params-and-files"]["baseline_grants"] == {
        "ssm:GetParameter": [agent_parameters]
    }
    assert "baseline_grants" not in by_name["files"]


def test_title_names_a_few_services_and_counts_the_rest() -> None:
    # Given an ECS host role granting every action
    snapshot = empty_snapshot()
    ecs_host_role_with(snapshot, inline={"admin": allow_all()})
    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot, context()))
    # Then the title stays one readable line; the evidence keeps every service
    services = finding.title.split("(", 1)[1].rstrip(")")
    assert services.count(",") == 4
    assert services.endswith(" more")
    assert len(finding.evidence["offending_policies"][0]["actions"]) > 100


def allow_all() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }


def test_scenario_9_parameter_read_on_an_application_path_is_an_application_permission() -> None:
    # Given an ECS host role with the agent and SSM policies, and a customer policy reading
    # the payments service's parameters
    payments = "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/payments/*"
    snapshot = empty_snapshot()
    policy = add_managed_policy(
        snapshot, "PaymentsConfig", allow("ssm:GetParameter", resource=payments)
    )
    ecs_host_role_with(snapshot, attached=(ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN, policy.arn))

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then the customer policy is a high finding, and the evidence says why the read is
    # not the host's
    assert finding.severity is Severity.HIGH
    [offending] = finding.evidence["offending_policies"]
    assert offending["policy"]["arn"] == policy.arn
    assert offending["beyond_host_needs"] == [
        f"ssm:GetParameter on {payments} reads application parameters; a host needs only "
        "arn:*:ssm:*:*:parameter/AmazonCloudWatch-*, arn:*:ssm:*:*:parameter/aws/service/*"
    ]


def test_scenario_9_parameter_read_on_every_parameter_says_so() -> None:
    # Given an ECS host role whose inline policy reads every parameter
    snapshot = empty_snapshot()
    ecs_host_role_with(
        snapshot, inline={"config": allow("ssm:GetParameters")}, attached=(ECS_AGENT_POLICY_ARN,)
    )

    # When the rule runs
    finding = only_finding(evaluate(RULE, snapshot))

    # Then it is an application permission, for every parameter
    [offending] = finding.evidence["offending_policies"]
    assert offending["beyond_host_needs"] == [
        "ssm:GetParameters on * reads every parameter, the application's included; a host "
        "needs only arn:*:ssm:*:*:parameter/AmazonCloudWatch-*, "
        "arn:*:ssm:*:*:parameter/aws/service/*"
    ]


def test_scenario_9_cloudwatch_agent_parameters_are_baseline() -> None:
    # Given an ECS host role whose customer policy reads only the CloudWatch agent's
    # configuration and AWS's public parameters
    snapshot = empty_snapshot()
    reads = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": [
                    "arn:aws:ssm:*:*:parameter/AmazonCloudWatch-*",
                    "arn:aws:ssm:eu-west-1::parameter/aws/service/ecs/optimized-ami/*",
                ],
            }
        ],
    }
    role = add_role(snapshot, "ecs-host", inline={"agent": reads}, attached=(ECS_AGENT_POLICY_ARN,))
    add_ecs_host(snapshot, role)

    # When the rule runs
    run = evaluate(RULE, snapshot)

    # Then the role is compliant
    assert run.findings == []
    assert only_evaluation(run, role.arn).compliance is Compliance.COMPLIANT
