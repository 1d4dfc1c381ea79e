"""The event evaluator, invoked in-process with each EventBridge sample of events/ inside moto.

One account in two regions (ROLEWARDEN_REGIONS=us-east-1,eu-west-1). Each CloudTrail
sample names a resource that breaks a rule and, where the call can name one, its
compliant twin; the handler reports findings of the touched resource only, with the
ids `finding_id(rule, arn)`, and the same verdict a sweep gives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from functional.accounts import instance_arn
from functional.events import (
    ACCOUNT,
    ACTOR_ARN,
    CLUSTER_ARN,
    CONTAINER_INSTANCE_ARN,
    EXEMPT_REASON,
    EXEMPT_UNTIL,
    INSTANCE_ID,
    INSTANCE_PROFILE_NAME,
    POLICY_ARN,
    REGION,
    ROLE_NAME,
    TASK_ARN,
    TASK_DEFINITION_ARN,
    Invocation,
    Invoker,
    event_names,
    load_event,
)
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    ECS_TASKS_SERVICE,
    EXEMPT_REASON_TAG,
    EXEMPT_UNTIL_TAG,
    S3_READ_ONLY_POLICY_ARN,
    SSM_CORE_POLICY_ARN,
    allow,
    create_cluster,
    create_customer_policy,
    create_instance_profile,
    create_role,
    launch_instance,
    policy_document,
    register_container_instance,
    register_task_definition,
    run_task,
)
from rolewarden.evaluation.account import scan_account
from rolewarden.handlers.events import handler
from rolewarden.rules import ids
from rolewarden.rules.model import finding_id
from rolewarden.settings import Settings

EU = "eu-west-1"
REGIONS = "us-east-1,eu-west-1"
APP = ids.INSTANCE_ROLE_APP_PERMISSIONS
IMDS = ids.ECS_HOST_IMDS_EXPOSED
NO_PROFILE = ids.EC2_INSTANCE_WITHOUT_PROFILE
PROFILE_NO_ROLE = ids.INSTANCE_PROFILE_WITHOUT_ROLE
DEFINITION_NO_ROLE = ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE
TASK_NO_ROLE = ids.ECS_TASK_WITHOUT_TASK_ROLE


def eu_instance_arn(instance_id: str) -> str:
    return f"arn:aws:ec2:{EU}:123456789012:instance/{instance_id}"


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoker:
    return Invoker(monkeypatch, capsys)


@pytest.fixture(scope="module")
def world(moto_account: Any) -> Iterator[SimpleNamespace]:
    """Hosts, roles, task definitions and tasks the samples name, and their twins."""
    with moto_account() as session:
        iam, ec2, ecs = (session.client(s) for s in ("iam", "ec2", "ecs"))
        ec2_eu, ecs_eu = (session.client(s, region_name=EU) for s in ("ec2", "ecs"))
        until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
        exemption = {EXEMPT_UNTIL_TAG: until, EXEMPT_REASON_TAG: EXEMPT_REASON}
        w = SimpleNamespace(session=session, until=until)

        # shop: a host role with application permissions (customer policy orders-data),
        # an IMDSv1 host, and a task of orders-api (no task role) on it.
        orders_data = create_customer_policy(
            iam, "orders-data", policy_document(allow(["dynamodb:GetItem"], ["*"]))
        )
        assert orders_data == POLICY_ARN
        w.shop_role = create_role(
            iam, ROLE_NAME, managed_policy_arns=(ECS_AGENT_POLICY_ARN, orders_data)
        )
        shop_profile = create_instance_profile(iam, INSTANCE_PROFILE_NAME, ROLE_NAME)
        w.shop_cluster = create_cluster(ecs, "shop")
        w.shop_host = launch_instance(
            ec2, profile_arn=shop_profile, http_tokens="optional", hop_limit=2
        )
        w.shop_container = register_container_instance(ecs, ec2, "shop", w.shop_host)
        w.orders_api = register_task_definition(ecs, "orders-api")
        assert w.orders_api == TASK_DEFINITION_ARN
        w.orders_task = run_task(ecs, "shop", w.orders_api, container_instance_arn=w.shop_container)

        # payments: the compliant twins.
        create_role(
            iam,
            "payments-ecs-host",
            managed_policy_arns=(ECS_AGENT_POLICY_ARN, SSM_CORE_POLICY_ARN),
        )
        payments_profile = create_instance_profile(iam, "payments-ecs-host", "payments-ecs-host")
        w.payments_cluster = create_cluster(ecs, "payments")
        w.payments_host = launch_instance(ec2, profile_arn=payments_profile)
        w.payments_container = register_container_instance(ecs, ec2, "payments", w.payments_host)
        checkout_role = create_role(iam, "checkout-task", trust_service=ECS_TASKS_SERVICE)
        w.checkout = register_task_definition(ecs, "checkout", task_role_arn=checkout_role)
        w.checkout_task = run_task(
            ecs, "payments", w.checkout, container_instance_arn=w.payments_container
        )

        # Plain EC2: no profile; a profile without a role (in both regions); orders-data
        # on a role of plain instances.
        w.bare = launch_instance(ec2, tags={"Name": "legacy-batch"})
        create_role(iam, "legacy-app")
        orphan = create_instance_profile(iam, "orphan-profile", None)
        w.orphan = launch_instance(ec2, profile_arn=orphan)
        w.orphan_eu = launch_instance(ec2_eu, profile_arn=orphan)
        create_role(iam, "orders-batch", managed_policy_arns=(orders_data,))
        batch_profile = create_instance_profile(iam, "orders-batch", "orders-batch")
        w.batch_host = launch_instance(ec2, profile_arn=batch_profile)
        # orders-data on a task role too: no instance profile holds it.
        create_role(
            iam,
            "orders-task",
            trust_service=ECS_TASKS_SERVICE,
            managed_policy_arns=(orders_data,),
            inline_policies={"cache": policy_document(allow(["sqs:SendMessage"], ["*"]))},
        )

        # Exempt, by tags that are valid today: a host role, an instance, a task definition.
        create_role(
            iam,
            "vendor-ecs-host",
            managed_policy_arns=(ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN),
            tags=exemption,
        )
        create_instance_profile(iam, "vendor-ecs-host", "vendor-ecs-host")
        w.vendor_appliance = launch_instance(ec2, tags=exemption)
        w.reports = register_task_definition(ecs, "reports", tags=exemption)

        # eu-west-1: a host role known as one only by its host's registration there.
        w.eu_role = create_role(iam, "eu-ecs-host", managed_policy_arns=(S3_READ_ONLY_POLICY_ARN,))
        eu_profile = create_instance_profile(iam, "eu-ecs-host", "eu-ecs-host")
        create_cluster(ecs_eu, "shop-eu")
        w.eu_host = launch_instance(ec2_eu, profile_arn=eu_profile)
        register_container_instance(ecs_eu, ec2_eu, "shop-eu", w.eu_host)

        # What a sweep of both regions says: the severity of each finding.
        swept = scan_account(session, ["us-east-1", EU], Settings.from_env({}), list(ids.RULE_IDS))
        w.severity = {(f.rule, f.resource_arn): f.severity.value for f in swept.findings}
        yield w


@dataclass(frozen=True)
class Case:
    """A sample, the fixed ids it swaps for the world's, and the findings expected."""

    sample: str
    replace: Callable[[SimpleNamespace], dict[str, str]]
    findings: Callable[[SimpleNamespace], list[tuple[str, str]]]
    evaluations: int

    def __str__(self) -> str:
        return self.sample


