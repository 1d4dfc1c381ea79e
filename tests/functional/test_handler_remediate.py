"""The remediate function, invoked in-process with the remediate samples of events/ in moto.

Also the hand-over: the event and sweep functions, for rules in `remediate` mode, ask the
remediate function (an asynchronous invoke), and that request, handled, fixes the account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functional.accounts import live_profile_arns
from functional.events import (
    ACTOR_ARN,
    INSTANCE_ID,
    JOURNAL_ID,
    Invoker,
    event_names,
    load_event,
)
from functional.journals import create_table, signed_journal
from rolewarden.demo.builders import (
    SSM_CORE_POLICY_ARN,
    create_instance_profile,
    create_role,
    seed_demo_account,
)
from rolewarden.handlers import events, remediate, sweep
from rolewarden.remediation.journal import Journal
from rolewarden.rules import ids

JOURNAL = "journal"
IDEMPOTENCY = "idempotency"
BASELINE = "rolewarden-baseline"
# ec2-instance-without-profile in remediate mode: a bare instance gets the baseline profile
FIX_BARE_INSTANCES = {
    "rule_modes": f"{ids.EC2_INSTANCE_WITHOUT_PROFILE}=remediate",
    "baseline_instance_profile": BASELINE,
}


def launched_bare_instance(demo: SimpleNamespace) -> tuple[str, dict[str, Any]]:
    """The demo's instance without a profile, and the CloudTrail event of its launch."""
    bare = demo.account.legacy_batch_instance_id
    return bare, load_event("cloudtrail-run-instances", **{INSTANCE_ID: bare})


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoker:
    return Invoker(monkeypatch, capsys)


