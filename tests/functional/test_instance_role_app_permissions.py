"""instance-role-app-permissions scanned in moto."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functional.accounts import (
    ORDERS_TABLE,
    ORDERS_TABLE_POLICY,
    PROTECTED,
    Scan,
    assert_finding,
    finding,
    make_host,
    make_role,
    moto_world,
    short,
)
from rolewarden.demo.builders import (
    ASG_NAME_TAG,
    AWS_POLICY_PREFIX,
    ECS_AGENT_POLICY_ARN,
    EXEMPT_REASON_TAG,
    EXEMPT_UNTIL_TAG,
    S3_READ_ONLY_POLICY_ARN,
    SSM_CORE_POLICY_ARN,
    add_policy_version,
    allow,
    create_cluster,
    create_customer_policy,
    create_service,
    launch_instance,
    policy_document,
    register_container_instance,
    register_task_definition,
    run_task,
)
from rolewarden.rules import ids

RULE_APP = ids.INSTANCE_ROLE_APP_PERMISSIONS
PAYMENTS_PARAMETERS = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/payments/*"


def build_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
    roles: dict[str, tuple[str, str]] = {}

    def role(name: str, **kwargs: Any) -> str | None:
        arn, role_id, profile = make_role(session, name, **kwargs)
        roles[name] = (arn, role_id)
        return profile

    role("passrole-host", inline={"pass-any-role": policy_document(allow(["iam:PassRole"]))})
    role("star-host", inline={"admin": policy_document(allow(["*"]))})
    orders_profile = role("orders-host", inline={"orders-table": ORDERS_TABLE_POLICY})
    orders_instance = launch_instance(
        ec2, profile_arn=orders_profile, tags={ASG_NAME_TAG: "orders-asg"}
    )
    create_cluster(ecs, "orders")  # registered: an ECS host, not an application server
    register_container_instance(ecs, ec2, "orders", orders_instance)
    role("baseline-host", managed=(ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN))
    mixed_arn = create_customer_policy(
        iam,
        "host-and-app",
        policy_document(allow(["ecr:GetAuthorizationToken", "logs:PutLogEvents", "s3:GetObject"])),
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
    shop_task = run_task(ecs, "shop", orders_td, container_instance_arn=shop.container_instance_arn)

    # Severity: AWS's read-only policies; an application's parameters beside SSM's.
    role(
        "audit-host",
        managed=(
            ECS_AGENT_POLICY_ARN,
            f"{AWS_POLICY_PREFIX}SecurityAudit",
            f"{AWS_POLICY_PREFIX}ReadOnlyAccess",
        ),
    )
    payments_arn = create_customer_policy(
        iam,
        "payments-config",
        policy_document(allow(["ssm:GetParameter"], [PAYMENTS_PARAMETERS])),
    )
    role(
        "payments-host",
        managed=(ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN, payments_arn),
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
    return world


class TestInstanceRoleAppPermissions:
    world = moto_world(build_world)

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
        assert found["evidence"]["critical"] == [
            "privilege escalation: iam:PassRole on any role (*)"
        ]
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

    def test_role_with_aws_read_only_policies_is_high_not_critical(
        self, world: SimpleNamespace
    ) -> None:
        # Given an ECS host role with AWS's SecurityAudit and ReadOnlyAccess (which grant reads
        # the catalogue labels Permissions management) / When scanned
        found = self.found(world, "audit-host")

        # Then it is a high finding naming both policies, with nothing critical
        assert found is not None
        assert found["severity"] == "high"
        assert "critical" not in found["evidence"]
        offending = found["evidence"]["offending_policies"]
        assert [(p["policy"]["name"], p["critical"]) for p in offending] == [
            ("SecurityAudit", []),
            ("ReadOnlyAccess", []),
        ]

    def test_parameter_read_on_an_application_path_beside_ssm_core_is_named(
        self, world: SimpleNamespace
    ) -> None:
        # Given an ECS host role with the ECS agent and SSM policies, and a customer policy
        # reading the payments parameters (scenario 9) / When scanned
        found = self.found(world, "payments-host")

        # Then the customer policy is the finding, and it says why the read is not the host's
        assert found is not None
        assert found["severity"] == "high"
        [policy] = found["evidence"]["offending_policies"]
        assert policy["policy"]["name"] == "payments-config"
        assert policy["beyond_host_needs"] == [
            f"ssm:GetParameter on {PAYMENTS_PARAMETERS} reads application parameters; a host "
            "needs only arn:*:ssm:*:*:parameter/AmazonCloudWatch-*, "
            "arn:*:ssm:*:*:parameter/aws/service/*"
        ]

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

    def test_mixed_policy_is_split_as_the_finding_proposes(self, world: SimpleNamespace) -> None:
        # Given a customer policy granting ECR and logs (baseline) and s3:GetObject (scenario 5)
        # When scanned in remediate mode
        found = self.found(world, "mixed-host", "all_remediate")

        # Then the step is the split that keeps the baseline actions (the ECS agent keeps
        # working: nothing blocks it), from the policy's default version as read
        assert found is not None
        assert found["severity"] == "high"
        baseline_only = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["ecr:GetAuthorizationToken", "logs:PutLogEvents"],
                    "Resource": ["*"],
                }
            ],
        }
        remediation = found["remediation"]
        assert remediation["params"]["steps"] == [
            {
                "action": "split-mixed-policy",
                "policy_arn": world.mixed_arn,
                "document": baseline_only,
                "source": {"version_id": "v1"},
            }
        ]
        assert remediation["blocked_by"] == []
        [split] = found["evidence"]["proposed_split"]
        assert split["policy"] == "host-and-app"
        assert split["move_to_task_role"] == ["s3:GetObject"]
        assert split["baseline_only_document"] == baseline_only
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