def nothing(_w: SimpleNamespace) -> dict[str, str]:
    return {}


def none(_w: SimpleNamespace) -> list[tuple[str, str]]:
    return []


def shop_role(w: SimpleNamespace) -> list[tuple[str, str]]:
    return [(APP, w.shop_role)]


def payments_role(_w: SimpleNamespace) -> dict[str, str]:
    return {ROLE_NAME: "payments-ecs-host"}


def shop_host(w: SimpleNamespace) -> dict[str, str]:
    return {INSTANCE_ID: w.shop_host}


def shop_host_imds(w: SimpleNamespace) -> list[tuple[str, str]]:
    return [(IMDS, instance_arn(w.shop_host))]


def payments_host(w: SimpleNamespace) -> dict[str, str]:
    return {INSTANCE_ID: w.payments_host}


def checkout_definition(w: SimpleNamespace) -> dict[str, str]:
    return {TASK_DEFINITION_ARN: w.checkout}


def orders_api(w: SimpleNamespace) -> list[tuple[str, str]]:
    return [(DEFINITION_NO_ROLE, w.orders_api)]


def orders_task(w: SimpleNamespace) -> dict[str, str]:
    return {TASK_ARN: w.orders_task, CONTAINER_INSTANCE_ARN: w.shop_container}