@pytest.fixture
def demo(mock_aws: boto3.Session) -> Iterator[SimpleNamespace]:
    """The demo account, a journal and an idempotency table, and a baseline profile."""
    account = seed_demo_account(mock_aws)
    dynamodb = mock_aws.client("dynamodb")
    create_table(dynamodb, JOURNAL)
    dynamodb.create_table(
        TableName=IDEMPOTENCY,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    iam = mock_aws.client("iam")
    create_role(iam, BASELINE, managed_policy_arns=(SSM_CORE_POLICY_ARN,))
    create_instance_profile(iam, BASELINE, BASELINE)
    yield SimpleNamespace(session=mock_aws, account=account, iam=iam, ec2=mock_aws.client("ec2"))


def journal(session: boto3.Session) -> Journal:
    return signed_journal(session.client("dynamodb"), JOURNAL)


def sample(name: str, demo: SimpleNamespace, **replace: str) -> dict[str, Any]:
    text = (load_event.__globals__["EVENTS_DIR"] / f"{name}.json").read_text()
    ids_ = {INSTANCE_ID: demo.account.shop_host_imdsv1_instance_id, **replace}
    return load_event(name, **{k: v for k, v in ids_.items() if k in text})


def metadata(demo: SimpleNamespace, instance_id: str) -> dict[str, Any]:
    reservations = demo.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return dict(reservations[0]["Instances"][0]["MetadataOptions"])


def host_policies(demo: SimpleNamespace) -> tuple[list[str], list[str]]:
    attached = demo.iam.list_attached_role_policies(RoleName="shop-ecs-host")["AttachedPolicies"]
    inline = demo.iam.list_role_policies(RoleName="shop-ecs-host")["PolicyNames"]
    return sorted(p["PolicyArn"] for p in attached), sorted(inline)


def profile_of(demo: SimpleNamespace, instance_id: str) -> str | None:
    live = live_profile_arns(demo.ec2, instance_id)
    return live[0].rsplit("/", 1)[-1] if live else None


def test_every_remediate_sample_is_covered_here() -> None:
    assert event_names("remediate-") == [
        "remediate-action-apply",
        "remediate-automatic",
        "remediate-finding-plan",
        "remediate-resource-apply",
        "remediate-restore",
    ]


def test_a_finding_named_by_id_shows_its_plan_and_why_it_is_blocked(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the host role's finding, named by id, with no dry_run in the payload
    before = host_policies(demo)

    # When a person invokes the remediate function
    done = invoke(remediate.handler, sample("remediate-finding-plan", demo), journal_table=JOURNAL)

    # Then it is refused (the outage guard: a person must force it), with the plan of
    # both policies of the host role
    result = done.result
    assert result["status"] == "refused"
    assert [c["action"] for c in result["plan"]] == [
        "delete-inline-policy",
        "detach-managed-policy",
    ]
    assert result["reasons"][0].startswith("blocked unless forced (--force): outage guard")
    assert "service orders (orders-api:1)" in result["reasons"][0]
    # And the account and the journal are as they were
    assert host_policies(demo) == before
    assert journal(demo.session).entries() == []
    assert done.writes == []


def test_forced_imdsv2_is_applied_journaled_with_the_requester(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the IMDSv1 host, whose bridge-mode task has no task role (outage guard)
    host = demo.account.shop_host_imdsv1_instance_id

    # When a person forces the fix by resource ARN with dry_run false
    done = invoke(
        remediate.handler, sample("remediate-resource-apply", demo), journal_table=JOURNAL
    )

    # Then the host requires IMDSv2, with hop limit 2 (its bridge task without a task role
    # keeps its credentials), its other options untouched
    assert done.result["status"] == "applied"
    options = metadata(demo, host)
    assert (options["HttpTokens"], options["HttpPutResponseHopLimit"]) == ("required", 2)
    assert options["HttpEndpoint"] == "enabled"
    # And the journal names the requester, the overridden guard and the verified result
    (entry,) = journal(demo.session).entries()
    assert entry.actor == ACTOR_ARN
    assert entry.status.value == "verified"
    assert entry.change.before["HttpTokens"] == "optional"
    assert entry.forced and entry.forced[0].startswith("outage guard: bridge-mode tasks")
    assert done.metrics["Remediate.applied"] == 1


def test_one_action_of_a_fix_is_applied_alone(demo: SimpleNamespace, invoke: Invoker) -> None:
    # Given the host role with an inline and a managed application policy
    attached_before, inline_before = host_policies(demo)
    assert inline_before == ["orders-table"]

    # When only delete-inline-policy is asked for (forced past the outage guard)
    done = invoke(remediate.handler, sample("remediate-action-apply", demo), journal_table=JOURNAL)

    # Then the inline policy is gone, and the managed one still attached
    assert done.result["status"] == "applied"
    assert host_policies(demo) == (attached_before, [])
    (entry,) = journal(demo.session).entries()
    assert entry.action == "delete-inline-policy"
    assert entry.change.before["document"]["Statement"][0]["Resource"] == [
        demo.account.orders_table_arn
    ]


def test_a_journal_entry_is_restored_by_the_function(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the inline policy deleted by a forced remediation
    invoke(remediate.handler, sample("remediate-action-apply", demo), journal_table=JOURNAL)
    (entry,) = journal(demo.session).entries()
    document = entry.change.before["document"]

    # When the restore sample names that journal entry
    payload = sample("remediate-restore", demo, **{JOURNAL_ID: entry.journal_id})
    done = invoke(remediate.handler, payload, journal_table=JOURNAL)

    # Then the policy is back with the very same document
    assert done.result["status"] == "restored"
    back = demo.iam.get_role_policy(RoleName="shop-ecs-host", PolicyName="orders-table")
    assert back["PolicyDocument"] == document
    statuses = {e.journal_id: e.status.value for e in journal(demo.session).entries()}
    assert statuses[entry.journal_id] == "restored"
    (restore,) = [e for e in journal(demo.session).entries() if e.restore_of]
    assert restore.restore_of == entry.journal_id and restore.actor == ACTOR_ARN


def test_an_automatic_request_obeys_every_automatic_guard(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the automatic request the event function sends for the IMDSv1 host
    host = demo.account.shop_host_imdsv1_instance_id
    payload = sample("remediate-automatic", demo)

    # When the rule notifies only, or remediates but the outage guard holds
    notify = invoke(remediate.handler, payload, journal_table=JOURNAL)
    guarded = invoke(
        remediate.handler,
        payload,
        journal_table=JOURNAL,
        rule_modes=f"{ids.ECS_HOST_IMDS_EXPOSED}=remediate",
    )

    # Then neither changes anything, and each says why
    assert notify.result["reasons"] == [
        "rule ecs-host-imds-exposed is in notify mode: notified, not changed"
    ]
    assert guarded.result["status"] == "refused"
    assert guarded.result["reasons"][0].startswith("not automatic: outage guard")
    assert metadata(demo, host)["HttpTokens"] == "optional"


def test_the_kill_switch_overrides_dry_run_false(demo: SimpleNamespace, invoke: Invoker) -> None:
    host = demo.account.shop_host_imdsv1_instance_id
    done = invoke(
        remediate.handler,
        sample("remediate-resource-apply", demo),
        journal_table=JOURNAL,
        dry_run="true",
    )
    assert done.result["status"] == "planned"
    assert done.result["reasons"][0].startswith("ROLEWARDEN_DRY_RUN=true")
    assert done.result["plan"][0]["after"]["HttpTokens"] == "required"
    assert metadata(demo, host)["HttpTokens"] == "optional"
    assert done.writes == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"requested_by": None}, "requested_by"),
        ({"finding_id": "468f83a6e72cdee3"}, "name exactly one of"),
        ({"rule": "no-such-rule"}, "unknown rule no-such-rule"),
        ({"action": "delete-everything"}, "unknown action delete-everything"),
        ({"resource_arn": "i-0abc1234def567890"}, "resource_arn"),
        ({"dry_run": "maybe"}, "dry_run"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_malformed_payload_is_rejected_before_anything_is_read(
    mock_aws: boto3.Session, invoke: Invoker, change: dict[str, Any], problem: str
) -> None:
    payload = {**load_event("remediate-resource-apply"), **change}
    payload = {key: value for key, value in payload.items() if value is not None}
    done = invoke(remediate.handler, payload, journal_table=JOURNAL)
    assert done.result["status"] == "rejected"
    assert problem in done.result["reason"]
    assert done.calls == []
    assert done.metrics["MalformedEvents"] == 1


def test_a_repeated_automatic_request_changes_nothing_twice(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given an automatic request to associate the baseline profile with a bare instance
    bare = demo.account.legacy_batch_instance_id
    arn = f"arn:aws:ec2:us-east-1:123456789012:instance/{bare}"
    payload = {
        **load_event("remediate-automatic"),
        "rule": ids.EC2_INSTANCE_WITHOUT_PROFILE,
        "resource_arn": arn,
    }
    settings = {**FIX_BARE_INSTANCES, "journal_table": JOURNAL, "idempotency_table": IDEMPOTENCY}

    # When Lambda delivers it twice
    first = invoke(remediate.handler, payload, **settings)
    second = invoke(remediate.handler, payload, **settings)

    # Then the instance got the baseline profile once, with one journal entry
    assert first.result["status"] == "applied"
    assert second.result == first.result
    assert profile_of(demo, bare) == BASELINE
    assert len(journal(demo.session).entries()) == 1
    assert [op for op in second.writes if not op.startswith("dynamodb:")] == []


def test_the_event_function_hands_over_what_it_may_fix_and_the_request_fixes_it(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given a RunInstances event for an instance without a profile, its rule in remediate
    bare, event = launched_bare_instance(demo)
    settings = {
        **FIX_BARE_INSTANCES,
        "remediate_function": "rolewarden-remediate",
        "journal_table": JOURNAL,
    }

    # When the event function evaluates it
    evaluated = invoke(events.handler, event, **settings)

    # Then it invokes the remediate function asynchronously, changing nothing itself
    (request,) = evaluated.params_of("Invoke")
    assert (request["FunctionName"], request["InvocationType"]) == ("rolewarden-remediate", "Event")
    payload = json.loads(request["Payload"])
    assert payload == {
        "rule": ids.EC2_INSTANCE_WITHOUT_PROFILE,
        "resource_arn": f"arn:aws:ec2:us-east-1:123456789012:instance/{bare}",
        "dry_run": False,
        "requested_by": f"event:{event['id']}",
        "automatic": True,
        "event_id": event["id"],
        # who made the call that caused it, as CloudTrail recorded it
        "caused_by": event["detail"]["userIdentity"]["arn"],
    }
    assert [op for op in evaluated.writes if op != "lambda:Invoke"] == []
    assert profile_of(demo, bare) is None

    # And when the remediate function handles that request, the instance is fixed
    done = invoke(remediate.handler, payload, **settings)
    assert done.result["status"] == "applied"
    assert profile_of(demo, bare) == BASELINE
    (entry,) = journal(demo.session).entries()
    assert entry.actor == f"event:{event['id']}"
    assert entry.caused_by == event["detail"]["userIdentity"]["arn"]


def test_without_a_remediate_function_the_event_path_fixes_in_process(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    bare, event = launched_bare_instance(demo)
    done = invoke(events.handler, event, **FIX_BARE_INSTANCES, journal_table=JOURNAL)
    (remediation,) = done.result["remediations"]
    assert remediation["status"] == "applied"
    assert profile_of(demo, bare) == BASELINE


def test_a_repeated_event_delivery_is_handled_once(demo: SimpleNamespace, invoke: Invoker) -> None:
    _, event = launched_bare_instance(demo)
    settings = {
        **FIX_BARE_INSTANCES,
        "remediate_function": "rolewarden-remediate",
        "idempotency_table": IDEMPOTENCY,
    }
    first = invoke(events.handler, event, **settings)
    second = invoke(events.handler, event, **settings)
    assert len(first.params_of("Invoke")) == 1
    assert second.params_of("Invoke") == []
    assert second.result == first.result


def test_the_sweep_hands_over_at_most_the_cap_per_run(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given two instances without a profile (one has an expired exemption), cap 1 per run
    done = invoke(
        sweep.handler,
        load_event("schedule-sweep"),
        **FIX_BARE_INSTANCES,
        remediate_function="rolewarden-remediate",
        max_remediations_per_run="1",
    )
    # Then one is handed over and the other only notified, naming the cap
    assert len(done.params_of("Invoke")) == 1
    statuses = sorted(item["status"] for item in done.result["remediations"])
    assert statuses == ["refused", "requested"]
    (refused,) = [i for i in done.result["remediations"] if i["status"] == "refused"]
    assert "ROLEWARDEN_MAX_REMEDIATIONS_PER_RUN" in refused["reasons"][0]
    assert done.metrics["RemediationsCapped"] == 1


def test_a_finding_held_back_by_a_guard_says_why_on_the_sweep_path(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the IMDSv1 host's rule in remediate mode, with a bridge task without a task role
    host = demo.account.shop_host_imdsv1_instance_id
    done = invoke(
        sweep.handler,
        load_event("schedule-sweep"),
        rule_modes=f"{ids.ECS_HOST_IMDS_EXPOSED}=remediate",
        remediate_function="rolewarden-remediate",
    )
    # Then nothing is handed over, and the sweep's result names the guard
    assert done.params_of("Invoke") == []
    (held,) = done.result["remediations"]
    assert held["status"] == "refused"
    assert held["reasons"][0].startswith("not automatic: outage guard: bridge-mode tasks")
    assert metadata(demo, host)["HttpTokens"] == "optional"


# --- who asked, and which tables (issue 13) ---------------------------------------------


def test_a_direct_invokes_requester_is_journaled_and_alerted_as_self_declared(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given a direct invoke: Lambda does not say who the caller is
    # When it forces the IMDS fix naming a requester
    done = invoke(
        remediate.handler, sample("remediate-resource-apply", demo), journal_table=JOURNAL
    )
    # Then the journal keeps the name, marked as only the request's word
    (entry,) = journal(demo.session).entries()
    assert (entry.actor, entry.actor_self_declared) == (ACTOR_ARN, True)
    # And the result (the alert's outcome) says so too
    assert done.result["requested_by"] == (
        f"{ACTOR_ARN} (self-declared: a direct invoke's requested_by, not verified by AWS)"
    )


def test_a_function_url_callers_arn_as_aws_reports_it_is_the_actor(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the same request through a Function URL with IAM auth, claiming another name
    body = sample("remediate-resource-apply", demo) | {"requested_by": "someone-else"}
    caller = "arn:aws:sts::123456789012:assumed-role/platform-admin/jane.doe"
    request = {
        "version": "2.0",
        "rawPath": "/",
        "body": json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {"authorizer": {"iam": {"userArn": caller, "accountId": "123456789012"}}},
    }
    # When it is handled
    done = invoke(remediate.handler, request, journal_table=JOURNAL)
    # Then the actor is the caller AWS names, not self-declared
    assert done.result["status"] == "applied", done.result
    (entry,) = journal(demo.session).entries()
    assert (entry.actor, entry.actor_self_declared) == (caller, False)
    assert done.result["requested_by"] == caller


def test_an_automatic_change_journals_the_caller_that_caused_it(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given the event function's hand-over of a change a CloudTrail call caused
    causer = "arn:aws:sts::123456789012:assumed-role/deployer/ci"
    payload = sample("remediate-resource-apply", demo) | {
        "force": False,
        "automatic": True,
        "requested_by": "event:e-1",
        "caused_by": causer,
        "rule": ids.EC2_INSTANCE_WITHOUT_PROFILE,
        "resource_arn": (
            f"arn:aws:ec2:us-east-1:{demo.account.account_id}:instance/"
            f"{demo.account.legacy_batch_instance_id}"
        ),
    }
    # When the remediate function applies it
    done = invoke(
        remediate.handler,
        payload,
        journal_table=JOURNAL,
        **FIX_BARE_INSTANCES,
    )
    # Then the journal names who caused it, beside the event that found it
    assert done.result["status"] == "applied", done.result
    (entry,) = journal(demo.session).entries()
    assert (entry.actor, entry.caused_by) == ("event:e-1", causer)


def test_a_journal_table_other_than_the_stacks_is_refused(
    demo: SimpleNamespace, invoke: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function in its stack (moto's DescribeStackResources ignores
    # PhysicalResourceId, so the stack's resources are given; stack_tables' unit tests
    # cover the call), whose journal setting was pointed at another table
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "rolewarden-remediate")
    invoke.container.stacks["rolewarden-remediate"] = {
        "JournalTable": "stack-journal",
        "JournalKey": "k",
    }
    host = demo.account.shop_host_imdsv1_instance_id
    # When a change is asked for
    done = invoke(
        remediate.handler,
        sample("remediate-resource-apply", demo),
        journal_table=JOURNAL,
        journal_key="k",
    )
    # Then it is refused, naming the setting, and the host is unchanged
    assert done.result == {
        "status": "refused",
        "reasons": [
            f"ROLEWARDEN_JOURNAL_TABLE={JOURNAL} is not this stack's JournalTable "
            "(stack-journal): refused, nothing is changed"
        ],
    }
    assert metadata(demo, host)["HttpTokens"] == "optional"
