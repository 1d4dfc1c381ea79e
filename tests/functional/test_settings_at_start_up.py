"""Settings as every function and the CLI read them at start-up, inside moto.

An unknown ROLEWARDEN_* variable is a warning on every path, and an error where a change
could follow (the remediate function, --apply). A numeric setting out of its range is one
clear error. A malformed ROLEWARDEN_DRY_RUN fails safe: detection runs, nothing changes,
and the refusal says why. An extra baseline policy that grants critical actions, or that
cannot be read, stops start-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from functional.accounts import live_profile_arns
from functional.cli_runs import run_cli
from functional.events import INSTANCE_ID, Invoker, load_event
from rolewarden.demo.builders import (
    SSM_CORE_POLICY_ARN,
    create_instance_profile,
    create_role,
    seed_demo_account,
)
from rolewarden.handlers import config_rule, events, remediate, sweep
from rolewarden.policy.critical import CRITICAL_AWS_MANAGED_POLICIES, critical_grants_of
from rolewarden.policy.document import parse_policy_document
from rolewarden.remediation.journal import Journal, create_table
from rolewarden.rules import ids
from rolewarden.settings import SettingsError

JOURNAL = "journal"
BASELINE = "rolewarden-baseline"
REGION = "us-east-1"
MISSPELLED = "unknown setting ROLEWARDEN_DRYRUN (did you mean ROLEWARDEN_DRY_RUN?) is ignored"
REFUSED_UNKNOWN = (
    "unknown setting(s) ROLEWARDEN_DRYRUN (did you mean ROLEWARDEN_DRY_RUN?): refused where "
    "a change could follow (a misspelled ROLEWARDEN_DRY_RUN must never apply)"
)
WARNING = "setting not used as written"
POLICY = "arn:aws:iam::123456789012:policy/{}"
EXTRA_POLICIES = {
    "host-extras": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}],
    },
    "passes-any-role": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "iam:PassRole"], "Resource": "*"}
        ],
    },
    "everything-but-iam": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
    },
}
CRITICAL_POLICY = (
    "invalid setting: ROLEWARDEN_EXTRA_BASELINE_POLICY_ARNS: a policy that grants critical "
    "actions (permissions management, privilege escalation, everything) cannot be baseline: "
)


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoker:
    return Invoker(monkeypatch, capsys)


@pytest.fixture(scope="module")
def demo(moto_account: Any) -> Iterator[SimpleNamespace]:
    """The demo account, a journal, and a baseline profile to associate. Every test here
    expects nothing to change: one account serves them all."""
    with moto_account() as session:
        account = seed_demo_account(session)
        create_table(session.client("dynamodb"), JOURNAL)
        iam = session.client("iam")
        create_role(iam, BASELINE, managed_policy_arns=(SSM_CORE_POLICY_ARN,))
        create_instance_profile(iam, BASELINE, BASELINE)
        for name, statement in EXTRA_POLICIES.items():
            iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(statement))
        yield SimpleNamespace(session=session, account=account, ec2=session.client("ec2"))


def profile_of(demo: SimpleNamespace, instance_id: str) -> str | None:
    live = live_profile_arns(demo.ec2, instance_id)
    return live[0].rsplit("/", 1)[-1] if live else None


def journal_entries(demo: SimpleNamespace) -> list[Any]:
    return Journal(demo.session.client("dynamodb"), JOURNAL).entries()


def fix_request(instance_id: str) -> dict[str, Any]:
    """A person asks the remediate function to give a bare instance the baseline profile."""
    return {
        "rule": ids.EC2_INSTANCE_WITHOUT_PROFILE,
        "resource_arn": f"arn:aws:ec2:{REGION}:123456789012:instance/{instance_id}",
        "dry_run": False,
        "requested_by": "jane",
    }


def rolewarden(*args: str, **settings: str) -> tuple[int, str, str]:
    """`rolewarden ARGS` in-process with only the given ROLEWARDEN_<NAME> settings:
    (exit code, stdout, stderr)."""
    return run_cli(args, settings)


# --- an unknown variable ------------------------------------------------------------------


def test_an_unknown_setting_is_named_in_a_warning_on_every_detection_path(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given ROLEWARDEN_DRYRUN=true (the kill switch, misspelled)
    failed_call = load_event("cloudtrail-attach-role-policy")
    failed_call["detail"]["errorCode"] = "AccessDenied"
    config_event = load_event("config-instance-changed")
    del config_event["resultToken"]  # rejected after start-up: no AWS needed
    paths = {
        "events": (events.handler, failed_call),
        "sweep": (sweep.handler, {}),
        "config rule": (config_rule.handler, config_event),
    }
    for name, (handler, event) in paths.items():
        # When each detection function starts
        done = invoke(handler, event, dryrun="true")
        # Then it runs, and its log names the variable and what it probably meant
        assert [record["reason"] for record in done.logs(WARNING)] == [MISSPELLED], name
        assert done.logs(WARNING)[0]["level"] == "WARNING"


def test_the_remediate_function_refuses_to_start_with_an_unknown_setting(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given a bare instance, and the kill switch misspelled ROLEWARDEN_DRYRUN=true
    bare = demo.account.legacy_batch_instance_id

    # When a person asks the remediate function to fix it (dry_run false)
    with pytest.raises(SettingsError) as refused:
        invoke(
            remediate.handler,
            fix_request(bare),
            dryrun="true",
            journal_table=JOURNAL,
            baseline_instance_profile=BASELINE,
        )

    # Then start-up fails naming the variable, and nothing changed
    assert str(refused.value) == REFUSED_UNKNOWN
    assert profile_of(demo, bare) is None
    assert journal_entries(demo) == []
    assert invoke.calls.writes == []


def test_the_cli_warns_of_an_unknown_setting_and_refuses_it_with_apply(
    demo: SimpleNamespace,
) -> None:
    bare = demo.account.legacy_batch_instance_id
    arn = f"arn:aws:ec2:{REGION}:123456789012:instance/{bare}"
    fix = ("remediate", "--rule", ids.EC2_INSTANCE_WITHOUT_PROFILE, "--resource", arn)
    settings = {"dryrun": "true", "journal_table": JOURNAL, "baseline_instance_profile": BASELINE}

    # When a person plans the fix with the kill switch misspelled
    code, out, err = rolewarden(*fix, **settings)
    # Then the plan is shown, and stderr names the variable
    assert code == 0, err
    assert out.startswith("PLANNED")
    assert err.splitlines() == [f"rolewarden: warning: {MISSPELLED}"]

    # When they apply it
    code, out, err = rolewarden(*fix, "--apply", **settings)
    # Then it is an error (exit 2) naming the variable, before anything is read or changed
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"rolewarden: {REFUSED_UNKNOWN}"]
    assert profile_of(demo, bare) is None
    assert journal_entries(demo) == []


# --- numeric bounds -------------------------------------------------------------------------


def test_a_numeric_setting_out_of_range_is_one_clear_error_not_a_traceback(
    demo: SimpleNamespace,
) -> None:
    # Given ROLEWARDEN_MAX_EXEMPTION_DAYS=99999999 (beyond any date Python can hold)
    # When a person scans
    code, out, err = rolewarden("scan", max_exemption_days="99999999")

    # Then one line names the variable and its range, and the exit code says error
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "rolewarden: invalid setting: ROLEWARDEN_MAX_EXEMPTION_DAYS: Input should be less than "
        "or equal to 3650 (allowed: a whole number from 0 to 3650)"
    ]


# --- a malformed kill switch ----------------------------------------------------------------

STRAY_SPACE = (
    "ROLEWARDEN_DRY_RUN='true ' is neither true nor false: read as true (fail safe); "
    "this deployment is read-only; nothing was changed"
)


def test_a_malformed_kill_switch_keeps_detection_running_and_refuses_every_change(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    # Given a bare instance, its rule in remediate mode, and ROLEWARDEN_DRY_RUN="true "
    bare = demo.account.legacy_batch_instance_id
    event = load_event("cloudtrail-run-instances", **{INSTANCE_ID: bare})
    settings = {
        "rule_modes": f"{ids.EC2_INSTANCE_WITHOUT_PROFILE}=remediate",
        "baseline_instance_profile": BASELINE,
        "journal_table": JOURNAL,
        "dry_run": "true ",
    }

    # When the event function evaluates the launch
    done = invoke(events.handler, event, **settings)

    # Then the finding is reported, its remediation refused saying why, and nothing changed
    assert done.result["status"] == "evaluated"
    assert len(done.result["findings"]) == 1
    assert done.result["remediations"] == [
        {"status": "refused", "finding_id": done.result["findings"][0], "reasons": [STRAY_SPACE]}
    ]
    assert [record["reason"] for record in done.logs(WARNING)] == [
        "ROLEWARDEN_DRY_RUN='true ' is neither true nor false: read as true (fail safe)"
    ]
    assert profile_of(demo, bare) is None
    assert done.writes == []


@pytest.mark.parametrize("value", ["yes please", "false ", "no"])
def test_a_malformed_kill_switch_turns_a_requested_change_into_a_plan(
    demo: SimpleNamespace, invoke: Invoker, value: str
) -> None:
    # Given a malformed ROLEWARDEN_DRY_RUN (even one that looks like "false")
    bare = demo.account.legacy_batch_instance_id

    # When a person asks the remediate function to apply a fix
    done = invoke(
        remediate.handler,
        fix_request(bare),
        dry_run=value,
        journal_table=JOURNAL,
        baseline_instance_profile=BASELINE,
    )

    # Then it is planned, not applied, and the reason names the value it could not read
    assert done.result["status"] == "planned"
    assert done.result["reasons"] == [
        f"ROLEWARDEN_DRY_RUN={value!r} is neither true nor false: read as true (fail safe); "
        "this deployment is read-only; nothing was changed"
    ]
    assert profile_of(demo, bare) is None
    assert journal_entries(demo) == []
    assert done.writes == []


# --- the payload's switches -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dry_run", "shown"),
    [("false", 'the string "false"'), (0, "the number 0"), (None, "null")],
)
def test_a_dry_run_that_is_not_a_json_boolean_is_rejected_and_changes_nothing(
    demo: SimpleNamespace, invoke: Invoker, dry_run: Any, shown: str
) -> None:
    bare = demo.account.legacy_batch_instance_id
    payload = fix_request(bare) | {"dry_run": dry_run}
    done = invoke(
        remediate.handler, payload, journal_table=JOURNAL, baseline_instance_profile=BASELINE
    )
    assert done.result == {
        "status": "rejected",
        "reason": "malformed remediate payload: dry_run: Value error, must be a JSON boolean "
        f"(true or false), got {shown}; nothing is changed",
    }
    assert done.calls == []
    assert profile_of(demo, bare) is None


# --- extra baseline policies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "grants"),
    [("passes-any-role", "iam:PassRole"), ("everything-but-iam", "NotAction iam:*")],
)
def test_an_extra_baseline_policy_that_grants_critical_actions_stops_start_up(
    demo: SimpleNamespace, invoke: Invoker, policy: str, grants: str
) -> None:
    # Given a customer policy granting a critical action, named an extra baseline policy
    arn = POLICY.format(policy)
    # When a detection function starts
    with pytest.raises(SettingsError) as refused:
        invoke(sweep.handler, {}, extra_baseline_policy_arns=arn)
    # Then start-up fails naming the policy and the grant, after reading only the policy
    assert str(refused.value) == f"{CRITICAL_POLICY}{arn} grants {grants}"
    assert invoke.calls.operations == ["iam:GetPolicy", "iam:GetPolicyVersion"]


def test_an_aws_managed_policy_known_to_be_critical_is_refused_without_a_call(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    with pytest.raises(SettingsError) as refused:
        invoke(remediate.handler, fix_request("i-0abc"), extra_baseline_policy_arns=arn)
    assert str(refused.value) == f"{CRITICAL_POLICY}{arn}"
    assert invoke.calls.operations == []


def test_an_extra_baseline_policy_that_cannot_be_read_stops_start_up(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    arn = POLICY.format("never-created")
    with pytest.raises(SettingsError) as refused:
        invoke(
            events.handler, load_event("cloudtrail-run-instances"), extra_baseline_policy_arns=arn
        )
    assert str(refused.value).startswith(
        f"invalid setting: ROLEWARDEN_EXTRA_BASELINE_POLICY_ARNS: {arn} cannot be read "
        "(iam:GetPolicy: NoSuchEntity"
    )
    assert str(refused.value).endswith("so nothing shows it grants no critical action: refused")


def test_a_harmless_extra_baseline_policy_is_read_once_and_trusted(
    demo: SimpleNamespace, invoke: Invoker
) -> None:
    bare = demo.account.legacy_batch_instance_id
    event = load_event("cloudtrail-run-instances", **{INSTANCE_ID: bare})
    done = invoke(events.handler, event, extra_baseline_policy_arns=POLICY.format("host-extras"))
    assert done.result["status"] == "evaluated"
    assert done.operations[:2] == ["iam:GetPolicy", "iam:GetPolicyVersion"]
    assert done.operations.count("iam:GetPolicyVersion") == 1


def test_the_cli_refuses_a_critical_extra_baseline_policy(demo: SimpleNamespace) -> None:
    arn = POLICY.format("passes-any-role")
    code, out, err = rolewarden("scan", extra_baseline_policy_arns=arn)
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"rolewarden: {CRITICAL_POLICY}{arn} grants iam:PassRole"]


def test_each_aws_managed_policy_refused_by_name_grants_critical_actions(
    demo: SimpleNamespace,
) -> None:
    # Given the documents moto holds of the AWS managed policies refused by name
    iam = demo.session.client("iam")
    for identity in sorted(CRITICAL_AWS_MANAGED_POLICIES):
        arn = f"arn:aws:iam::aws:{identity}"
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        # Then reading them would refuse them too: the list only saves the calls
        assert critical_grants_of(parse_policy_document(document["Document"])), identity