def checkout_task(w: SimpleNamespace) -> dict[str, str]:
    return {
        TASK_ARN: w.checkout_task,
        CLUSTER_ARN: w.payments_cluster,
        TASK_DEFINITION_ARN: w.checkout,
        CONTAINER_INSTANCE_ARN: w.payments_container,
    }


def shop_host_and_role(w: SimpleNamespace) -> list[tuple[str, str]]:
    return [(IMDS, instance_arn(w.shop_host)), (APP, w.shop_role)]


INSTANCE_RULES = 3  # no profile, profile without role, IMDS exposed
WITH_ROLE = INSTANCE_RULES + 1  # ... and the instance's role: instance-role-app-permissions
DEFINITION_RULES = 2  # without task role, task role is execution role

CASES = [
    # EC2 calls: the instance they name; a launch or a new profile, its role too.
    Case("cloudtrail-run-instances", shop_host, shop_host_and_role, WITH_ROLE),
    Case("cloudtrail-run-instances", payments_host, none, WITH_ROLE),
    # ... judged by the rule's scope: orders-batch is the role of plain EC2 instances.
    Case("cloudtrail-run-instances", lambda w: {INSTANCE_ID: w.batch_host}, none, WITH_ROLE),
    Case(
        "cloudtrail-associate-iam-instance-profile",
        lambda w: {INSTANCE_ID: w.orphan},
        lambda w: [(PROFILE_NO_ROLE, instance_arn(w.orphan))],
        INSTANCE_RULES,  # its profile has no role to judge
    ),
    Case("cloudtrail-associate-iam-instance-profile", payments_host, none, WITH_ROLE),
    Case(
        "cloudtrail-replace-iam-instance-profile-association",
        shop_host,
        shop_host_and_role,
        WITH_ROLE,
    ),
    Case("cloudtrail-replace-iam-instance-profile-association", payments_host, none, WITH_ROLE),
    Case(
        "cloudtrail-disassociate-iam-instance-profile",
        lambda w: {INSTANCE_ID: w.bare},
        lambda w: [(NO_PROFILE, instance_arn(w.bare))],
        INSTANCE_RULES,
    ),
    Case("cloudtrail-disassociate-iam-instance-profile", payments_host, none, INSTANCE_RULES),
    # IMDSv1 re-enabled and the hop limit raised on a host: the instance's rules.
    Case("cloudtrail-modify-instance-metadata-options", shop_host, shop_host_imds, INSTANCE_RULES),
    Case("cloudtrail-modify-instance-metadata-options", payments_host, none, INSTANCE_RULES),
    # IAM calls on a role: the role, judged with its hosts.
    *(
        case
        for call in (
            "attach-role-policy",
            "detach-role-policy",
            "put-role-policy",
            "delete-role-policy",
            "put-role-permissions-boundary",
            "delete-role-permissions-boundary",
        )
        for case in (
            Case(f"cloudtrail-{call}", nothing, shop_role, 1),
            Case(f"cloudtrail-{call}", payments_role, none, 1),
        )
    ),
    # A policy's new version: the roles that use it (orders-batch is no ECS host role,
    # orders-task no instance's role).
    Case("cloudtrail-create-policy-version", nothing, shop_role, 3),
    Case("cloudtrail-set-default-policy-version", nothing, shop_role, 3),
    # A profile's role: the role, and the instances using the profile in every region.
    Case(
        "cloudtrail-add-role-to-instance-profile",
        nothing,
        lambda w: [(APP, w.shop_role), (IMDS, instance_arn(w.shop_host))],
        1 + INSTANCE_RULES,
    ),
    Case(
        "cloudtrail-remove-role-from-instance-profile",
        lambda _w: {INSTANCE_PROFILE_NAME: "orphan-profile", ROLE_NAME: "legacy-app"},
        lambda w: [
            (PROFILE_NO_ROLE, instance_arn(w.orphan)),
            (PROFILE_NO_ROLE, eu_instance_arn(w.orphan_eu)),
        ],
        1 + 2 * INSTANCE_RULES,
    ),
    # ECS calls.
    Case("cloudtrail-register-container-instance", shop_host, shop_host_and_role, WITH_ROLE),
    Case("cloudtrail-register-container-instance", payments_host, none, WITH_ROLE),
    *(
        case
        for call in ("register-task-definition", "create-service", "update-service")
        for case in (
            Case(f"cloudtrail-{call}", nothing, orders_api, DEFINITION_RULES),
            Case(f"cloudtrail-{call}", checkout_definition, none, DEFINITION_RULES),
        )
    ),
    # CloudTrail kept no response: what the request names (the family's latest ACTIVE
    # revision, the service's task definition, the task in the request's cluster).
    *(
        case
        for sample in (
            "cloudtrail-register-task-definition-response-omitted",
            "cloudtrail-create-service-response-missing",
        )
        for case in (
            Case(sample, nothing, orders_api, DEFINITION_RULES),
            Case(sample, lambda _w: {"orders-api": "checkout"}, none, DEFINITION_RULES),
        )
    ),
    Case(
        "cloudtrail-run-task-without-cluster-arn",
        orders_task,
        lambda w: [(TASK_NO_ROLE, w.orders_task)],
        1,
    ),
    *(
        case
        for call in ("run-task", "start-task")
        for case in (
            Case(
                f"cloudtrail-{call}",
                orders_task,
                lambda w: [(TASK_NO_ROLE, w.orders_task)],
                1,
            ),
            Case(f"cloudtrail-{call}", checkout_task, none, 1),
        )
    ),
    # Tag calls: exemption tags added to an exempt resource, removed from a broken one.
    Case(
        "cloudtrail-tag-role",
        lambda w: {ROLE_NAME: "vendor-ecs-host", EXEMPT_UNTIL: w.until},
        none,
        1,
    ),
    Case("cloudtrail-untag-role", nothing, shop_role, 1),
    Case(
        "cloudtrail-create-tags",
        lambda w: {INSTANCE_ID: w.vendor_appliance, EXEMPT_UNTIL: w.until},
        none,
        INSTANCE_RULES,
    ),
    Case(
        "cloudtrail-delete-tags",
        lambda w: {INSTANCE_ID: w.bare},
        lambda w: [(NO_PROFILE, instance_arn(w.bare))],
        INSTANCE_RULES,
    ),
    Case(
        "cloudtrail-tag-resource",
        lambda w: {TASK_DEFINITION_ARN: w.reports, EXEMPT_UNTIL: w.until},
        none,
        DEFINITION_RULES,
    ),
    Case("cloudtrail-untag-resource", nothing, orders_api, DEFINITION_RULES),
    # A task reached RUNNING.
    Case(
        "ecs-task-state-change-running",
        orders_task,
        lambda w: [(TASK_NO_ROLE, w.orders_task)],
        1,
    ),
    Case("ecs-task-state-change-running", checkout_task, none, 1),
]


