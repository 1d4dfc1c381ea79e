"""The AWS Config rule evaluator, invoked in-process with the samples of events/ inside moto.

moto keeps nothing from PutEvaluations, so the tests read the calls the handler made
(recorded on its session) and assert the exact evaluations Config was told.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from functional.accounts import Scan, make_host, make_role, moto_world
from functional.events import (
    INSTANCE_ID,
    POLICY_ID,
    ROLE_ID,
    ROLE_NAME,
    TASK_DEFINITION_ARN,
    AwsCalls,
    Invocation,
    Invoker,
    event_names,
    load_event,
    recorded_session,
)
from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import (
    DEFAULT_IMAGE_ID,
    ECS_AGENT_POLICY_ARN,
    ECS_TASKS_SERVICE,
    EXEMPT_REASON_TAG,
    EXEMPT_UNTIL_TAG,
    SSM_CORE_POLICY_ARN,
    allow,
    create_cluster,
    create_customer_policy,
    create_role,
    launch_instance,
    policy_document,
    register_container_instance,
    register_task_definition,
)
from rolewarden.evaluation.config_reporter import put_evaluations
from rolewarden.evaluation.config_rule import ConfigVerdict
from rolewarden.handlers.config_rule import handler
from rolewarden.rules import ids
from rolewarden.rules.exemptions import EXEMPT_RULES_TAG
from rolewarden.rules.model import Compliance, finding_id

INSTANCE = "AWS::EC2::Instance"
ROLE = "AWS::IAM::Role"
POLICY = "AWS::IAM::Policy"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
CAPTURED = datetime(2030, 1, 1, 9, 35, 12, 345000, tzinfo=UTC)
NOTIFIED = datetime(2030, 1, 1, 9, 36, 1, 678000, tzinfo=UTC)
FLEET_SIZE = 101
# An inline policy granting one action in each of many services: a long finding title.
MANY_SERVICES = [
    "s3",
    "dynamodb",
    "sqs",
    "sns",
    "kinesis",
    "firehose",
    "lambda",
    "states",
    "events",
    "logs",
    "ssm",
    "secretsmanager",
    "kms",
    "glue",
    "athena",
    "redshift",
    "rds",
    "elasticache",
    "es",
    "sagemaker",
    "comprehend",
    "translate",
    "textract",
    "rekognition",
    "polly",
    "transcribe",
    "cloudsearch",
    "appsync",
    "cognito-idp",
    "ses",
    "pinpoint",
]


def evaluation(kind: str, resource_id: str, compliance: str, annotation: str) -> dict[str, str]:
    return {
        "ComplianceResourceType": kind,
        "ComplianceResourceId": resource_id,
        "ComplianceType": compliance,
        "Annotation": annotation,
    }


def reported(invocation: Invocation) -> list[dict[str, str]]:
    """The evaluations of every PutEvaluations call, without their timestamps."""
    return [
        {key: value for key, value in item.items() if key != "OrderingTimestamp"}
        for params in invocation.params_of("PutEvaluations")
        for item in params["Evaluations"]
    ]


def timestamps(invocation: Invocation) -> set[datetime]:
    return {
        item["OrderingTimestamp"]
        for params in invocation.params_of("PutEvaluations")
        for item in params["Evaluations"]
    }


def by_id(items: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(items, key=lambda item: item["ComplianceResourceId"])


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoker:
    return Invoker(monkeypatch, capsys)


def test_every_config_sample_is_a_config_rule_invocation() -> None:
    # Given the Config samples / Then each carries both JSON strings and a known rule
    names = event_names("config-")
    assert names == [
        "config-instance-changed",
        "config-instance-deleted",
        "config-left-scope",
        "config-oversized",
        "config-policy-changed",
        "config-role-changed",
        "config-scheduled",
        "config-task-definition-changed",
    ]
    for name in names:
        event = load_event(name)
        assert isinstance(event["invokingEvent"], str), name
        assert json.loads(event["ruleParameters"])["rule"] in ids.RULE_IDS, name


def build_config_rule_evaluator_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
    for cluster in ("shop", "payments", "bigdata"):
        create_cluster(ecs, cluster)
    orders_data = create_customer_policy(
        iam,
        "orders-data",
        policy_document(allow(["dynamodb:GetItem", "dynamodb:Query"], ["*"])),
    )
    shop = make_host(
        session,
        ROLE_NAME,
        cluster="shop",
        managed=(ECS_AGENT_POLICY_ARN, orders_data),
        http_tokens="optional",
        hop_limit=2,
    )
    payments = make_host(
        session,
        "payments-ecs-host",
        cluster="payments",
        managed=(ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN),
    )
    bigdata = make_host(
        session,
        "bigdata-ecs-host",
        cluster="bigdata",
        inline={
            "everything": policy_document(allow([f"{service}:List*" for service in MANY_SERVICES]))
        },
    )
    _arn, batch_role_id, batch_profile = make_role(session, "orders-batch", managed=(orders_data,))
    batch_instance = launch_instance(ec2, profile_arn=batch_profile)
    bare = launch_instance(ec2, tags={"Name": "legacy-batch"})
    fleet = [
        instance["InstanceId"]
        for instance in ec2.run_instances(
            ImageId=DEFAULT_IMAGE_ID, MinCount=FLEET_SIZE, MaxCount=FLEET_SIZE
        )["Instances"]
    ]
    orders_api = register_task_definition(ecs, "orders-api")
    checkout_role = create_role(iam, "checkout-task", trust_service=ECS_TASKS_SERVICE)
    checkout = register_task_definition(ecs, "checkout", task_role_arn=checkout_role)
    world = SimpleNamespace(
        session=session,
        orders_data_id=iam.get_policy(PolicyArn=orders_data)["Policy"]["PolicyId"],
        shop=shop,
        payments=payments,
        bigdata=bigdata,
        batch_role_id=batch_role_id,
        batch_instance=batch_instance,
        checkout_role_id=iam.get_role(RoleName="checkout-task")["Role"]["RoleId"],
        bare=bare,
        fleet=fleet,
        orders_api=orders_api,
        checkout=checkout,
    )
    world.titles = {
        (found.rule, found.resource_arn): found.title for found in scan(session).findings
    }
    return world


class TestConfigRuleEvaluator:
    world = moto_world(build_config_rule_evaluator_world)

    # --- a configuration item changed ----------------------------------------------------

    def test_instance_without_profile_is_reported_non_compliant(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given an instance without a profile, named by a change notification
        event = load_event("config-instance-changed", **{INSTANCE_ID: world.bare})

        # When Config invokes the evaluator for ec2-instance-without-profile
        done = invoke(handler, event)

        # Then Config is told NON_COMPLIANT, once, under the id it sent, in test mode
        assert done.params_of("PutEvaluations") == [
            {
                "Evaluations": [
                    {
                        **evaluation(
                            INSTANCE,
                            world.bare,
                            "NON_COMPLIANT",
                            f"EC2 instance {world.bare} has no instance profile",
                        ),
                        "OrderingTimestamp": CAPTURED,
                    }
                ],
                "ResultToken": event["resultToken"],
                "TestMode": True,
            }
        ]
        rule = ids.EC2_INSTANCE_WITHOUT_PROFILE
        arn = f"arn:aws:ec2:us-east-1:123456789012:instance/{world.bare}"
        assert done.result == {
            "rule": rule,
            "status": "evaluated",
            "evaluations": 1,
            "put_evaluations_calls": 1,
            "findings": [finding_id(rule, arn)],
            "scan_errors": [],
        }
        assert done.writes == ["config:PutEvaluations"]
        assert done.metrics == {
            "Findings": 1,
            f"Findings.{rule}": 1,
            "Findings.medium": 1,
            "EvaluationErrors": 0,
        }

    def test_rule_set_to_off_is_not_evaluated_at_all(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given a change notification for ec2-instance-without-profile, a rule set to off
        event = load_event("config-instance-changed", **{INSTANCE_ID: world.bare})

        # When Config invokes the evaluator
        done = invoke(handler, event, rule_modes="ec2-instance-without-profile=off")

        # Then nothing is read, nothing reported, nothing counted as a finding
        assert done.result == {
            "rule": ids.EC2_INSTANCE_WITHOUT_PROFILE,
            "status": "off",
            "evaluations": 0,
        }
        assert done.operations == []
        assert done.metrics == {"RuleOff": 1}

    def test_instance_with_a_profile_is_reported_compliant(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given the compliant twin: an instance running with a profile
        event = load_event("config-instance-changed", **{INSTANCE_ID: world.payments.instance_id})

        # When Config invokes the evaluator
        done = invoke(handler, event)

        # Then Config is told COMPLIANT, and there is no finding
        assert reported(done) == [
            evaluation(INSTANCE, world.payments.instance_id, "COMPLIANT", "has an instance profile")
        ]
        assert done.result["findings"] == []
        assert done.metrics == {"Findings": 0, "EvaluationErrors": 0}

    @pytest.mark.parametrize(
        ("host", "compliance", "annotation"),
        [
            (
                "shop",
                "NON_COMPLIANT",
                "ECS host role shop-ecs-host grants application permissions (dynamodb)",
            ),
            ("payments", "COMPLIANT", "grants only infrastructure baseline actions"),
        ],
    )
    def test_role_change_is_judged_with_the_role_s_hosts(
        self,
        world: SimpleNamespace,
        invoke: Invoker,
        host: str,
        compliance: str,
        annotation: str,
    ) -> None:
        # Given an ECS host role (shop: application permissions; payments: baseline only)
        role = getattr(world, host)
        event = load_event(
            "config-role-changed", **{ROLE_NAME: role.role_name, ROLE_ID: role.role_id}
        )

        # When Config reports its change to instance-role-app-permissions
        done = invoke(handler, event)

        # Then the verdict goes under the role id Config uses
        assert reported(done) == [evaluation(ROLE, role.role_id, compliance, annotation)]
        expected = (
            [finding_id(ids.INSTANCE_ROLE_APP_PERMISSIONS, role.role_arn)]
            if compliance == "NON_COMPLIANT"
            else []
        )
        assert done.result["findings"] == expected

    def test_role_of_many_services_is_reported_whole_within_256_characters(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given a host role granting actions of 30 services
        role = world.bigdata
        title = world.titles[(ids.INSTANCE_ROLE_APP_PERMISSIONS, role.role_arn)]
        event = load_event(
            "config-role-changed", **{ROLE_NAME: role.role_name, ROLE_ID: role.role_id}
        )

        # When Config reports the role's change
        done = invoke(handler, event)

        # Then the annotation is the finding's title, which names a few services and fits
        [item] = reported(done)
        assert item["ComplianceType"] == "NON_COMPLIANT"
        assert item["Annotation"] == title
        assert title.endswith("and 26 more)")
        assert len(title) <= 256

    def test_policy_change_is_reported_on_the_roles_that_use_it(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given customer policy orders-data, attached to the shop host role and to a role of
        # plain EC2 instances
        event = load_event("config-policy-changed", **{POLICY_ID: world.orders_data_id})

        # When Config reports the policy's change to instance-role-app-permissions
        done = invoke(handler, event)

        # Then each role using it is judged; the policy itself is not applicable
        assert by_id(reported(done)) == by_id(
            [
                evaluation(
                    ROLE,
                    world.shop.role_id,
                    "NON_COMPLIANT",
                    "ECS host role shop-ecs-host grants application permissions (dynamodb)",
                ),
                evaluation(
                    ROLE,
                    world.batch_role_id,
                    "NOT_APPLICABLE",
                    "not an ECS host role (scope ecs-hosts)",
                ),
                evaluation(
                    POLICY,
                    world.orders_data_id,
                    "NOT_APPLICABLE",
                    "judged through the roles that use it",
                ),
            ]
        )
        assert done.result["findings"] == [
            finding_id(ids.INSTANCE_ROLE_APP_PERMISSIONS, world.shop.role_arn)
        ]

    @pytest.mark.parametrize(
        ("definition", "compliance", "annotation"),
        [
            (
                "orders_api",
                "NON_COMPLIANT",
                "Task definition orders-api:1 has no task role "
                "(on EC2 its containers would use the host's credentials)",
            ),
            ("checkout", "COMPLIANT", "has a task role"),
        ],
    )
    def test_task_definition_change_is_judged(
        self,
        world: SimpleNamespace,
        invoke: Invoker,
        definition: str,
        compliance: str,
        annotation: str,
    ) -> None:
        # Given a task definition revision (without, or with, a task role)
        arn = getattr(world, definition)
        event = load_event("config-task-definition-changed", **{TASK_DEFINITION_ARN: arn})

        # When Config reports it to ecs-task-definition-without-task-role
        done = invoke(handler, event)

        # Then the verdict is reported under its ARN
        assert reported(done) == [evaluation(TASK_DEFINITION, arn, compliance, annotation)]
        assert timestamps(done) == {CAPTURED}

    # --- deleted, out of scope: nothing to read ------------------------------------------

    @pytest.mark.parametrize(
        ("sample", "annotation"),
        [
            ("config-instance-deleted", "the resource was deleted"),
            ("config-left-scope", "the resource left the rule's scope"),
        ],
    )
    def test_deleted_or_out_of_scope_item_is_not_applicable_without_reading_it(
        self, world: SimpleNamespace, invoke: Invoker, sample: str, annotation: str
    ) -> None:
        # Given a notification of a deleted instance, or of one that left the rule's scope
        event = load_event(sample)

        # When Config invokes the evaluator
        done = invoke(handler, event)

        # Then NOT_APPLICABLE says why, and PutEvaluations is the only AWS call
        assert reported(done) == [evaluation(INSTANCE, INSTANCE_ID, "NOT_APPLICABLE", annotation)]
        assert done.operations == ["config:PutEvaluations"]
        assert done.result["findings"] == []

    # --- oversized items -----------------------------------------------------------------

    def _stub_config(
        self, invoke: Invoker, monkeypatch: pytest.MonkeyPatch, *responses: tuple[str, Any]
    ) -> Stubber:
        """A stubbed Config client: moto cannot return configuration items as Config does."""
        clients = AwsClients(invoke.container.session, home_region="us-east-1")
        stubber = Stubber(clients.client("config"))
        for operation, response in responses:
            if isinstance(response, Exception):
                stubber.add_client_error(operation, service_error_code=str(response))
            else:
                stubber.add_response(operation, response)
        stubber.add_response("put_evaluations", {"FailedEvaluations": []})
        stubber.activate()
        invoke.container.fixed_clients = clients
        return stubber

    @staticmethod
    def _item(world: SimpleNamespace, status: str, captured: datetime) -> dict[str, Any]:
        return {
            "baseConfigurationItems": [
                {
                    "version": "1.3",
                    "accountId": "123456789012",
                    "configurationItemCaptureTime": captured,
                    "configurationItemStatus": status,
                    "resourceType": ROLE,
                    "resourceId": world.shop.role_id,
                    "resourceName": world.shop.role_name,
                    "arn": world.shop.role_arn,
                    "awsRegion": "global",
                    "availabilityZone": "Not Applicable",
                    "configuration": "{}",
                }
            ]
        }

    def test_oversized_item_is_fetched_then_evaluated(
        self, world: SimpleNamespace, invoke: Invoker, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given an oversized notification for the shop host role; Config holds its item
        later = datetime(2030, 1, 1, 9, 40, tzinfo=UTC)
        stubber = self._stub_config(
            invoke,
            monkeypatch,
            ("batch_get_resource_config", self._item(world, "OK", later)),
        )
        event = load_event(
            "config-oversized", **{ROLE_NAME: world.shop.role_name, ROLE_ID: world.shop.role_id}
        )

        # When Config invokes the evaluator
        done = invoke(handler, event)

        # Then the item is fetched (by the summary's key) and the live role judged
        stubber.assert_no_pending_responses()
        assert done.params_of("BatchGetResourceConfig") == [
            {"resourceKeys": [{"resourceType": ROLE, "resourceId": world.shop.role_id}]}
        ]
        assert reported(done) == [
            evaluation(
                ROLE,
                world.shop.role_id,
                "NON_COMPLIANT",
                "ECS host role shop-ecs-host grants application permissions (dynamodb)",
            )
        ]
        assert timestamps(done) == {later}

    def test_oversized_item_fetched_as_deleted_is_not_applicable(
        self, world: SimpleNamespace, invoke: Invoker, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given an oversized notification whose item, fetched, says the role was deleted
        self._stub_config(
            invoke,
            monkeypatch,
            ("batch_get_resource_config", self._item(world, "ResourceDeleted", CAPTURED)),
        )
        event = load_event(
            "config-oversized", **{ROLE_NAME: world.shop.role_name, ROLE_ID: world.shop.role_id}
        )

        # When Config invokes the evaluator
        done = invoke(handler, event)

        # Then NOT_APPLICABLE, and the role is not read
        assert reported(done) == [
            evaluation(ROLE, world.shop.role_id, "NOT_APPLICABLE", "the resource was deleted")
        ]
        assert [op for op in done.operations if op.startswith("iam:")] == []

    def test_oversized_item_config_cannot_return_is_judged_from_its_summary(
        self, world: SimpleNamespace, invoke: Invoker, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given an oversized notification whose item Config cannot return
        self._stub_config(
            invoke,
            monkeypatch,
            ("batch_get_resource_config", Exception("NoAvailableConfigurationRecorderException")),
        )
        event = load_event(
            "config-oversized", **{ROLE_NAME: world.shop.role_name, ROLE_ID: world.shop.role_id}
        )

        # When Config invokes the evaluator
        done = invoke(handler, event)

        # Then the summary serves: the live role is judged, at the summary's capture time
        assert reported(done) == [
            evaluation(
                ROLE,
                world.shop.role_id,
                "NON_COMPLIANT",
                "ECS host role shop-ecs-host grants application permissions (dynamodb)",
            )
        ]
        assert timestamps(done) == {CAPTURED}

    # --- scheduled: every resource of the rule's type ------------------------------------

    def test_scheduled_run_reports_every_instance_in_batches_of_100(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given 106 instances: the legacy one and a fleet of 101 without a profile, 4 with one
        event = load_event("config-scheduled")

        # When the periodic ec2-instance-without-profile evaluation runs
        done = invoke(handler, event)

        # Then every instance is reported, 100 per PutEvaluations call at most
        calls = done.params_of("PutEvaluations")
        assert [len(call["Evaluations"]) for call in calls] == [100, 6]
        without = [world.bare, *world.fleet]
        with_profile = [
            world.shop.instance_id,
            world.payments.instance_id,
            world.bigdata.instance_id,
            world.batch_instance,
        ]
        assert by_id(reported(done)) == by_id(
            [
                evaluation(
                    INSTANCE, i, "NON_COMPLIANT", f"EC2 instance {i} has no instance profile"
                )
                for i in without
            ]
            + [
                evaluation(INSTANCE, i, "COMPLIANT", "has an instance profile")
                for i in with_profile
            ]
        )
        assert timestamps(done) == {NOTIFIED}
        assert done.result["put_evaluations_calls"] == 2
        assert done.result["evaluations"] == len(without) + len(with_profile)
        assert len(done.result["findings"]) == len(without)
        assert done.metrics["Findings"] == len(without)

    def test_scheduled_run_of_the_role_rule_reports_every_role(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given the account's roles / When the periodic instance-role-app-permissions runs
        event = load_event(
            "config-scheduled",
            **{ids.EC2_INSTANCE_WITHOUT_PROFILE: ids.INSTANCE_ROLE_APP_PERMISSIONS},
        )
        done = invoke(handler, event)

        # Then each role is reported once, under its role id
        bigdata_title = world.titles[(ids.INSTANCE_ROLE_APP_PERMISSIONS, world.bigdata.role_arn)]
        assert by_id(reported(done)) == by_id(
            [
                evaluation(
                    ROLE,
                    world.shop.role_id,
                    "NON_COMPLIANT",
                    "ECS host role shop-ecs-host grants application permissions (dynamodb)",
                ),
                evaluation(
                    ROLE,
                    world.payments.role_id,
                    "COMPLIANT",
                    "grants only infrastructure baseline actions",
                ),
                evaluation(ROLE, world.bigdata.role_id, "NON_COMPLIANT", bigdata_title),
                evaluation(
                    ROLE,
                    world.batch_role_id,
                    "NOT_APPLICABLE",
                    "not an ECS host role (scope ecs-hosts)",
                ),
                evaluation(
                    ROLE, world.checkout_role_id, "NOT_APPLICABLE", "not behind an instance profile"
                ),
            ]
        )

    # --- TestMode and batching -----------------------------------------------------------

    def test_test_mode_is_passed_as_the_setting_says(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given ROLEWARDEN_CONFIG_TEST_MODE=false (a real deployment)
        event = load_event("config-instance-changed", **{INSTANCE_ID: world.bare})

        # When Config invokes the evaluator
        done = invoke(handler, event, config_test_mode="false")

        # Then PutEvaluations is a real report, not a test
        assert [params["TestMode"] for params in done.params_of("PutEvaluations")] == [False]

    def test_put_evaluations_sends_250_verdicts_in_three_calls(
        self, world: SimpleNamespace
    ) -> None:
        # Given 250 verdicts
        verdicts = [
            ConfigVerdict(INSTANCE, f"i-{n:017x}", Compliance.COMPLIANT, "ok", CAPTURED)
            for n in range(250)
        ]
        calls = AwsCalls()
        clients = AwsClients(recorded_session(calls), home_region="us-east-1")

        # When they are reported
        made = put_evaluations(clients, verdicts, "token", test_mode=True)

        # Then three calls of 100, 100 and 50, in order
        sent = calls.of("PutEvaluations")
        assert made == 3
        assert [len(params["Evaluations"]) for params in sent] == [100, 100, 50]
        assert [item["ComplianceResourceId"] for p in sent for item in p["Evaluations"]] == [
            verdict.resource_id for verdict in verdicts
        ]

    # --- malformed invocations -----------------------------------------------------------


class TestConfigRuleExemptions:
    """An exemption limited by rolewarden:exempt-rules, as each Config rule reports it."""

    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            ec2, ecs = session.client("ec2"), session.client("ecs")
            create_cluster(ecs, "vendor")
            until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
            exempt = {EXEMPT_UNTIL_TAG: until, EXEMPT_REASON_TAG: "vendor appliance, SEC-142"}
            # An ECS host without a profile allowing IMDSv1, exempt for the IMDS rule only
            host = launch_instance(
                ec2,
                http_tokens="optional",
                tags={**exempt, EXEMPT_RULES_TAG: ids.ECS_HOST_IMDS_EXPOSED},
            )
            register_container_instance(ecs, ec2, "vendor", host)
            # An instance with a profile, exempt from every rule: nothing to accept
            compliant = make_host(session, "vendor-ssm", instance_tags=exempt).instance_id
            yield SimpleNamespace(host=host, compliant=compliant, until=until)

    def config_event(self, instance_id: str, rule: str) -> dict[str, Any]:
        """The instance's change notification, sent to the Config rule of `rule`."""
        replace = {INSTANCE_ID: instance_id}
        if rule != ids.EC2_INSTANCE_WITHOUT_PROFILE:
            replace[ids.EC2_INSTANCE_WITHOUT_PROFILE] = rule
        return load_event("config-instance-changed", **replace)

    def test_the_exempt_rule_is_not_applicable_saying_why(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given the host exempt for ecs-host-imds-exposed only
        event = self.config_event(world.host, ids.ECS_HOST_IMDS_EXPOSED)

        # When Config invokes that rule's evaluator
        done = invoke(handler, event)

        # Then Config is told NOT_APPLICABLE, with the exemption's date and reason
        assert reported(done) == [
            evaluation(
                INSTANCE,
                world.host,
                "NOT_APPLICABLE",
                f"exempt until {world.until}: vendor appliance, SEC-142",
            )
        ]
        assert done.result["findings"] == []

    def test_another_rule_judges_the_exempt_resource_as_usual(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given the same host / When Config invokes ec2-instance-without-profile
        done = invoke(handler, self.config_event(world.host, ids.EC2_INSTANCE_WITHOUT_PROFILE))

        # Then it is NON_COMPLIANT, with its finding
        rule = ids.EC2_INSTANCE_WITHOUT_PROFILE
        arn = f"arn:aws:ec2:us-east-1:123456789012:instance/{world.host}"
        assert reported(done) == [
            evaluation(
                INSTANCE,
                world.host,
                "NON_COMPLIANT",
                f"EC2 instance {world.host} has no instance profile",
            )
        ]
        assert done.result["findings"] == [finding_id(rule, arn)]

    def test_an_exempt_resource_that_complies_is_compliant(
        self, world: SimpleNamespace, invoke: Invoker
    ) -> None:
        # Given an instance with a profile, exempt from every rule
        event = self.config_event(world.compliant, ids.EC2_INSTANCE_WITHOUT_PROFILE)

        # When Config invokes ec2-instance-without-profile
        done = invoke(handler, event)

        # Then it is COMPLIANT: an exemption hides violations, not compliance
        assert reported(done) == [
            evaluation(INSTANCE, world.compliant, "COMPLIANT", "has an instance profile")
        ]


def _without(key: str) -> dict[str, Any]:
    event = load_event("config-instance-changed")
    del event[key]
    return event


def _with(**values: Any) -> dict[str, Any]:
    return load_event("config-instance-changed") | values


def _invoking(**values: Any) -> dict[str, Any]:
    event = load_event("config-instance-changed")
    invoking = json.loads(event["invokingEvent"]) | values
    return event | {"invokingEvent": json.dumps(invoking)}


MALFORMED = {
    "no result token": (_without("resultToken"), "resultToken: Field required"),
    "invoking event not JSON": (
        _with(invokingEvent="{configurationItem: "),
        "invokingEvent: Value error, not JSON: Expecting property name enclosed in double quotes",
    ),
    "account id not a string": (
        _with(accountId=123456789012),
        "accountId: Input should be a valid string",
    ),
    "unknown message type": (
        _invoking(messageType="ComplianceChangeNotification"),
        "invokingEvent: Input tag 'ComplianceChangeNotification' found using 'message_type' | "
        "'messageType' does not match any of the expected tags: "
        "'ConfigurationItemChangeNotification', 'OversizedConfigurationItemChangeNotification', "
        "'ScheduledNotification'",
    ),
    "unknown rule id": (
        _with(ruleParameters=json.dumps({"rule": "ec2-instance-is-fine"})),
        "ruleParameters.rule: Value error, unknown rule id 'ec2-instance-is-fine'",
    ),
    "rule Config cannot see": (
        _with(ruleParameters=json.dumps({"rule": ids.ECS_TASK_WITHOUT_TASK_ROLE})),
        "ecs-task-without-task-role evaluates AWS::ECS::Task, which Config does not record",
    ),
}


class TestMalformedConfigInvocation:
    @pytest.fixture(scope="class")
    @classmethod
    def session(cls, moto_account: Any) -> Iterator[Any]:
        with moto_account() as session:
            yield session

    @pytest.mark.parametrize(("event", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
    def test_malformed_invocation_is_rejected_without_any_aws_call(
        self, session: Any, invoke: Invoker, event: dict[str, Any], reason: str
    ) -> None:
        # Given an invocation that cannot be served / When Config invokes the evaluator
        done = invoke(handler, event)

        # Then it is acknowledged as rejected, with the reason; counted; nothing called
        assert done.result == {
            "status": "rejected",
            "reason": f"malformed config rule invocation: {reason}",
        }
        assert done.metrics == {"MalformedEvents": 1}
        assert done.operations == []
        assert done.logs("malformed event")[0]["reason"] == reason
