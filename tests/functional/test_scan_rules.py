"""Each rule's Scenarios, scanned in-process inside moto, checked as a user reads a finding.

One small account per rule (a class): each scenario gets its own resources, and
its compliant twin sits next to it. The account is scanned once per setting.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from rolewarden.demo.builders import (
    ASG_NAME_TAG,
    ECS_AGENT_POLICY_ARN,
    ECS_TASK_EXECUTION_POLICY_ARN,
    ECS_TASKS_SERVICE,
    EXEMPT_REASON_TAG,
    EXEMPT_UNTIL_TAG,
    S3_READ_ONLY_POLICY_ARN,
    SSM_CORE_POLICY_ARN,
    add_policy_version,
    allow,
    create_cluster,
    create_customer_policy,
    create_instance_profile,
    create_role,
    create_service,
    default_security_group,
    default_subnet,
    launch_instance,
    policy_document,
    register_container_instance,
    register_task_definition,
    run_task,
)
from rolewarden.inventory.aws import AwsClients
from rolewarden.inventory.build import build_snapshot, read_account_iam
from rolewarden.rules import ids
from rolewarden.rules.context import RuleContext
from rolewarden.rules.engine import run_rules
from rolewarden.rules.model import Compliance
from rolewarden.scan import ScanResult
from rolewarden.settings import Settings

ACCOUNT = "123456789012"
REGION = "us-east-1"
TODAY_TEXT = "2030-01-01"  # conftest.TODAY
PROTECTED = {"rolewarden:protected": "true"}
EXEMPTION_REASON = "vendor appliance, ticket SEC-142"
ORDERS_TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
ORDERS_TABLE_POLICY = policy_document(
    allow(["dynamodb:GetItem", "dynamodb:PutItem"], [ORDERS_TABLE])
)

Scan = Callable[..., ScanResult]


# --- helpers ------------------------------------------------------------------------------


def instance_arn(instance_id: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"


def expected_finding_id(rule: str, arn: str) -> str:
    return hashlib.sha256(f"{rule}|{arn}".encode()).hexdigest()[:16]


def finding(result: ScanResult, rule: str, arn: str) -> dict[str, Any] | None:
    """The finding of `rule` on the resource, as `scan --output json` prints it."""
    found = [f.as_json() for f in result.findings if f.rule == rule and f.resource_arn == arn]
    assert len(found) <= 1, found
    return found[0] if found else None


def assert_finding(
    found: dict[str, Any] | None,
    *,
    rule: str,
    severity: str,
    resource_type: str,
    resource_id: str,
    resource_arn: str,
    title: str,
) -> dict[str, Any]:
    assert found is not None, f"no {rule} finding for {resource_arn}"
    header = {key: found[key] for key in ("rule", "severity", "status", "account", "region")}
    assert header == {
        "rule": rule,
        "severity": severity,
        "status": "NON_COMPLIANT",
        "account": ACCOUNT,
        "region": REGION,
    }
    assert found["resource_type"] == resource_type
    assert found["resource_id"] == resource_id
    assert found["resource_arn"] == resource_arn
    assert found["finding_id"] == expected_finding_id(rule, resource_arn)
    assert found["title"] == title
    return found


@dataclass(frozen=True)
class Host:
    role_name: str
    role_arn: str
    role_id: str
    profile_arn: str
    instance_id: str
    container_instance_arn: str | None

    @property
    def instance_arn(self) -> str:
        return instance_arn(self.instance_id)


def make_role(
    session: boto3.Session,
    name: str,
    *,
    managed: tuple[str, ...] = (ECS_AGENT_POLICY_ARN,),
    inline: Mapping[str, Mapping[str, Any]] = {},
    boundary_arn: str | None = None,
    tags: Mapping[str, str] = {},
    path: str = "/",
    profile: bool = True,
) -> tuple[str, str, str | None]:
    """A role (behind a profile of the same name unless told): (arn, role id, profile arn)."""
    iam = session.client("iam")
    arn = create_role(
        iam,
        name,
        managed_policy_arns=managed,
        inline_policies=inline,
        boundary_arn=boundary_arn,
        tags=tags,
        path=path,
    )
    role_id = iam.get_role(RoleName=name)["Role"]["RoleId"]
    profile_arn = create_instance_profile(iam, name, name) if profile else None
    return arn, role_id, profile_arn


def make_host(
    session: boto3.Session,
    name: str,
    *,
    cluster: str | None = None,
    managed: tuple[str, ...] = (ECS_AGENT_POLICY_ARN,),
    inline: Mapping[str, Mapping[str, Any]] = {},
    http_tokens: str = "required",
    hop_limit: int = 1,
    user_data: str | None = None,
    instance_tags: Mapping[str, str] = {},
) -> Host:
    """A role and profile named `name`, an instance with it, registered in `cluster`."""
    ec2, ecs = session.client("ec2"), session.client("ecs")
    role_arn, role_id, profile_arn = make_role(session, name, managed=managed, inline=inline)
    assert profile_arn is not None
    instance_id = launch_instance(
        ec2,
        profile_arn=profile_arn,
        tags={"Name": name, **instance_tags},
        http_tokens=http_tokens,
        hop_limit=hop_limit,
        user_data=user_data,
    )
    container = register_container_instance(ecs, ec2, cluster, instance_id) if cluster else None
    return Host(name, role_arn, role_id, profile_arn, instance_id, container)


def ecs_user_data(cluster: str, *, block_imds_for_awsvpc: bool) -> str:
    lines = ["#!/bin/bash", f"echo ECS_CLUSTER={cluster} >> /etc/ecs/ecs.config"]
    if block_imds_for_awsvpc:
        lines.append("echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config")
    return "\n".join(lines) + "\n"


def short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


# --- ec2-instance-without-profile ---------------------------------------------------------

RULE_NO_PROFILE = ids.EC2_INSTANCE_WITHOUT_PROFILE


class TestEc2InstanceWithoutProfile:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any, scan: Scan) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
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
            yield world

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


# --- instance-profile-without-role -------------------------------------------------------

RULE_NO_ROLE = ids.INSTANCE_PROFILE_WITHOUT_ROLE


class TestInstanceProfileWithoutRole:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any, scan: Scan) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            ec2, iam = session.client("ec2"), session.client("iam")
            orphan_profile = create_instance_profile(iam, "orphan", None)
            orphan = launch_instance(
                ec2, profile_arn=orphan_profile, tags={ASG_NAME_TAG: "orphan-asg"}
            )
            _arn, _id, gone_profile = make_role(session, "temp-app", managed=())
            gone = launch_instance(ec2, profile_arn=gone_profile)
            iam.remove_role_from_instance_profile(
                InstanceProfileName="temp-app", RoleName="temp-app"
            )
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
            yield world

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


# --- instance-role-app-permissions -------------------------------------------------------

RULE_APP = ids.INSTANCE_ROLE_APP_PERMISSIONS


class TestInstanceRoleAppPermissions:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any, scan: Scan) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
            roles: dict[str, tuple[str, str]] = {}

            def role(name: str, **kwargs: Any) -> str | None:
                arn, role_id, profile = make_role(session, name, **kwargs)
                roles[name] = (arn, role_id)
                return profile

            role(
                "passrole-host", inline={"pass-any-role": policy_document(allow(["iam:PassRole"]))}
            )
            role("star-host", inline={"admin": policy_document(allow(["*"]))})
            orders_profile = role("orders-host", inline={"orders-table": ORDERS_TABLE_POLICY})
            orders_instance = launch_instance(
                ec2, profile_arn=orders_profile, tags={ASG_NAME_TAG: "orders-asg"}
            )
            role("baseline-host", managed=(ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN))
            mixed_arn = create_customer_policy(
                iam,
                "host-and-app",
                policy_document(
                    allow(["ecr:GetAuthorizationToken", "logs:PutLogEvents", "s3:GetObject"])
                ),
            )
            role("mixed-host", managed=(ECS_AGENT_POLICY_ARN, mixed_arn))

            # Outage guard: a host of cluster "shop" runs a task and a service without task role.
            create_cluster(ecs, "shop")
            shop = make_host(
                session,
                "shop-host",
                cluster="shop",
                inline={"orders-table": ORDERS_TABLE_POLICY},
                http_tokens="optional",
                hop_limit=2,
            )
            roles["shop-host"] = (shop.role_arn, shop.role_id)
            orders_td = register_task_definition(ecs, "orders-api")
            create_service(ecs, "shop", "orders", orders_td)
            shop_task = run_task(
                ecs, "shop", orders_td, container_instance_arn=shop.container_instance_arn
            )

            # Scope: a plain EC2 application's role.
            reporting_profile = role("reporting-app", managed=(S3_READ_ONLY_POLICY_ARN,))
            launch_instance(ec2, profile_arn=reporting_profile)

            # Boundary and Deny.
            boundary_arn = create_customer_policy(
                iam, "host-boundary", policy_document(allow(["ecs:*", "ecr:*", "logs:*"]))
            )
            role(
                "bounded-host",
                inline={"orders-table": ORDERS_TABLE_POLICY},
                boundary_arn=boundary_arn,
            )
            deny_all_dynamodb = {"Effect": "Deny", "Action": ["dynamodb:*"], "Resource": "*"}
            role(
                "denied-host",
                inline={
                    "orders-table": ORDERS_TABLE_POLICY,
                    "deny-dynamodb": policy_document(deny_all_dynamodb),
                },
            )
            deny_conditionally = {
                **deny_all_dynamodb,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
            role(
                "partly-denied-host",
                inline={
                    "orders-table": ORDERS_TABLE_POLICY,
                    "deny-insecure": policy_document(deny_conditionally),
                },
            )

            # Policy versions: only the default one counts.
            clean = policy_document(allow(["ecr:GetAuthorizationToken"]))
            app = policy_document(allow(["sqs:SendMessage"]))
            extras_arn = create_customer_policy(iam, "host-extras", clean)
            add_policy_version(iam, extras_arn, app, set_default=True)
            role("versioned-host", managed=(ECS_AGENT_POLICY_ARN, extras_arn))
            drafts_arn = create_customer_policy(iam, "host-drafts", clean)
            add_policy_version(iam, drafts_arn, app, set_default=False)
            role("draft-host", managed=(ECS_AGENT_POLICY_ARN, drafts_arn))

            # Never changed: protected, service-linked. Not behind a profile. Exempt.
            role("protected-host", inline={"orders-table": ORDERS_TABLE_POLICY}, tags=PROTECTED)
            role(
                "linked-host",
                inline={"orders-table": ORDERS_TABLE_POLICY},
                path="/aws-service-role/ecs.amazonaws.com/",
            )
            role("task-only", inline={"orders-table": ORDERS_TABLE_POLICY}, profile=False)
            role(
                "exempt-host",
                inline={"orders-table": ORDERS_TABLE_POLICY},
                tags={EXEMPT_UNTIL_TAG: "2030-02-01", EXEMPT_REASON_TAG: "migration, CHG-7"},
            )

            world = SimpleNamespace(
                session=session,
                roles=roles,
                orders_instance=orders_instance,
                mixed_arn=mixed_arn,
                orders_td=orders_td,
                shop_task=shop_task,
                extras_arn=extras_arn,
            )
            world.default = scan(session)
            world.all_remediate = scan(
                session, instance_role_scope="all", rule_modes={RULE_APP: "remediate"}
            )
            yield world

    def found(self, world: SimpleNamespace, name: str, result: str = "default") -> Any:
        return finding(getattr(world, result), RULE_APP, world.roles[name][0])

    def test_role_granting_pass_role_is_critical(self, world: SimpleNamespace) -> None:
        # Given an ECS host role whose inline policy grants iam:PassRole (scenario 1)
        arn, role_id = world.roles["passrole-host"]

        # When scanned
        found = self.found(world, "passrole-host")

        # Then a critical finding names the policy, the action and why it is critical
        found = assert_finding(
            found,
            rule=RULE_APP,
            severity="critical",
            resource_type="AWS::IAM::Role",
            resource_id=role_id,
            resource_arn=arn,
            title="ECS host role passrole-host grants application permissions (iam)",
        )
        assert found["evidence"]["critical"] == ["privilege escalation: iam:PassRole"]
        [policy] = found["evidence"]["offending_policies"]
        assert policy["policy"] == {
            "name": "pass-any-role",
            "arn": None,
            "type": "inline",
            "owner": "customer",
        }
        assert policy["application_action_count"] == 1
        assert [a for level in policy["actions"]["iam"].values() for a in level["actions"]] == [
            "iam:PassRole"
        ]

    def test_role_granting_everything_is_critical(self, world: SimpleNamespace) -> None:
        # Given an ECS host role with an Allow of "*" / When scanned
        found = self.found(world, "star-host")

        # Then it is critical because it grants every action
        assert found is not None
        assert found["severity"] == "critical"
        assert "grants every action (*)" in found["evidence"]["critical"]

    def test_role_granting_application_actions_is_high(self, world: SimpleNamespace) -> None:
        # Given an ECS host role with DynamoDB access to one table, used by an ASG instance
        arn, role_id = world.roles["orders-host"]

        # When scanned
        found = self.found(world, "orders-host")

        # Then a high finding lists the policy with its actions, the instance and its group
        found = assert_finding(
            found,
            rule=RULE_APP,
            severity="high",
            resource_type="AWS::IAM::Role",
            resource_id=role_id,
            resource_arn=arn,
            title="ECS host role orders-host grants application permissions (dynamodb)",
        )
        evidence = found["evidence"]
        assert "critical" not in evidence
        assert evidence["role"] == {"name": "orders-host", "arn": arn, "ecs_host_role": True}
        assert evidence["instances"] == [world.orders_instance]
        assert evidence["root_cause"] == [{"auto_scaling_group": "orders-asg"}]
        assert evidence["boundary"] is None
        assert evidence["offending_policies"] == [
            {
                "policy": {
                    "name": "orders-table",
                    "arn": None,
                    "type": "inline",
                    "owner": "customer",
                },
                "mixed": False,
                "application_action_count": 2,
                "baseline_action_count": 0,
                "granted_by": ["dynamodb:GetItem,dynamodb:PutItem"],
                "resources": [ORDERS_TABLE],
                "conditional": False,
                "partially_denied_by": [],
                "critical": [],
                "actions": {
                    "dynamodb": {
                        "Read": {"count": 1, "actions": ["dynamodb:GetItem"]},
                        "Write": {"count": 1, "actions": ["dynamodb:PutItem"]},
                    }
                },
            }
        ]
        assert found["remediation"] == {
            "action": "remove-application-policies",
            "automatic": False,
            "params": {
                "role_name": "orders-host",
                "steps": [{"action": "delete-inline-policy", "policy_name": "orders-table"}],
            },
            "blocked_by": [],
        }

    def test_remediate_mode_makes_an_unguarded_host_role_automatic(
        self, world: SimpleNamespace
    ) -> None:
        # Given the rule in remediate mode / When scanned
        found = self.found(world, "orders-host", "all_remediate")

        # Then removing the inline policy is automatic
        assert found is not None
        assert found["remediation"]["automatic"] is True
        assert found["remediation"]["blocked_by"] == []

    def test_role_with_only_baseline_policies_is_compliant(self, world: SimpleNamespace) -> None:
        # Given an ECS host role with the ECS agent and SSM policies only (scenario 2)
        # When scanned in either scope / Then no finding
        assert self.found(world, "baseline-host") is None
        assert self.found(world, "baseline-host", "all_remediate") is None

    def test_mixed_policy_is_blocked_and_a_baseline_only_split_is_proposed(
        self, world: SimpleNamespace
    ) -> None:
        # Given a customer policy granting ECR and logs (baseline) and s3:GetObject (scenario 5)
        # When scanned in remediate mode
        found = self.found(world, "mixed-host", "all_remediate")

        # Then detaching it is blocked, and the split keeps the baseline actions
        assert found is not None
        assert found["severity"] == "high"
        remediation = found["remediation"]
        assert remediation["automatic"] is False
        assert remediation["params"]["steps"] == [
            {"action": "detach-managed-policy", "policy_arn": world.mixed_arn}
        ]
        assert remediation["blocked_by"] == [
            "mixed policy grants baseline and application actions (removing it would stop the "
            "ECS agent): host-and-app; split it as proposed"
        ]
        [split] = found["evidence"]["proposed_split"]
        assert split["policy"] == "host-and-app"
        assert split["move_to_task_role"] == ["s3:GetObject"]
        assert split["baseline_only_document"] == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["ecr:GetAuthorizationToken", "logs:PutLogEvents"],
                    "Resource": ["*"],
                }
            ],
        }
        [policy] = found["evidence"]["offending_policies"]
        assert (policy["mixed"], policy["baseline_action_count"]) == (True, 2)

    def test_outage_guard_names_the_task_and_service_without_task_role(
        self, world: SimpleNamespace
    ) -> None:
        # Given a host role whose IMDSv1 host runs a bridge task, and whose cluster a service,
        # without a task role (scenario 6)
        # When scanned in remediate mode
        found = self.found(world, "shop-host", "all_remediate")

        # Then removing the permissions is blocked: they would lose them
        assert found is not None
        assert found["remediation"]["automatic"] is False
        assert found["remediation"]["blocked_by"] == [
            "outage guard: these run without a task role on this role's hosts and use its "
            f"permissions today: task {short(world.shop_task)} (orders-api:1), "
            "service orders (orders-api:1); give their task definitions a task role first"
        ]

    def test_plain_ec2_role_is_out_of_scope_ecs_hosts(self, world: SimpleNamespace) -> None:
        # Given a plain EC2 application's role (S3 read-only), not an ECS host (scenario 3)
        # When scanned with the default scope ecs-hosts / Then no finding
        assert self.found(world, "reporting-app") is None

    def test_plain_ec2_role_in_scope_all_is_reported_but_never_automatic(
        self, world: SimpleNamespace
    ) -> None:
        # Given the same role / When scanned with scope all, in remediate mode
        arn, role_id = world.roles["reporting-app"]
        found = self.found(world, "reporting-app", "all_remediate")

        # Then it is reported as an instance role, and only a person may act on it
        assert found is not None
        assert found["title"].startswith(
            "Instance role reporting-app grants application permissions (s3"
        )
        assert found["resource_id"] == role_id
        assert found["evidence"]["role"] == {
            "name": "reporting-app",
            "arn": arn,
            "ecs_host_role": False,
        }
        assert found["remediation"]["automatic"] is False
        assert (
            "not an ECS host role: these may be the application's own permissions"
            in found["remediation"]["blocked_by"]
        )

    def test_permissions_boundary_that_removes_the_application_actions_is_compliant(
        self, world: SimpleNamespace
    ) -> None:
        # Given the orders-table policy under a boundary that allows only ECS, ECR and logs
        # When scanned / Then no finding (its twin without boundary is reported)
        assert self.found(world, "bounded-host") is None
        assert self.found(world, "orders-host") is not None

    def test_unconditional_deny_that_removes_the_application_actions_is_compliant(
        self, world: SimpleNamespace
    ) -> None:
        # Given the orders-table policy and an unconditional Deny of dynamodb:* on *
        # When scanned / Then no finding
        assert self.found(world, "denied-host") is None

    def test_conditional_deny_is_partial_and_leaves_the_finding(
        self, world: SimpleNamespace
    ) -> None:
        # Given the orders-table policy and a Deny of dynamodb:* only without TLS
        # When scanned
        found = self.found(world, "partly-denied-host")

        # Then the finding stays and records the partial Deny
        assert found is not None
        [policy] = found["evidence"]["offending_policies"]
        assert policy["partially_denied_by"]
        assert all(note.startswith("deny-insecure") for note in policy["partially_denied_by"])

    def test_new_default_policy_version_with_application_actions_is_reported(
        self, world: SimpleNamespace
    ) -> None:
        # Given a customer policy whose new default version grants sqs:SendMessage
        # When scanned
        found = self.found(world, "versioned-host")

        # Then the finding names the policy and that action
        assert found is not None
        [policy] = found["evidence"]["offending_policies"]
        assert policy["policy"]["arn"] == world.extras_arn
        assert policy["policy"]["name"] == "host-extras"
        assert policy["actions"] == {"sqs": {"Write": {"count": 1, "actions": ["sqs:SendMessage"]}}}

    def test_non_default_policy_version_does_not_count(self, world: SimpleNamespace) -> None:
        # Given a customer policy whose clean v1 is the default and whose v2 is not
        # When scanned / Then no finding
        assert self.found(world, "draft-host") is None

    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            ("protected-host", "protected: tagged rolewarden:protected"),
            ("linked-host", "service-linked role: AWS manages its policies"),
        ],
    )
    def test_protected_and_service_linked_roles_are_reported_but_never_changed(
        self, world: SimpleNamespace, name: str, reason: str
    ) -> None:
        # Given a role tagged rolewarden:protected, or on the service-linked path
        # When scanned in remediate mode
        found = self.found(world, name, "all_remediate")

        # Then it is reported, and the proposal says why it will not be applied
        assert found is not None
        assert found["remediation"]["automatic"] is False
        assert found["remediation"]["blocked_by"] == [reason]

    def test_role_not_behind_an_instance_profile_is_not_applicable(
        self, world: SimpleNamespace
    ) -> None:
        # Given a role with application actions but no instance profile (scenario 4)
        # When scanned in scope all / Then no finding
        assert self.found(world, "task-only", "all_remediate") is None

    def test_exempt_role_is_listed_not_reported(self, world: SimpleNamespace) -> None:
        # Given an ECS host role with application actions and a valid exemption
        arn, _role_id = world.roles["exempt-host"]

        # When scanned / Then no finding, and the summary says why
        assert self.found(world, "exempt-host") is None
        assert {
            "rule": RULE_APP,
            "resource_type": "AWS::IAM::Role",
            "resource_arn": arn,
            "until": "2030-02-01",
            "reason": "migration, CHG-7",
        } in world.default.as_json()["summary"]["exempt"]


# --- ecs-task-definition-without-task-role -----------------------------------------------

RULE_TD = ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE


class TestEcsTaskDefinitionWithoutTaskRole:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any, scan: Scan) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            iam, ecs = session.client("iam"), session.client("ecs")
            execution = create_role(
                iam,
                "ecs-task-execution",
                trust_service=ECS_TASKS_SERVICE,
                managed_policy_arns=(ECS_TASK_EXECUTION_POLICY_ARN,),
            )
            task_role = create_role(iam, "checkout-task", trust_service=ECS_TASKS_SERVICE)
            create_cluster(ecs, "shop")
            orders = register_task_definition(ecs, "orders-api", execution_role_arn=execution)
            create_service(ecs, "shop", "orders", orders)
            legacy = register_task_definition(ecs, "legacy")
            ecs.deregister_task_definition(taskDefinition=legacy)
            world = SimpleNamespace(
                execution=execution,
                orders=orders,
                legacy=legacy,
                reports=register_task_definition(
                    ecs,
                    "reports",
                    execution_role_arn=execution,
                    network_mode="awsvpc",
                    compatibilities=("FARGATE",),
                ),
                checkout=register_task_definition(
                    ecs, "checkout", task_role_arn=task_role, execution_role_arn=execution
                ),
                protected=register_task_definition(ecs, "vendor", tags=PROTECTED),
            )
            world.result = scan(session)
            yield world

    def test_ec2_revision_without_task_role_is_high(self, world: SimpleNamespace) -> None:
        # Given an ACTIVE bridge revision for EC2 without a task role, used by a service
        # (scenario 1)
        # When scanned
        found = finding(world.result, RULE_TD, world.orders)

        # Then a high finding says its containers would use the host's credentials
        found = assert_finding(
            found,
            rule=RULE_TD,
            severity="high",
            resource_type="AWS::ECS::TaskDefinition",
            resource_id=world.orders,
            resource_arn=world.orders,
            title="Task definition orders-api:1 has no task role "
            "(on EC2 its containers would use the host's credentials)",
        )
        assert found["evidence"] == {
            "family": "orders-api",
            "revision": 1,
            "compatibilities": ["EC2"],
            "network_mode": "bridge",
            "execution_role": world.execution,
            "services": ["orders"],
        }
        assert found["remediation"] == {
            "action": "register-task-definition-with-task-role",
            "automatic": False,
            "params": {"task_definition_arn": world.orders, "task_role_arn": None},
            "blocked_by": ["a person chooses the task role"],
        }

    def test_revision_registered_for_fargate_but_validated_for_ec2_too_is_high(
        self, world: SimpleNamespace
    ) -> None:
        # Given a revision registered with requiresCompatibilities FARGATE, which ECS also
        # validated for EC2 (its `compatibilities`), without a task role / When scanned
        found = finding(world.result, RULE_TD, world.reports)

        # Then it is high: a RunTask on EC2 would hand its containers the host's credentials
        # (a revision that only Fargate can run is medium: see the unit tests)
        found = assert_finding(
            found,
            rule=RULE_TD,
            severity="high",
            resource_type="AWS::ECS::TaskDefinition",
            resource_id=world.reports,
            resource_arn=world.reports,
            title="Task definition reports:1 has no task role "
            "(on EC2 its containers would use the host's credentials)",
        )
        assert found["evidence"]["compatibilities"] == ["EC2", "FARGATE"]

    def test_revision_with_task_role_is_compliant(self, world: SimpleNamespace) -> None:
        # Given a revision with a task role (scenario 3) / When scanned / Then no finding
        assert finding(world.result, RULE_TD, world.checkout) is None

    def test_inactive_revision_is_not_applicable(self, world: SimpleNamespace) -> None:
        # Given a deregistered revision without task role (scenario 4) / When scanned
        # Then no finding
        assert finding(world.result, RULE_TD, world.legacy) is None

    def test_protected_revision_says_so(self, world: SimpleNamespace) -> None:
        # Given a revision tagged rolewarden:protected / When scanned
        found = finding(world.result, RULE_TD, world.protected)

        # Then the proposal names both reasons it is not applied automatically
        assert found is not None
        assert found["remediation"]["blocked_by"] == [
            "protected: tagged rolewarden:protected",
            "a person chooses the task role",
        ]


# --- ecs-task-without-task-role ----------------------------------------------------------

RULE_TASK = ids.ECS_TASK_WITHOUT_TASK_ROLE
APP_INLINE = {"orders-table": ORDERS_TABLE_POLICY}


class TestEcsTaskWithoutTaskRole:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any, scan: Scan) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
            subnet = default_subnet(ec2)
            group = default_security_group(ec2, subnet)
            task_role = create_role(iam, "checkout-task", trust_service=ECS_TASKS_SERVICE)
            bridge_td = register_task_definition(ecs, "orders-api")
            awsvpc_td = register_task_definition(ecs, "worker", network_mode="awsvpc")
            hosts: dict[str, Host] = {}
            for cluster, options in {
                "open": {"http_tokens": "optional", "hop_limit": 2, "inline": APP_INLINE},
                "locked": {"inline": APP_INLINE},
                "agent-only": {"http_tokens": "optional", "hop_limit": 2},
                "vpc-blocked": {
                    "inline": APP_INLINE,
                    "user_data": ecs_user_data("vpc-blocked", block_imds_for_awsvpc=True),
                },
                "vpc-open": {
                    "inline": APP_INLINE,
                    "user_data": ecs_user_data("vpc-open", block_imds_for_awsvpc=False),
                },
            }.items():
                create_cluster(ecs, cluster)
                hosts[cluster] = make_host(session, f"{cluster}-host", cluster=cluster, **options)

            def start(cluster: str, **kwargs: Any) -> str:
                return run_task(
                    ecs,
                    cluster,
                    bridge_td,
                    container_instance_arn=hosts[cluster].container_instance_arn,
                    **kwargs,
                )

            def start_awsvpc(cluster: str) -> str:
                return run_task(
                    ecs,
                    cluster,
                    awsvpc_td,
                    container_instance_arn=hosts[cluster].container_instance_arn,
                    subnet_id=subnet,
                    security_group_ids=[group],
                )

            world = SimpleNamespace(
                hosts=hosts,
                bridge_td=bridge_td,
                awsvpc_td=awsvpc_td,
                open_task=start("open"),
                override_task=start("open", task_role_override=task_role),
                locked_task=start("locked"),
                agent_only_task=start("agent-only"),
                vpc_blocked_task=start_awsvpc("vpc-blocked"),
                vpc_open_task=start_awsvpc("vpc-open"),
            )
            world.result = scan(session)
            yield world

    def test_task_falling_back_to_a_host_role_with_app_actions_is_critical(
        self, world: SimpleNamespace
    ) -> None:
        # Given a bridge task without task role on an IMDSv1 host whose role reads and writes
        # the orders table (scenario 1)
        host = world.hosts["open"]

        # When scanned
        found = finding(world.result, RULE_TASK, world.open_task)

        # Then it is critical and names the fallback role, its reachable permissions, and why
        found = assert_finding(
            found,
            rule=RULE_TASK,
            severity="critical",
            resource_type="AWS::ECS::Task",
            resource_id=world.open_task,
            resource_arn=world.open_task,
            title=f"Task {short(world.open_task)} (orders-api:1) has no task role and "
            "falls back to host role open-host",
        )
        evidence = found["evidence"]
        assert evidence["cluster"] == "open"
        assert evidence["task_definition"] == world.bridge_td
        assert evidence["network_mode"] == "bridge"
        assert evidence["imds_reachable"] is True
        assert evidence["imds_reason"] == "bridge: host allows IMDSv1 with hop limit 2"
        assert evidence["host"] == {
            "instance_id": host.instance_id,
            "metadata_options": {"http_tokens": "optional", "hop_limit": 2, "endpoint": "enabled"},
            "role": host.role_arn,
        }
        reachable = evidence["reachable_application_permissions"]
        assert reachable["services"] == ["dynamodb"]
        assert reachable["application_action_count"] == 2
        assert found["remediation"] == {
            "action": "register-task-definition-with-task-role",
            "automatic": False,
            "params": {"task_definition_arn": world.bridge_td, "task_role_arn": None},
            "blocked_by": ["a person chooses the task role and redeploys the task"],
        }

    def test_task_role_override_makes_the_task_compliant(self, world: SimpleNamespace) -> None:
        # Given the same task definition started with overrides.taskRoleArn (scenario 4)
        # When scanned / Then no finding for that task
        assert finding(world.result, RULE_TASK, world.override_task) is None

    def test_host_requiring_imdsv2_with_hop_limit_1_makes_it_high(
        self, world: SimpleNamespace
    ) -> None:
        # Given a bridge task without task role on a host requiring IMDSv2, hop limit 1
        # (scenario 2)
        # When scanned
        found = finding(world.result, RULE_TASK, world.locked_task)

        # Then it is high, IMDS unreachable, and the title names no fallback
        assert found is not None
        assert found["severity"] == "high"
        assert found["title"] == f"Task {short(world.locked_task)} (orders-api:1) has no task role"
        assert found["evidence"]["imds_reachable"] is False
        assert found["evidence"]["imds_reason"] == "bridge: host requires IMDSv2 with hop limit 1"
        assert "reachable_application_permissions" not in found["evidence"]

    def test_host_role_without_application_actions_makes_it_high(
        self, world: SimpleNamespace
    ) -> None:
        # Given a task without task role on an IMDSv1 host whose role is baseline only
        # (scenario 2)
        # When scanned
        found = finding(world.result, RULE_TASK, world.agent_only_task)

        # Then it is high: the fallback role holds nothing of the application's
        assert found is not None
        assert found["severity"] == "high"
        assert found["evidence"]["imds_reachable"] is True
        assert (
            found["evidence"]["reachable_application_permissions"]["application_action_count"] == 0
        )

    def test_awsvpc_task_on_a_host_blocking_imds_is_not_critical(
        self, world: SimpleNamespace
    ) -> None:
        # Given an awsvpc task without task role on a host whose user data sets
        # ECS_AWSVPC_BLOCK_IMDS=true, and whose role has application actions
        # When scanned
        found = finding(world.result, RULE_TASK, world.vpc_blocked_task)

        # Then it is high, with IMDS unreachable for that reason
        assert found is not None
        assert found["severity"] == "high"
        assert found["evidence"]["network_mode"] == "awsvpc"
        assert found["evidence"]["imds_reachable"] is False
        assert (
            found["evidence"]["imds_reason"] == "awsvpc with ECS_AWSVPC_BLOCK_IMDS=true on the host"
        )

    def test_awsvpc_task_on_a_host_not_blocking_imds_is_critical(
        self, world: SimpleNamespace
    ) -> None:
        # Given the same task on a host whose user data does not block IMDS / When scanned
        found = finding(world.result, RULE_TASK, world.vpc_open_task)

        # Then it is critical
        assert found is not None
        assert found["severity"] == "critical"
        assert found["evidence"]["imds_reachable"] is True
        assert (
            found["evidence"]["imds_reason"]
            == "awsvpc without ECS_AWSVPC_BLOCK_IMDS=true on the host"
        )


# --- ecs-host-imds-exposed ---------------------------------------------------------------

RULE_IMDS = ids.ECS_HOST_IMDS_EXPOSED


class TestEcsHostImdsExposed:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any, scan: Scan) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            ec2, ecs = session.client("ec2"), session.client("ecs")
            create_cluster(ecs, "hosts")
            _arn, _id, profile = make_role(session, "hosts-role")
            assert profile is not None

            def host(cluster: str, http_tokens: str, hop_limit: int, **tags: str) -> str:
                instance = launch_instance(
                    ec2,
                    profile_arn=profile,
                    http_tokens=http_tokens,
                    hop_limit=hop_limit,
                    tags=tags,
                )
                register_container_instance(ecs, ec2, cluster, instance)
                return instance

            world = SimpleNamespace(
                imdsv1=host("hosts", "optional", 1, **{ASG_NAME_TAG: "hosts-asg"}),
                hop2=host("hosts", "required", 2),
                both=host("hosts", "optional", 2),
                locked=host("hosts", "required", 1),
                plain=launch_instance(ec2, profile_arn=profile, http_tokens="optional"),
            )
            world.cluster = ecs.describe_clusters(clusters=["hosts"])["clusters"][0]["clusterArn"]
            create_cluster(ecs, "bridge")
            world.bridge_host = host("bridge", "optional", 2)
            td = register_task_definition(ecs, "orders-api")
            ci = ecs.list_container_instances(cluster="bridge")["containerInstanceArns"][0]
            world.bridge_task = run_task(ecs, "bridge", td, container_instance_arn=ci)
            world.default = scan(session)
            world.remediate = scan(session, rule_modes={RULE_IMDS: "remediate"})
            yield world

    def test_host_allowing_imdsv1_is_medium(self, world: SimpleNamespace) -> None:
        # Given an ECS container instance with HttpTokens optional, hop limit 1 (scenario 1)
        # When scanned
        found = finding(world.default, RULE_IMDS, instance_arn(world.imdsv1))

        # Then a medium finding shows its metadata options and proposes enforcing IMDSv2
        found = assert_finding(
            found,
            rule=RULE_IMDS,
            severity="medium",
            resource_type="AWS::EC2::Instance",
            resource_id=world.imdsv1,
            resource_arn=instance_arn(world.imdsv1),
            title=f"ECS host {world.imdsv1} allows IMDSv1",
        )
        options = {"http_tokens": "optional", "hop_limit": 1, "endpoint": "enabled"}
        assert found["evidence"] == {
            "metadata_options": options,
            "problems": ["allows IMDSv1"],
            "clusters": [world.cluster],
            "root_cause": {"auto_scaling_group": "hosts-asg"},
        }
        assert found["remediation"] == {
            "action": "enforce-imdsv2",
            "automatic": False,
            "params": {
                "instance_id": world.imdsv1,
                "http_tokens": "required",
                "hop_limit": 1,
                "previous": options,
            },
            "blocked_by": [],
        }

    def test_host_with_hop_limit_above_1_is_reported(self, world: SimpleNamespace) -> None:
        # Given a host requiring IMDSv2 with hop limit 2 (scenario 2) / When scanned
        found = finding(world.default, RULE_IMDS, instance_arn(world.hop2))

        # Then it is reported for the hop limit
        assert found is not None
        assert found["title"] == f"ECS host {world.hop2} has IMDS hop limit 2"
        assert found["evidence"]["problems"] == ["has IMDS hop limit 2"]

    def test_host_with_both_problems_names_both(self, world: SimpleNamespace) -> None:
        found = finding(world.default, RULE_IMDS, instance_arn(world.both))

        assert found is not None
        assert found["title"] == f"ECS host {world.both} allows IMDSv1 and has IMDS hop limit 2"

    def test_host_requiring_imdsv2_with_hop_limit_1_is_compliant(
        self, world: SimpleNamespace
    ) -> None:
        # Given a host with HttpTokens required, hop limit 1 (scenario 3) / Then no finding
        assert finding(world.default, RULE_IMDS, instance_arn(world.locked)) is None

    def test_instance_that_is_not_an_ecs_host_is_not_applicable(
        self, world: SimpleNamespace
    ) -> None:
        # Given an instance allowing IMDSv1 that is not registered in ECS (scenario 4)
        # Then no finding
        assert finding(world.default, RULE_IMDS, instance_arn(world.plain)) is None

    def test_remediate_mode_makes_enforcing_automatic(self, world: SimpleNamespace) -> None:
        found = finding(world.remediate, RULE_IMDS, instance_arn(world.imdsv1))

        assert found is not None
        assert found["remediation"]["automatic"] is True

    def test_bridge_task_without_task_role_blocks_enforcing(self, world: SimpleNamespace) -> None:
        # Given a host running a bridge task without task role (scenario 5)
        # When scanned in remediate mode
        found = finding(world.remediate, RULE_IMDS, instance_arn(world.bridge_host))

        # Then enforcing IMDSv2 is blocked by the outage guard naming the task
        assert found is not None
        assert found["remediation"]["automatic"] is False
        assert found["remediation"]["blocked_by"] == [
            "outage guard: bridge-mode tasks without a task role use this host's credentials: "
            f"task {short(world.bridge_task)} (orders-api:1); "
            "give their task definitions a task role first"
        ]


# --- task-role-is-execution-role ---------------------------------------------------------

RULE_SHARED = ids.TASK_ROLE_IS_EXECUTION_ROLE


class TestTaskRoleIsExecutionRole:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any, scan: Scan) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            iam, ecs = session.client("iam"), session.client("ecs")
            shared = create_role(iam, "billing-shared", trust_service=ECS_TASKS_SERVICE)
            execution = create_role(iam, "ecs-task-execution", trust_service=ECS_TASKS_SERVICE)
            world = SimpleNamespace(
                shared=shared,
                billing=register_task_definition(
                    ecs, "billing", task_role_arn=shared, execution_role_arn=shared
                ),
                separate=register_task_definition(
                    ecs, "checkout", task_role_arn=shared, execution_role_arn=execution
                ),
                task_role_only=register_task_definition(ecs, "solo", task_role_arn=shared),
                protected=register_task_definition(
                    ecs, "vendor", task_role_arn=shared, execution_role_arn=shared, tags=PROTECTED
                ),
            )
            world.result = scan(session)
            yield world

    def test_task_role_equal_to_execution_role_is_medium(self, world: SimpleNamespace) -> None:
        # Given a revision whose task role is its execution role (scenario 1) / When scanned
        found = finding(world.result, RULE_SHARED, world.billing)

        # Then a medium finding names the shared role
        found = assert_finding(
            found,
            rule=RULE_SHARED,
            severity="medium",
            resource_type="AWS::ECS::TaskDefinition",
            resource_id=world.billing,
            resource_arn=world.billing,
            title="Task definition billing:1 uses billing-shared as both task role and "
            "execution role",
        )
        assert found["evidence"] == {"role": world.shared, "family": "billing", "revision": 1}
        assert found["remediation"] == {
            "action": "register-task-definition-with-task-role",
            "automatic": False,
            "params": {"task_definition_arn": world.billing, "task_role_arn": None},
            "blocked_by": ["a person creates the separate task role"],
        }

    def test_different_or_absent_roles_are_compliant(self, world: SimpleNamespace) -> None:
        # Given revisions with separate roles, or no execution role (scenario 2)
        # When scanned / Then no finding
        assert finding(world.result, RULE_SHARED, world.separate) is None
        assert finding(world.result, RULE_SHARED, world.task_role_only) is None

    def test_protected_revision_says_so(self, world: SimpleNamespace) -> None:
        found = finding(world.result, RULE_SHARED, world.protected)

        assert found is not None
        assert found["remediation"]["blocked_by"] == [
            "protected: tagged rolewarden:protected",
            "a person creates the separate task role",
        ]


# --- scan errors -------------------------------------------------------------------------


def deny(operation: str) -> Callable[..., None]:
    def handler(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": f"not authorized to {operation}"}},
            operation,
        )

    return handler


def denying_session(operation: str) -> boto3.Session:
    """A Session (inside moto) whose clients are refused one operation, e.g. 'iam.GetPolicy'."""
    session = boto3.Session(region_name=REGION)
    session.events.register(f"before-call.{operation}", deny(operation.split(".")[1]))
    return session


class TestScanErrors:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            ec2, ecs = session.client("ec2"), session.client("ecs")
            subnet = default_subnet(ec2)
            create_cluster(ecs, "vpc")
            host = make_host(
                session,
                "vpc-host",
                cluster="vpc",
                inline=APP_INLINE,
                user_data=ecs_user_data("vpc", block_imds_for_awsvpc=True),
            )
            td = register_task_definition(ecs, "worker", network_mode="awsvpc")
            task = run_task(
                ecs,
                "vpc",
                td,
                container_instance_arn=host.container_instance_arn,
                subnet_id=subnet,
                security_group_ids=[default_security_group(ec2, subnet)],
            )
            reader_arn, _id, _profile = make_role(
                session, "reader-host", managed=(ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN)
            )
            yield SimpleNamespace(session=session, host=host, task=task, reader_arn=reader_arn)

    def test_unreadable_user_data_is_a_scan_error_and_imds_is_assumed_reachable(
        self, world: SimpleNamespace, scan: Scan
    ) -> None:
        # Given an awsvpc task on a host that blocks IMDS, and ec2:DescribeInstanceAttribute
        # refused
        session = denying_session("ec2.DescribeInstanceAttribute")

        # When scanned
        result = scan(session)

        # Then the summary names the operation and the host, and the task is not let off:
        # IMDS is assumed reachable (critical), and the evidence says so
        errors = result.as_json()["summary"]["scan_errors"]
        assert [(e["operation"], e["resource"]) for e in errors] == [
            ("ec2:DescribeInstanceAttribute", world.host.instance_id)
        ]
        assert "AccessDenied" in errors[0]["message"]
        found = finding(result, RULE_TASK, world.task)
        assert found is not None
        assert found["severity"] == "critical"
        assert found["evidence"]["imds_reachable"] is True
        assert "could not be read" in found["evidence"]["imds_reason"]

    def test_twin_with_readable_user_data_is_high(self, world: SimpleNamespace, scan: Scan) -> None:
        # Given the same account without the refusal / When scanned
        result = scan(world.session)

        # Then no scan error, and the task is high (IMDS blocked)
        assert result.as_json()["summary"]["scan_errors"] == []
        found = finding(result, RULE_TASK, world.task)
        assert found is not None
        assert found["severity"] == "high"

    def test_unreadable_policy_is_a_scan_error_and_the_role_is_not_called_compliant(
        self, world: SimpleNamespace, scan: Scan
    ) -> None:
        # Given an ECS host role with AmazonS3ReadOnlyAccess, and iam:GetPolicy refused
        session = denying_session("iam.GetPolicy")

        # When scanned
        result = scan(session)

        # Then the summary names the operation and the policy
        errors = result.as_json()["summary"]["scan_errors"]
        assert {(e["region"], e["operation"], e["resource"]) for e in errors} == {
            ("global", "iam:GetPolicy", S3_READ_ONLY_POLICY_ARN)
        }
        # ... and the role is neither reported nor evaluated COMPLIANT (scenario 7)
        assert finding(result, RULE_APP, world.reader_arn) is None
        clients = AwsClients(session)
        context = RuleContext.from_settings(Settings())
        iam = read_account_iam(clients, context.skip_document)
        snapshot = build_snapshot(clients, REGION, ACCOUNT, "aws", iam, context.skip_document)
        verdicts = [
            e.compliance
            for e in run_rules(snapshot, context, [RULE_APP]).evaluations
            if e.resource.arn == world.reader_arn
        ]
        assert Compliance.COMPLIANT not in verdicts

    def test_twin_with_readable_policy_reports_the_role(
        self, world: SimpleNamespace, scan: Scan
    ) -> None:
        # Given the same role, nothing refused / When scanned / Then it is reported (S3 reads)
        found = finding(scan(world.session), RULE_APP, world.reader_arn)

        assert found is not None
        assert json.dumps(found["evidence"]["offending_policies"]).count("AmazonS3ReadOnlyAccess")


# --- an empty account ----------------------------------------------------------------------


def test_empty_account_has_no_findings_and_no_errors(mock_aws: boto3.Session, scan: Scan) -> None:
    # Given a fresh account with nothing in it / When scanned with every rule
    summary = scan(mock_aws).as_json()["summary"]

    # Then nothing is reported, nothing failed, and the account is named
    assert summary["findings"] == 0
    assert summary["scan_errors"] == []
    assert summary["account"] == ACCOUNT
    assert summary["rules"] == list(ids.RULE_IDS)