def expected_metrics(
    w: SimpleNamespace, findings: list[tuple[str, str]], **extra: float
) -> dict[str, float]:
    metrics: dict[str, float] = {"Findings": len(findings), "EvaluationErrors": 0, **extra}
    for rule, count in Counter(rule for rule, _arn in findings).items():
        metrics[f"Findings.{rule}"] = count
    for severity, count in Counter(w.severity[finding] for finding in findings).items():
        metrics[f"Findings.{severity}"] = count
    return metrics


def exemption_logs(done: Invocation) -> list[dict[str, Any]]:
    keys = ("change", "resource", "actor", "until", "reason", "event_name")
    return [{key: record.get(key) for key in keys} for record in done.logs("exemption changed")]


def test_every_eventbridge_sample_is_exercised() -> None:
    # Given the EventBridge samples of events/ / Then each CloudTrail call and task state has
    # a case here or a test of its own below
    covered = {case.sample for case in CASES} | {
        "cloudtrail-attach-role-policy-failed",
        "cloudtrail-modify-instance-metadata-defaults",
        "ecs-task-state-change-stopped",
    }
    assert covered == set(event_names("cloudtrail-")) | set(event_names("ecs-"))
    assert len(event_names("cloudtrail-")) == 32


@pytest.mark.parametrize("case", CASES, ids=str)
def test_event_reports_findings_of_the_touched_resource_only(
    world: SimpleNamespace, invoke: Invoker, case: Case
) -> None:
    # Given a sample naming a resource of the account (see CASES)
    event = load_event(case.sample, **case.replace(world))

    # When EventBridge invokes the event evaluator
    done = invoke(handler, event, regions=REGIONS)

    # Then it evaluates that resource only: its findings, by their stable ids
    expected = case.findings(world)
    assert {**done.result, "findings": sorted(done.result["findings"])} == {
        "status": "evaluated",
        "evaluations": case.evaluations,
        "findings": sorted(finding_id(rule, arn) for rule, arn in expected),
        "remediations": [],  # every rule notifies (the default mode)
        "scan_errors": [],
    }
    # ... with the sweep's verdict (severity), counted; and nothing is changed
    exemption_changes = len(done.logs("exemption changed"))
    extra = {"ExemptionChanges": exemption_changes} if exemption_changes else {}
    assert done.metrics == expected_metrics(world, expected, **extra)
    assert done.writes == []


@pytest.mark.parametrize(
    ("sample", "replace", "change", "resource"),
    [
        ("cloudtrail-tag-role", {ROLE_NAME: "vendor-ecs-host"}, "added", "vendor-ecs-host"),
        ("cloudtrail-untag-role", {}, "removed", ROLE_NAME),
        ("cloudtrail-create-tags", {}, "added", INSTANCE_ID),
        ("cloudtrail-delete-tags", {}, "removed", INSTANCE_ID),
        ("cloudtrail-tag-resource", {}, "added", TASK_DEFINITION_ARN),
        ("cloudtrail-untag-resource", {}, "removed", TASK_DEFINITION_ARN),
    ],
)
def test_exemption_tag_change_is_logged_with_who_made_it(
    world: SimpleNamespace,
    invoke: Invoker,
    sample: str,
    replace: dict[str, str],
    change: str,
    resource: str,
) -> None:
    # Given a tag call adding or removing rolewarden:exempt-until and -reason
    event = load_event(sample, **replace)

    # When the event evaluator receives it
    done = invoke(handler, event, regions=REGIONS)

    # Then one exemption change is logged and counted, naming the caller's ARN
    added = change == "added"
    assert exemption_logs(done) == [
        {
            "change": change,
            "resource": resource,
            "actor": ACTOR_ARN,
            "until": EXEMPT_UNTIL if added else None,
            "reason": EXEMPT_REASON if added else None,
            "event_name": event["detail"]["eventName"],
        }
    ]
    assert done.metrics["ExemptionChanges"] == 1


def test_iam_event_judges_the_role_with_its_hosts_in_every_region(
    world: SimpleNamespace, invoke: Invoker
) -> None:
    # Given a role whose only host is registered in eu-west-1
    event = load_event("cloudtrail-attach-role-policy", **{ROLE_NAME: "eu-ecs-host"})

    # When a policy is attached to it, with both regions covered
    done = invoke(handler, event, regions=REGIONS)

    # Then its hosts are looked up in both regions, and the role is an ECS host role
    assert done.regions_of("ec2:DescribeInstances") == {"us-east-1", EU}
    assert done.result["findings"] == [finding_id(APP, world.eu_role)]


@pytest.mark.parametrize(
    "sample", ["cloudtrail-create-policy-version", "cloudtrail-set-default-policy-version"]
)
def test_policy_event_reads_no_policy_of_a_role_that_no_instance_uses(
    world: SimpleNamespace, invoke: Invoker, sample: str
) -> None:
    # Given orders-data, used by the shop host role, orders-batch and the task role
    # orders-task (no instance profile holds it; it has an inline policy too)
    # When a new version of orders-data is made the default
    done = invoke(handler, load_event(sample), regions=REGIONS)

    # Then the task role is looked up and found to be behind no profile, and no more
    role_reads = [
        call.operation
        for call in done.calls
        if call.service == "iam" and call.params.get("RoleName") == "orders-task"
    ]
    assert role_reads == ["GetRole", "ListInstanceProfilesForRole"]
    # ... while the host roles that use it are read whole, and judged as a sweep does
    shop_reads = {
        call.operation
        for call in done.calls
        if call.service == "iam" and call.params.get("RoleName") == ROLE_NAME
    }
    assert {"ListRolePolicies", "ListAttachedRolePolicies"} <= shop_reads
    assert done.result["findings"] == [finding_id(APP, world.shop_role)]


def test_iam_event_covers_only_the_regions_configured(
    world: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the same role, with ROLEWARDEN_REGIONS covering us-east-1 only
    event = load_event("cloudtrail-attach-role-policy", **{ROLE_NAME: "eu-ecs-host"})

    # When a policy is attached to it
    done = invoke(handler, event, regions="us-east-1")

    # Then eu-west-1 is not read, and the role is not known as a host role there
    assert done.regions_of("ec2:DescribeInstances") == {"us-east-1"}
    assert done.result["findings"] == []


def test_failed_call_is_skipped_without_any_aws_call(
    world: SimpleNamespace, invoke: Invoker
) -> None:
    # Given AttachRolePolicy refused with AccessDenied
    event = load_event("cloudtrail-attach-role-policy-failed")
    assert event["detail"]["errorCode"] == "AccessDenied"

    # When the event evaluator receives it
    done = invoke(handler, event, regions=REGIONS)

    # Then it changed nothing, so nothing is read: skipped, and counted
    assert done.result == {
        "status": "skipped",
        "reason": "AttachRolePolicy failed (AccessDenied): it changed nothing",
    }
    assert done.operations == []
    assert done.metrics == {"EventsSkipped": 1}


def test_stopped_task_is_skipped_without_any_aws_call(
    world: SimpleNamespace, invoke: Invoker
) -> None:
    # Given an ECS Task State Change to STOPPED / When the event evaluator receives it
    done = invoke(handler, load_event("ecs-task-state-change-stopped"), regions=REGIONS)

    # Then it is skipped: only RUNNING tasks are evaluated
    assert done.result == {"status": "skipped", "reason": "task is STOPPED, not RUNNING"}
    assert done.operations == []
    assert done.metrics == {"EventsSkipped": 1}


def test_a_new_ecs_host_makes_its_role_a_host_role_judged_by_the_event(
    world: SimpleNamespace, invoke: Invoker
) -> None:
    # Given a role without the ECS agent's policy, whose instance registers with a cluster
    # in eu-west-1 (the registration alone makes it an ECS host role)
    event = load_event(
        "cloudtrail-register-container-instance", **{INSTANCE_ID: world.eu_host, REGION: EU}
    )

    # When the registration arrives
    done = invoke(handler, event, regions=REGIONS)

    # Then the host's role is judged with the instance, and its finding takes the alert path
    assert done.result["findings"] == [finding_id(APP, world.eu_role)]
    assert done.metrics == expected_metrics(world, [(APP, world.eu_role)])
    assert [record["rule"] for record in done.logs("finding")] == [APP]


def test_account_metadata_defaults_change_is_logged_with_who_and_what(
    world: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the region's instance metadata defaults set to allow IMDSv1, hop limit 2
    event = load_event("cloudtrail-modify-instance-metadata-defaults")

    # When the event evaluator receives it
    done = invoke(handler, event, regions=REGIONS)

    # Then no existing instance changed: skipped, saying which rule will judge the defaults
    reason = (
        "instance metadata defaults apply only to instances launched later, and no existing "
        "instance changes; account-imds-defaults-allow-imdsv1 (a rule still to come) "
        "judges them"
    )
    assert done.result == {"status": "skipped", "reason": reason}
    # ... logged with who changed what, and nothing read
    (record,) = done.logs("event skipped")
    assert {key: record.get(key) for key in ("actor", "http_tokens", "reason")} == {
        "actor": ACTOR_ARN,
        "http_tokens": "optional",
        "reason": reason,
    }
    assert record["http_put_response_hop_limit"] == "2"
    assert done.operations == []
    assert done.metrics == {"EventsSkipped": 1}


@pytest.mark.parametrize(
    ("sample", "response", "read"),
    [
        ("cloudtrail-register-task-definition-response-omitted", "truncated", "orders-api"),
        ("cloudtrail-create-service-response-missing", "missing", "orders-api:1"),
    ],
)
def test_a_response_cloudtrail_left_out_falls_back_on_the_request_and_says_so(
    world: SimpleNamespace, invoke: Invoker, sample: str, response: str, read: str
) -> None:
    # Given a call whose response CloudTrail truncated or left out
    event = load_event(sample)

    # When the event evaluator receives it
    done = invoke(handler, event, regions=REGIONS)

    # Then the task definition the request names is read by that name (a family: its
    # latest ACTIVE revision), judged, and the log says where the resource came from
    assert done.params_of("DescribeTaskDefinition")[0]["taskDefinition"] == read
    assert done.result["findings"] == [finding_id(DEFINITION_NO_ROLE, world.orders_api)]
    (record,) = done.logs("resources named by the request only")
    assert {key: record[key] for key in ("event_name", "event_id", "response")} == {
        "event_name": event["detail"]["eventName"],
        "event_id": event["id"],
        "response": response,
    }


def test_a_launch_cloudtrail_kept_no_response_of_is_skipped_saying_why(
    world: SimpleNamespace, invoke: Invoker
) -> None:
    # Given RunInstances truncated by CloudTrail: its request names no instance id
    event = load_event("cloudtrail-run-instances")
    event["detail"]["responseElements"] = {"omitted": True}

    # When the event evaluator receives it
    done = invoke(handler, event, regions=REGIONS)

    # Then nothing identifies an instance: skipped, saying so, and nothing read
    assert done.result == {
        "status": "skipped",
        "reason": "CloudTrail kept no response of RunInstances (truncated), and its request "
        "names no resource RoleWarden evaluates",
    }
    assert done.operations == []


OTHER_ACCOUNT = "210987654321"


@pytest.mark.parametrize(
    "sample",
    ["cloudtrail-run-instances", "cloudtrail-create-tags", "ecs-task-state-change-running"],
)
def test_an_event_of_another_account_is_refused_and_names_no_account(
    world: SimpleNamespace, invoke: Invoker, sample: str
) -> None:
    # Given an event of another account (a bus forwarding a member's events, say)
    event = load_event(sample, **{ACCOUNT: OTHER_ACCOUNT})
    assert event["account"] == OTHER_ACCOUNT

    # When the event evaluator, in account 123456789012, receives it
    done = invoke(handler, event, regions=REGIONS)

    # Then it is refused with the reason, counted, and nothing is read, judged or announced
    reason = (
        f"event of account {OTHER_ACCOUNT}, but this function reads account {ACCOUNT}: it "
        "has no credentials for that account, so nothing is evaluated"
    )
    assert done.result == {"status": "refused", "reason": reason}
    assert done.metrics == {"ForeignAccountEvents": 1}
    assert done.operations == ["sts:GetCallerIdentity"]
    (record,) = done.logs("event of another account refused")
    assert (record["event_account"], record["own_account"]) == (OTHER_ACCOUNT, ACCOUNT)
    assert done.logs("exemption changed") == []


# --- malformed events ------------------------------------------------------------------


def _cloudtrail(**detail: Any) -> dict[str, Any]:
    event = load_event("cloudtrail-attach-role-policy")
    event["detail"] |= detail
    return event


def _without_event_name() -> dict[str, Any]:
    event = load_event("cloudtrail-attach-role-policy")
    del event["detail"]["eventName"]
    return event


def _without_account() -> dict[str, Any]:
    event = load_event("cloudtrail-run-instances")
    del event["account"]
    return event


def _task_without_status() -> dict[str, Any]:
    event = load_event("ecs-task-state-change-running")
    del event["detail"]["lastStatus"]
    return event


MALFORMED = {
    "unknown detail-type": (
        load_event("ecs-task-state-change-running")
        | {"detail-type": "EC2 Instance State-change Notification"},
        "event: Input tag 'EC2 Instance State-change Notification' found using "
        "'detail_type' | 'detail-type' does not match any of the expected tags: "
        "'AWS API Call via CloudTrail', 'ECS Task State Change'",
    ),
    "CloudTrail detail without eventName": (
        _without_event_name(),
        "AWS API Call via CloudTrail.detail.eventName: Field required",
    ),
    "envelope without account": (
        _without_account(),
        "AWS API Call via CloudTrail.account: Field required",
    ),
    "resources not a list": (
        load_event("cloudtrail-run-instances") | {"resources": "arn:aws:ec2:::instance/i-1"},
        "AWS API Call via CloudTrail.resources: Input should be a valid list",
    ),
    "requestParameters not an object": (
        _cloudtrail(requestParameters="roleName=shop-ecs-host"),
        "AWS API Call via CloudTrail.detail.requestParameters: Input should be a valid dictionary",
    ),
    "task without lastStatus": (
        _task_without_status(),
        "ECS Task State Change.detail.lastStatus: Field required",
    ),
}


@pytest.mark.parametrize(("event", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_event_is_rejected_without_any_aws_call(
    world: SimpleNamespace, invoke: Invoker, event: dict[str, Any], reason: str
) -> None:
    # Given an event the evaluator cannot parse / When EventBridge invokes it
    done = invoke(handler, event, regions=REGIONS)

    # Then it is acknowledged as rejected with the reason, counted, and nothing is called
    assert done.result == {"status": "rejected", "reason": f"malformed EventBridge event: {reason}"}
    assert done.metrics == {"MalformedEvents": 1}
    assert done.operations == []
