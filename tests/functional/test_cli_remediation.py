"""`rolewarden remediate`, `restore` and `journal`, run in-process (`cli.main`) in moto.

One demo account for the module; each class works on its own resources and its own
journal table, so the classes do not see each other's changes. A class whose commands
follow one another (plan, apply, restore...) runs them once in a class fixture, which
records each command's output and the account's state right after it; each test then
checks one step. Output is captured with `redirect_stdout` (capsys is per test).

Scenarios:
  1. `journal create-table NAME` creates the table with the template's keys and says how
     to use it; its policy, as the template's, denies item writes to all but the caller
     (an IAM user's exact user id; for a role, any session of it; the root user, with a
     warning that the key then trusts the account's IAM), and it says so; creating it
     again is a one-line error (exit 2).
  2. The README loop on an instance without a profile: the plan changes nothing, --apply
     associates the baseline profile and prints the journal id and the command to undo;
     `journal` lists who did it, `--output json` keeps the states before and after;
     `restore` plans, `restore --apply` puts the instance back, a second restore has
     nothing to do.
  3. The outage guard refuses the host role's fix (exit 1, naming the task and the
     service); its plan, without --apply, says so and exits 3 (a plan that --apply would
     refuse); --force applies it, and the journal records what was forced.
  4. No journal: --apply is refused (exit 1); --journal-table stands in for the variable;
     `journal` without a table is an error (exit 2); a journal table that does not
     exist fails before any change (exit 2); `restore` without a journal is refused
     (exit 1); a journal id the journal does not hold is an error (exit 2), and restores
     none of the ids named with it.
  5. The kill switch ROLEWARDEN_DRY_RUN=true turns --apply into a plan.
  6. Usage errors are one line on stderr (exit 2) and change nothing (a finding id that is
     not 16 hex digits among them); an unknown finding id no longer holds (exit 0).
  7. A task definition gets a new revision with the task role a person names; the
     services move only with --update-service; restore deregisters the revision.
     After a restore the fix can be made again; --update-service after the revision
     exists moves the services to it.
  8. `journal` shows what each entry's signature says (one KMS VerifyMac each, as before
     a restore): verified, missing (unsigned), invalid (edited in DynamoDB, or a signed
     entry copied under another id, listed under the id it is stored at); without a
     journal key every entry is unchecked, and stderr says so once; a key KMS cannot
     use is an error (exit 2), not a verdict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functional.accounts import REGION, expected_finding_id, instance_arn, live_profile_arns
from functional.cli_runs import run_cli
from functional.journals import create_table, key_alias, signed_journal, with_journal_key
from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    SSM_CORE_POLICY_ARN,
    allow,
    create_instance_profile,
    create_role,
    create_service,
    launch_instance,
    policy_document,
    register_task_definition,
    seed_demo_account,
)
from rolewarden.remediation import journal as journal_module
from rolewarden.remediation.change import Change
from rolewarden.remediation.journal import Journal, JournalEntry, Status, new_journal_id
from rolewarden.rules import ids

BASELINE = "rolewarden-baseline"
UNDO = re.compile(r"^  to undo: rolewarden restore (\S+) --apply$")
NOT_BOTH = "rolewarden: name a finding id, or --rule and --resource, not both"
TOGETHER = "rolewarden: --rule and --resource go together"
NO_JOURNAL = (
    "  - no journal: set ROLEWARDEN_JOURNAL_TABLE (or pass --journal-table); "
    "RoleWarden makes no change it could not undo"
)
KILL_SWITCH = "  - ROLEWARDEN_DRY_RUN=true: this deployment is read-only; nothing was changed"
PLAN_ONLY = "  - plan only: nothing was changed (apply to change)"
TO_APPLY = "  to apply: run the same command with --apply"
JOURNAL_HEADER = ["JOURNAL", "ID", "STATUS", "SIGNATURE", "ACTION", "RESOURCE,", "BY"]


# --- running the command ------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What one `rolewarden ...` returned and printed."""

    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def error_line(self) -> str:
        """The one line on stderr of an error, checked to be one line and ours."""
        assert "Traceback" not in self.err, self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("rolewarden: "), self.err
        return lines[0]

    @property
    def journal_rows(self) -> list[str]:
        """The entries `rolewarden journal` lists, under its header."""
        header, *rows = self.lines
        assert header.split() == JOURNAL_HEADER, self.out
        return rows

    def undo_id(self) -> str:
        """The journal id in the `to undo:` line (one change)."""
        found = [m.group(1) for line in self.lines if (m := UNDO.match(line))]
        assert len(found) == 1, self.out
        return found[0]


def rolewarden(*args: str, **settings: str) -> Run:
    """`rolewarden ARGS` in-process, with only the ROLEWARDEN_<NAME>=value settings given
    (an empty value: not set), and the journal table's key."""
    given = {name: value for name, value in with_journal_key(settings).items() if value}
    return Run(*run_cli(args, given))


def task_role_fix(definition: str, task_role: str, *more: str, **settings: str) -> Run:
    """`rolewarden remediate --rule ecs-task-definition-without-task-role ... --apply`."""
    return rolewarden(
        "remediate",
        "--rule",
        ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE,
        "--resource",
        definition,
        "--task-role",
        task_role,
        "--apply",
        *more,
        **settings,
    )


# --- reading the account back -------------------------------------------------------------


def profile_of(session: boto3.Session, instance_id: str) -> str | None:
    """The name of the instance profile associated with the instance, if any."""
    live = live_profile_arns(session.client("ec2"), instance_id)
    assert len(live) <= 1, live
    return live[0].rsplit("/", 1)[-1] if live else None


def role_policies(session: boto3.Session, role: str) -> tuple[list[str], list[str]]:
    """(managed policy ARNs, inline policy names) of the role."""
    iam = session.client("iam")
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    inline = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return sorted(p["PolicyArn"] for p in attached), sorted(inline)


def journal_entries(session: boto3.Session, table: str) -> list[dict[str, Any]]:
    return [entry.as_json() for entry in Journal(session.client("dynamodb"), table).entries()]


def new_table(session: boto3.Session, name: str) -> str:
    create_table(session.client("dynamodb"), name)
    return name


def revisions(session: boto3.Session, family: str) -> dict[str, str]:
    """{revision ARN: status} of a task definition family."""
    ecs = session.client("ecs")
    return {
        arn: status
        for status in ("ACTIVE", "INACTIVE")
        for arn in ecs.list_task_definitions(familyPrefix=family, status=status)[
            "taskDefinitionArns"
        ]
    }


def task_role_of(session: boto3.Session, task_definition_arn: str) -> str | None:
    definition = session.client("ecs").describe_task_definition(taskDefinition=task_definition_arn)[
        "taskDefinition"
    ]
    role = definition.get("taskRoleArn")
    return str(role) if role else None


def running(session: boto3.Session, cluster: str, service: str) -> str:
    """The task definition revision the service runs."""
    described = session.client("ecs").describe_services(cluster=cluster, services=[service])
    return str(described["services"][0]["taskDefinition"])


# --- the account --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(moto_account: Any) -> Iterator[SimpleNamespace]:
    """The demo account, a baseline profile, two more instances without a profile, and a
    service "inventory" on the payments cluster running a definition without a task role."""
    with moto_account() as session:
        account = seed_demo_account(session)
        iam, ec2, ecs = (session.client(name) for name in ("iam", "ec2", "ecs"))
        create_role(iam, BASELINE, managed_policy_arns=(SSM_CORE_POLICY_ARN,))
        baseline_arn = create_instance_profile(iam, BASELINE, BASELINE)
        inventory_td = register_task_definition(ecs, "inventory-api")
        inventory_service = create_service(ecs, "payments", "inventory", inventory_td)
        yield SimpleNamespace(
            session=session,
            account=account,
            baseline_arn=baseline_arn,
            caller=session.client("sts").get_caller_identity()["Arn"],
            flag_instance=launch_instance(ec2, tags={"Name": "flag-journal"}),
            usage_instance=launch_instance(ec2, tags={"Name": "usage-errors"}),
            inventory_td=inventory_td,
            inventory_service=inventory_service,
        )


# --- 1. journal create-table --------------------------------------------------------------


class TestJournalCreateTable:
    def test_creates_the_table_with_the_template_keys_and_says_how_to_use_it(
        self, demo: SimpleNamespace
    ) -> None:
        # Given no table / When a person creates one
        created = rolewarden("journal", "create-table", "cli-journal")

        # Then exit 0, a line saying how to use it, and one saying who alone may write it
        # (moto's default caller is an IAM user: its exact user id)
        assert created.code == 0, created.err
        usage, protection = created.lines
        key = usage.rsplit("ROLEWARDEN_JOURNAL_KEY=", 1)[-1]
        assert usage == (
            f"created journal table cli-journal and its signing key {key}; use them with "
            f"ROLEWARDEN_JOURNAL_TABLE=cli-journal ROLEWARDEN_JOURNAL_KEY={key}"
        )
        user_id = demo.session.client("sts").get_caller_identity()["UserId"]
        assert protection == written_only_by(caller_arn(demo.session), user_id)
        assert table_policy(demo.session, "cli-journal") == journal_policy(
            caller_arn(demo.session), user_id
        )
        # And the key signs with HMAC, for the person who made it only (and the account
        # administers it)
        kms = demo.session.client("kms")
        metadata = kms.describe_key(KeyId=key)["KeyMetadata"]
        assert (metadata["KeySpec"], metadata["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
        policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        signers = [s for s in policy["Statement"] if "kms:GenerateMac" in s["Action"]]
        assert [s["Principal"]["AWS"] for s in signers] == [caller_arn(demo.session)]
        # And the table has the template's keys, and the journal reads it (empty)
        table = demo.session.client("dynamodb").describe_table(TableName="cli-journal")["Table"]
        assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
            "pk": "HASH",
            "sk": "RANGE",
        }
        listed = rolewarden("journal", journal_table="cli-journal")
        assert (listed.code, listed.lines) == (0, ["The journal is empty."])

    def test_a_role_makes_a_table_only_its_sessions_may_write(self, demo: SimpleNamespace) -> None:
        # Given a person working as a role (with a path), assumed in a session
        iam = demo.session.client("iam")
        role = iam.create_role(
            RoleName="journal-keeper",
            Path="/ops/",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{demo.account.account_id}:root"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]
        credentials = demo.session.client("sts").assume_role(
            RoleArn=role["Arn"], RoleSessionName="jane"
        )["Credentials"]

        # When they create a journal table
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
            env.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
            env.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
            created = rolewarden("journal", "create-table", "role-journal")

        # Then the table's policy lets every session of that role write items (its role id,
        # any session name), and denies the item writes to everyone else; the output says so
        assert created.code == 0, created.err
        assert created.lines[1] == written_only_by(role["Arn"], f"{role['RoleId']}:*")
        assert table_policy(demo.session, "role-journal") == journal_policy(
            role["Arn"], f"{role['RoleId']}:*"
        )

    def test_the_root_user_makes_a_table_only_root_may_write_and_is_warned(
        self, demo: SimpleNamespace
    ) -> None:
        # Given a person signed in as the account's root user (STS says so; moto has none)
        account = demo.account.account_id
        root = {"Arn": f"arn:aws:iam::{account}:root", "UserId": account, "Account": account}
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(AwsClients, "_caller_identity", lambda _self: root)
            created = rolewarden("journal", "create-table", "root-journal")

        # Then the table lets only the root user write (its user id is the account id), and
        # a warning says the key's policy, naming the account, trusts the account's IAM
        assert created.code == 0, created.err
        assert created.lines[1] == written_only_by(root["Arn"], account)
        assert table_policy(demo.session, "root-journal") == journal_policy(root["Arn"], account)
        assert created.err.splitlines() == [
            "rolewarden: warning: created as the root user: only the root user may write this "
            "journal, and the key's policy names the account, so any principal whose IAM "
            "policies allow kms:GenerateMac may sign with it; create the journal as a role or "
            "user instead"
        ]

    def test_creating_it_again_is_a_one_line_error(self, demo: SimpleNamespace) -> None:
        # Given the table exists
        assert rolewarden("journal", "create-table", "twice-journal").code == 0

        # When created again
        again = rolewarden("journal", "create-table", "twice-journal")

        # Then exit 2, one line naming the table, nothing on stdout; the table is still there
        assert again.code == 2
        assert again.error_line.startswith("rolewarden: cannot create journal table twice-journal")
        assert "already exists" in again.error_line
        assert again.out == ""
        tables = demo.session.client("dynamodb").list_tables()["TableNames"]
        assert "twice-journal" in tables

    def test_the_kill_switch_creates_no_table(self, demo: SimpleNamespace) -> None:
        refused = rolewarden("journal", "create-table", "read-only-journal", dry_run="true")
        assert refused.code == 2
        assert refused.error_line == (
            "rolewarden: ROLEWARDEN_DRY_RUN=true: read-only, no table created"
        )
        tables = demo.session.client("dynamodb").list_tables()["TableNames"]
        assert "read-only-journal" not in tables


# --- 2. the README loop on an instance ----------------------------------------------------


class TestRemediateAndRestoreAnInstance:
    @pytest.fixture(scope="class")
    @classmethod
    def loop(cls, demo: SimpleNamespace) -> SimpleNamespace:
        """Every command of the loop on legacy-batch, and its profile after each."""
        session, instance = demo.session, demo.account.legacy_batch_instance_id
        arn = instance_arn(instance)
        finding_id = expected_finding_id(ids.EC2_INSTANCE_WITHOUT_PROFILE, arn)
        settings = {"journal_table": "loop-journal", "baseline_instance_profile": BASELINE}
        assert rolewarden("journal", "create-table", "loop-journal").code == 0
        steps: dict[str, tuple[Run, str | None]] = {}

        def step(name: str, *args: str) -> Run:
            run = rolewarden(*args, **settings)
            steps[name] = (run, profile_of(session, instance))
            return run

        step("plan", "remediate", finding_id)
        applied = step("apply", "remediate", finding_id, "--apply")
        journal_id = applied.undo_id()
        step("journal", "journal")
        step("journal json", "journal", "--output", "json")
        step("restore plan", "restore", journal_id)
        step("restore", "restore", journal_id, "--apply")
        step("restore again", "restore", journal_id, "--apply")
        step("journal after", "journal")
        return SimpleNamespace(
            instance=instance,
            arn=arn,
            finding_id=finding_id,
            journal_id=journal_id,
            steps=steps,
            entries=journal_entries(session, "loop-journal"),
        )

    def test_without_apply_it_plans_and_changes_nothing(
        self, loop: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        run, profile = loop.steps["plan"]

        assert run.code == 0, run.err
        assert run.lines == [
            f"PLANNED  {loop.finding_id}  ec2-instance-without-profile  {loop.arn}",
            PLAN_ONLY,
            "  plan:",
            f"    associate {loop.instance} with instance profile {demo.baseline_arn}",
            TO_APPLY,
        ]
        assert profile is None

    def test_apply_associates_the_baseline_profile_and_says_how_to_undo(
        self, loop: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        run, profile = loop.steps["apply"]

        assert run.code == 0, run.err
        assert run.lines == [
            f"APPLIED  {loop.finding_id}  ec2-instance-without-profile  {loop.arn}",
            f"  journal {loop.journal_id}: associate {loop.instance} with instance profile "
            f"{demo.baseline_arn} [verified]",
            f"  to undo: rolewarden restore {loop.journal_id} --apply",
        ]
        assert profile == BASELINE

    def test_journal_lists_the_change_and_the_person_who_made_it(
        self, loop: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        run, _profile = loop.steps["journal"]

        assert run.code == 0, run.err
        [line] = run.journal_rows
        assert line.split() == [
            loop.journal_id,
            "verified",
            "verified",  # its signature: the key `journal create-table` made verifies it
            "associate-instance-profile",
            loop.arn,
            "by",
            demo.caller,
        ]

    def test_journal_json_keeps_the_state_before_and_after(
        self, loop: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        run, _profile = loop.steps["journal json"]

        assert run.code == 0, run.err
        [entry] = json.loads(run.out)
        assert entry["journal_id"] == loop.journal_id
        assert entry["actor"] == demo.caller
        assert entry["finding_id"] == loop.finding_id
        assert entry["action"] == "associate-instance-profile"
        assert entry["state_before"] == {"instance_profile_arn": None}
        assert entry["state_after"] == {"instance_profile_arn": demo.baseline_arn}
        assert (entry["status"], entry["forced"], entry["restore_of"]) == ("verified", [], None)

    def test_restore_without_apply_plans_only(
        self, loop: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        run, profile = loop.steps["restore plan"]

        assert run.code == 0, run.err
        assert run.lines == [
            f"PLANNED  {loop.journal_id}  ec2-instance-without-profile  {loop.arn}",
            PLAN_ONLY,
            "  plan:",
            # what restore will do, from the signed state (not the stored summary)
            f"    restore: remove instance profile {demo.baseline_arn} from {loop.instance}",
            TO_APPLY,
        ]
        assert profile == BASELINE

    def test_restore_apply_puts_the_instance_back_and_journals_it(
        self, loop: SimpleNamespace
    ) -> None:
        run, profile = loop.steps["restore"]

        assert run.code == 0, run.err
        assert (
            run.lines[0] == f"RESTORED  {loop.journal_id}  ec2-instance-without-profile  {loop.arn}"
        )
        assert len(run.lines) == 2
        assert run.lines[1].endswith("[verified]")
        assert profile is None
        # And the journal holds the restore, and the change marked restored
        restore, original = loop.entries
        assert (original["journal_id"], original["status"]) == (loop.journal_id, "restored")
        assert restore["restore_of"] == loop.journal_id
        assert restore["state_after"] == {"instance_profile_arn": None}
        after, _profile = loop.steps["journal after"]
        assert f"(restore of {loop.journal_id})" in after.journal_rows[0]
        assert after.journal_rows[1].split()[:3] == [loop.journal_id, "restored", "verified"]

    def test_a_second_restore_has_nothing_to_do(self, loop: SimpleNamespace) -> None:
        run, profile = loop.steps["restore again"]

        assert run.code == 0, run.err
        assert run.lines == [
            f"NOTHING-TO-DO  {loop.journal_id}  ec2-instance-without-profile  {loop.arn}",
            "  - already restored",
        ]
        assert profile is None
        assert len(loop.entries) == 2  # no third entry


# --- 3. the outage guard, and --force -----------------------------------------------------


class TestOutageGuard:
    @pytest.fixture(scope="class")
    @classmethod
    def guarded(cls, demo: SimpleNamespace) -> SimpleNamespace:
        session, role_arn = demo.session, demo.account.shop_host_role_arn
        settings = {"journal_table": new_table(session, "forced-journal")}
        args = (
            "remediate",
            "--rule",
            ids.INSTANCE_ROLE_APP_PERMISSIONS,
            "--resource",
            role_arn,
            "--apply",
        )
        before = role_policies(session, "shop-ecs-host")
        planned = rolewarden(*args[:-1], **settings)
        after_plan = role_policies(session, "shop-ecs-host")
        refused = rolewarden(*args, **settings)
        after_refusal = role_policies(session, "shop-ecs-host")
        entries_after_refusal = journal_entries(session, "forced-journal")
        forced = rolewarden(*args, "--force", **settings)
        return SimpleNamespace(
            role_arn=role_arn,
            finding_id=expected_finding_id(ids.INSTANCE_ROLE_APP_PERMISSIONS, role_arn),
            before=before,
            planned=planned,
            after_plan=after_plan,
            refused=refused,
            after_refusal=after_refusal,
            entries_after_refusal=entries_after_refusal,
            forced=forced,
            after_force=role_policies(session, "shop-ecs-host"),
            journal=rolewarden("journal", **settings),
            journal_json=rolewarden("journal", "--output", "json", **settings),
        )

    @staticmethod
    def outage_reason(demo: SimpleNamespace) -> str:
        task = demo.account.orders_api_task_arn.rsplit("/", 1)[-1]
        return (
            "outage guard: these run without a task role on this role's hosts and use its "
            f"permissions today: task {task} (orders-api:1), service orders (orders-api:1); "
            "give their task definitions a task role first"
        )

    def test_apply_is_refused_naming_the_task_and_the_service(
        self, guarded: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        run = guarded.refused

        assert run.code == 1, run.err
        assert run.lines == [
            f"REFUSED  {guarded.finding_id}  instance-role-app-permissions  {guarded.role_arn}",
            f"  - blocked unless forced (--force): {self.outage_reason(demo)}",
            "  plan:",
            "    delete inline policy orders-table of role shop-ecs-host "
            "(its document is kept in the journal)",
            "    detach arn:aws:iam::aws:policy/AmazonS3FullAccess from role shop-ecs-host",
        ]
        assert guarded.after_refusal == guarded.before
        assert guarded.entries_after_refusal == []

    def test_its_plan_exits_3_with_the_same_refusal_and_changes_nothing(
        self, guarded: SimpleNamespace
    ) -> None:
        # Given the same fix, planned (no --apply)
        run = guarded.planned

        # Then exit 3, not 0 (a CI job must not read it as a plan it can apply) nor 1 (no
        # apply was refused), with the lines of the refusal; nothing changed
        assert run.code == 3, run.err
        assert run.lines == guarded.refused.lines
        assert guarded.after_plan == guarded.before

    def test_force_removes_the_application_policies(self, guarded: SimpleNamespace) -> None:
        run = guarded.forced

        assert run.code == 0, run.err
        assert run.lines[0] == (
            f"APPLIED  {guarded.finding_id}  instance-role-app-permissions  {guarded.role_arn}"
        )
        assert [line.endswith("[verified]") for line in run.lines[1:3]] == [True, True]
        assert run.lines[3].startswith("  to undo: rolewarden restore ")
        assert guarded.before == (
            sorted([ECS_AGENT_POLICY_ARN, "arn:aws:iam::aws:policy/AmazonS3FullAccess"]),
            ["orders-table"],
        )
        assert guarded.after_force == ([ECS_AGENT_POLICY_ARN], [])

    def test_the_journal_records_what_was_forced_and_keeps_the_inline_document(
        self, guarded: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        assert guarded.journal_json.code == 0, guarded.journal_json.err
        entries = json.loads(guarded.journal_json.out)
        assert sorted(entry["action"] for entry in entries) == [
            "delete-inline-policy",
            "detach-managed-policy",
        ]
        for entry in entries:
            assert entry["forced"] == [self.outage_reason(demo)]
            assert entry["actor"] == demo.caller
        [inline] = [entry for entry in entries if entry["action"] == "delete-inline-policy"]
        assert inline["state_before"] == {
            "document": policy_document(
                allow(
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                    [demo.account.orders_table_arn],
                )
            )
        }
        # And the table output marks both FORCED
        assert guarded.journal.code == 0
        rows = guarded.journal.journal_rows
        assert [line.endswith(" FORCED") for line in rows] == [True, True]


# --- 4. no journal ------------------------------------------------------------------------


class TestWithoutAJournal:
    def test_apply_without_a_journal_is_refused_and_changes_nothing(
        self, demo: SimpleNamespace
    ) -> None:
        # Given an instance without a profile (its exemption expired), and no journal set
        instance = demo.account.expired_exemption_instance_id
        arn = instance_arn(instance)

        # When a person applies its fix
        run = rolewarden(
            "remediate",
            "--rule",
            ids.EC2_INSTANCE_WITHOUT_PROFILE,
            "--resource",
            arn,
            "--apply",
            baseline_instance_profile=BASELINE,
        )

        # Then refused (exit 1), saying how to set a journal, with the plan; no change
        assert run.code == 1, run.err
        assert run.lines[:2] == [
            f"REFUSED  {expected_finding_id(ids.EC2_INSTANCE_WITHOUT_PROFILE, arn)}  "
            f"ec2-instance-without-profile  {arn}",
            NO_JOURNAL,
        ]
        assert run.lines[2:] == [
            "  plan:",
            f"    associate {instance} with instance profile {demo.baseline_arn}",
        ]
        assert profile_of(demo.session, instance) is None

    def test_journal_table_flag_stands_in_for_the_variable(self, demo: SimpleNamespace) -> None:
        # Given a journal table, named on the command line only
        table = new_table(demo.session, "flag-journal")
        arn = instance_arn(demo.flag_instance)

        # When applied with --journal-table (JSON output)
        run = rolewarden(
            "remediate",
            "--rule",
            ids.EC2_INSTANCE_WITHOUT_PROFILE,
            "--resource",
            arn,
            "--apply",
            "--journal-table",
            table,
            "--output",
            "json",
            baseline_instance_profile=BASELINE,
            journal_key=key_alias(table),
        )

        # Then applied and journaled in that table
        assert run.code == 0, run.err
        outcome = json.loads(run.out)
        assert (outcome["status"], outcome["resource_arn"]) == ("applied", arn)
        [entry] = outcome["journal"]
        assert entry["status"] == "verified"
        assert profile_of(demo.session, demo.flag_instance) == BASELINE
        assert [e["journal_id"] for e in journal_entries(demo.session, table)] == [
            entry["journal_id"]
        ]
        listed = rolewarden("journal", "--journal-table", table)
        assert listed.code == 0
        assert [line.split()[0] for line in listed.journal_rows] == [entry["journal_id"]]

    def test_journal_without_a_table_is_an_error(self, demo: SimpleNamespace) -> None:
        run = rolewarden("journal")

        assert run.code == 2
        assert run.error_line == (
            "rolewarden: no journal table: set ROLEWARDEN_JOURNAL_TABLE or pass --journal-table"
        )
        assert run.out == ""

    def test_journal_of_a_table_that_does_not_exist_is_an_error(
        self, demo: SimpleNamespace
    ) -> None:
        run = rolewarden("journal", "--journal-table", "no-such-journal")

        assert run.code == 2
        assert run.error_line.startswith("rolewarden: journal table no-such-journal: Scan: ")
        assert "ResourceNotFoundException" in run.error_line

    def test_a_journal_table_that_does_not_exist_fails_before_any_change(
        self, demo: SimpleNamespace
    ) -> None:
        # Given ROLEWARDEN_JOURNAL_TABLE naming a table that is not there
        instance = demo.account.expired_exemption_instance_id
        arn = instance_arn(instance)

        # When a fix is applied
        run = rolewarden(
            "remediate",
            "--rule",
            ids.EC2_INSTANCE_WITHOUT_PROFILE,
            "--resource",
            arn,
            "--apply",
            journal_table="no-such-journal",
            baseline_instance_profile=BASELINE,
        )

        # Then it failed (exit 2) on the journal, before touching the instance
        assert run.code == 2, run.err
        assert run.lines[0].startswith("FAILED  ")
        assert run.lines[1].startswith("  - journal table no-such-journal: PutItem: ")
        assert profile_of(demo.session, instance) is None

    def test_restore_without_a_journal_is_refused(self, demo: SimpleNamespace) -> None:
        run = rolewarden("restore", "20300101T000000Z-00000000", "--apply")

        assert run.code == 1, run.err
        assert run.lines == ["REFUSED  20300101T000000Z-00000000", NO_JOURNAL]

    def test_restore_of_an_unknown_journal_id_is_an_error(self, demo: SimpleNamespace) -> None:
        table = new_table(demo.session, "unknown-id-journal")

        run = rolewarden("restore", "20300101T000000Z-00000000", "--apply", journal_table=table)

        assert run.code == 2, run.err
        assert run.error_line == (
            "rolewarden: no journal entry 20300101T000000Z-00000000 in table unknown-id-journal "
            "(`rolewarden journal` lists them); nothing was restored"
        )
        assert run.out == ""

    def test_an_unknown_id_among_others_restores_none_of_them(self, demo: SimpleNamespace) -> None:
        # Given a change journaled: an instance given the baseline profile
        session = demo.session
        instance = launch_instance(session.client("ec2"), tags={"Name": "restore-typo"})
        settings = {
            "journal_table": new_table(session, "typo-journal"),
            "baseline_instance_profile": BASELINE,
        }
        fix = ("--rule", ids.EC2_INSTANCE_WITHOUT_PROFILE, "--resource", instance_arn(instance))
        journal_id = rolewarden("remediate", *fix, "--apply", **settings).undo_id()

        # When a person restores it and a mistyped second id
        run = rolewarden("restore", journal_id, journal_id[:-1] + "x", "--apply", **settings)

        # Then exit 2 naming the typo; the first change is not undone either
        assert run.code == 2, run.err
        assert f"no journal entry {journal_id[:-1]}x in table typo-journal" in run.error_line
        assert profile_of(session, instance) == BASELINE
        assert [e["status"] for e in journal_entries(session, "typo-journal")] == ["verified"]


# --- 5. the kill switch -------------------------------------------------------------------


def test_dry_run_turns_apply_into_a_plan(demo: SimpleNamespace) -> None:
    # Given ROLEWARDEN_DRY_RUN=true, a journal and a baseline profile (all else allows it)
    instance = demo.account.orphan_profile_instance_id
    arn = instance_arn(instance)
    table = new_table(demo.session, "dry-run-journal")

    # When a person applies the fix of an instance whose profile has no role
    run = rolewarden(
        "remediate",
        "--rule",
        ids.INSTANCE_PROFILE_WITHOUT_ROLE,
        "--resource",
        arn,
        "--apply",
        dry_run="true",
        journal_table=table,
        baseline_instance_profile=BASELINE,
    )

    # Then planned (exit 0), naming the kill switch and what a person decides, and nothing
    # changed or journaled
    assert run.code == 0, run.err
    assert run.lines == [
        f"PLANNED  {expected_finding_id(ids.INSTANCE_PROFILE_WITHOUT_ROLE, arn)}  "
        f"instance-profile-without-role  {arn}",
        KILL_SWITCH,
        "  - a person decides: the instance already has a profile: replacing it is a person's "
        "decision",
        "  plan:",
        f"    replace the profile of {instance} with {demo.baseline_arn}",
    ]
    assert profile_of(demo.session, instance) == "orphan-profile"
    assert journal_entries(demo.session, table) == []


# --- 6. usage errors ----------------------------------------------------------------------


class TestUsageErrors:
    @pytest.fixture(scope="class")
    @classmethod
    def target(cls, demo: SimpleNamespace) -> SimpleNamespace:
        """An instance whose fix --apply would make, and a journal that would record it."""
        arn = instance_arn(demo.usage_instance)
        return SimpleNamespace(
            arn=arn,
            finding_id=expected_finding_id(ids.EC2_INSTANCE_WITHOUT_PROFILE, arn),
            settings={
                "journal_table": new_table(demo.session, "usage-journal"),
                "baseline_instance_profile": BASELINE,
            },
        )

    @pytest.mark.parametrize(
        ("case", "expected"),
        [
            ("finding id and --rule", NOT_BOTH),
            ("--rule without --resource", TOGETHER),
            ("--resource without --rule", TOGETHER),
            (
                "an S3 bucket",
                "rolewarden: arn:aws:s3:::orders-exports is not an EC2 instance, IAM role, "
                "ECS task definition or ECS task (task ARNs in the long format: task/CLUSTER/ID)",
            ),
            ("not an ARN", "rolewarden: not an ARN: 'i-0123456789abcdef0'"),
            (
                "a role for an instance rule",
                "rolewarden: ec2-instance-without-profile judges AWS::EC2::Instance resources; "
                "arn:aws:iam::123456789012:role/shop-ecs-host is AWS::IAM::Role",
            ),
            ("a bad region", "rolewarden: not a region name: mars"),
            (
                "an instance id for a finding id",
                "rolewarden: not a finding id: 'i-0123456789abcdef0' (16 hex digits, as "
                "`rolewarden scan` prints them)",
            ),
        ],
    )
    def test_is_one_line_on_stderr_and_changes_nothing(
        self, case: str, expected: str, target: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        rule = ("--rule", ids.EC2_INSTANCE_WITHOUT_PROFILE)
        args = {
            "finding id and --rule": (target.finding_id, *rule),
            "--rule without --resource": rule,
            "--resource without --rule": ("--resource", target.arn),
            "an S3 bucket": (*rule, "--resource", "arn:aws:s3:::orders-exports"),
            "not an ARN": (*rule, "--resource", "i-0123456789abcdef0"),
            "a role for an instance rule": (
                *rule,
                "--resource",
                "arn:aws:iam::123456789012:role/shop-ecs-host",
            ),
            "a bad region": (target.finding_id, "--region", "mars"),
            "an instance id for a finding id": ("i-0123456789abcdef0",),
        }[case]

        run = rolewarden("remediate", *args, "--apply", **target.settings)

        assert run.code == 2, run.out
        assert run.error_line == expected
        assert run.out == ""
        assert profile_of(demo.session, demo.usage_instance) is None
        assert journal_entries(demo.session, "usage-journal") == []

    def test_an_unknown_rule_is_refused_by_the_parser(self, target: SimpleNamespace) -> None:
        with pytest.raises(SystemExit) as exited:
            rolewarden("remediate", "--rule", "no-such-rule", "--resource", target.arn)

        assert exited.value.code == 2

    def test_an_unknown_finding_id_no_longer_holds(
        self, target: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        run = rolewarden("remediate", "0000000000000000", "--apply", **target.settings)

        assert run.code == 0, run.err
        assert run.lines == [
            "NO-LONGER-HOLDS  0000000000000000",
            f"  - no open finding 0000000000000000 in {REGION} "
            "(fixed, exempt, deleted, or its rule is off)",
        ]
        assert journal_entries(demo.session, "usage-journal") == []


# --- 7. a task role for a task definition -------------------------------------------------


class TestTaskRole:
    @pytest.fixture(scope="class")
    @classmethod
    def done(cls, demo: SimpleNamespace) -> SimpleNamespace:
        """orders-api gets a revision (service untouched), inventory-api one and its service
        moved; then both are restored. The account after each step."""
        session, account = demo.session, demo.account
        settings = {"journal_table": new_table(session, "task-role-journal")}
        role = account.checkout_task_role_arn

        def state() -> dict[str, Any]:
            return {
                "orders": running(session, "shop", "orders"),
                "inventory": running(session, "payments", "inventory"),
                "orders-api": revisions(session, "orders-api"),
                "inventory-api": revisions(session, "inventory-api"),
            }

        orders = task_role_fix(account.orders_api_task_definition_arn, role, **settings)
        after_orders = state()
        inventory = task_role_fix(demo.inventory_td, role, "--update-service", **settings)
        after_inventory = state()
        restore = rolewarden(
            "restore", orders.undo_id(), inventory.undo_id(), "--apply", **settings
        )
        return SimpleNamespace(
            orders=orders,
            after_orders=after_orders,
            inventory=inventory,
            after_inventory=after_inventory,
            restore=restore,
            after_restore=state(),
        )

    def test_a_new_revision_gets_the_task_role_and_the_service_stays(
        self, done: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        old = demo.account.orders_api_task_definition_arn
        new = old.removesuffix(":1") + ":2"

        assert done.orders.code == 0, done.orders.err
        assert done.orders.lines[1].endswith(
            f": register a revision of {old} with task role "
            f"{demo.account.checkout_task_role_arn} [verified]"
        )
        assert done.after_orders["orders-api"] == {old: "ACTIVE", new: "ACTIVE"}
        assert task_role_of(demo.session, new) == demo.account.checkout_task_role_arn
        assert task_role_of(demo.session, old) is None
        assert done.after_orders["orders"] == old  # the service runs the old revision still

    def test_update_service_moves_the_service_to_the_new_revision(
        self, done: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        old = demo.inventory_td
        new = old.removesuffix(":1") + ":2"

        assert done.inventory.code == 0, done.inventory.err
        assert done.inventory.lines[1].endswith(
            f" and move {demo.inventory_service} to it [verified]"
        )
        assert done.after_inventory["inventory"] == new
        assert done.after_inventory["orders"] == demo.account.orders_api_task_definition_arn

    def test_restore_deregisters_the_revisions_and_moves_the_service_back(
        self, done: SimpleNamespace, demo: SimpleNamespace
    ) -> None:
        orders_old = demo.account.orders_api_task_definition_arn
        inventory_old = demo.inventory_td

        assert done.restore.code == 0, done.restore.err
        headlines = [line for line in done.restore.lines if line and not line.startswith(" ")]
        assert [line.split()[0] for line in headlines] == [
            "RESTORED",
            "RESTORED",
        ]
        assert done.after_restore["orders-api"] == {
            orders_old: "ACTIVE",
            orders_old.removesuffix(":1") + ":2": "INACTIVE",
        }
        assert done.after_restore["inventory-api"] == {
            inventory_old: "ACTIVE",
            inventory_old.removesuffix(":1") + ":2": "INACTIVE",
        }
        assert done.after_restore["inventory"] == inventory_old
        assert done.after_restore["orders"] == orders_old

    def test_without_a_task_role_it_fails_to_plan_and_changes_nothing(
        self, demo: SimpleNamespace
    ) -> None:
        # Given the reports definition and no --task-role
        definition = demo.account.reports_task_definition_arn

        # When applied
        run = rolewarden(
            "remediate",
            "--rule",
            ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE,
            "--resource",
            definition,
            "--apply",
            journal_table=new_table(demo.session, "no-role-journal"),
        )

        # Then refused (exit 1), asking for --task-role; no new revision
        assert run.code == 1, run.err
        assert run.lines[1] == "  - choose the task role: pass --task-role ARN (task_role_arn)"
        assert revisions(demo.session, "reports") == {definition: "ACTIVE"}

    def test_after_a_restore_the_fix_can_be_made_again(self, demo: SimpleNamespace) -> None:
        # Given a revision with the task role, registered and then restored (deregistered)
        definition = register_task_definition(demo.session.client("ecs"), "ledger-api")
        settings = {"journal_table": new_table(demo.session, "ledger-journal")}
        role = demo.account.checkout_task_role_arn
        first = task_role_fix(definition, role, **settings)
        assert rolewarden("restore", first.undo_id(), "--apply", **settings).code == 0

        # When a person applies the fix again
        again = task_role_fix(definition, role, **settings)

        # Then a new active revision has the task role
        assert again.lines[0].startswith("APPLIED"), again.out
        with_the_role = [
            arn
            for arn, status in revisions(demo.session, "ledger-api").items()
            if status == "ACTIVE"
            and task_role_of(demo.session, arn) == demo.account.checkout_task_role_arn
        ]
        assert with_the_role

    def test_update_service_after_the_revision_exists_moves_the_service(
        self, demo: SimpleNamespace
    ) -> None:
        # Given a revision with the task role registered without --update-service
        ecs = demo.session.client("ecs")
        definition = register_task_definition(ecs, "stock-api")
        create_service(ecs, "payments", "stock", definition)
        settings = {"journal_table": new_table(demo.session, "stock-journal")}
        role = demo.account.checkout_task_role_arn
        assert task_role_fix(definition, role, **settings).code == 0
        assert running(demo.session, "payments", "stock") == definition

        # When the person asks again, to move the service
        moved = task_role_fix(definition, role, "--update-service", **settings)

        # Then the service runs a revision with the task role
        assert moved.code == 0, moved.err
        now = running(demo.session, "payments", "stock")
        assert task_role_of(demo.session, now) == demo.account.checkout_task_role_arn, moved.out


# --- 8. the journal's signatures ----------------------------------------------------------


class TestJournalSignatures:
    TABLE = "signatures-journal"

    @pytest.fixture(scope="class")
    @classmethod
    def stored(cls, demo: SimpleNamespace) -> SimpleNamespace:
        """One entry RoleWarden signed, one written unsigned, one signed then edited in
        DynamoDB, one signed entry copied under another id: newest first in that order."""
        dynamodb = demo.session.client("dynamodb")
        create_table(dynamodb, cls.TABLE)
        journal = signed_journal(dynamodb, cls.TABLE)
        signed, unsigned, tampered, original = (
            listed_entry(f"2030-01-01T12:00:0{second}+00:00") for second in (4, 3, 2, 1)
        )
        journal.save(signed)
        dynamodb.put_item(TableName=cls.TABLE, Item=journal_module._item(unsigned))
        journal.save(tampered)
        item = dynamodb.get_item(TableName=cls.TABLE, Key=entry_key(tampered.journal_id))["Item"]
        edited = item["entry"]["S"].replace('"actor": "alice"', '"actor": "bob"')
        assert edited != item["entry"]["S"]
        dynamodb.update_item(
            TableName=cls.TABLE,
            Key=entry_key(tampered.journal_id),
            UpdateExpression="SET #entry = :entry",
            ExpressionAttributeNames={"#entry": "entry"},
            ExpressionAttributeValues={":entry": {"S": edited}},
        )
        journal.save(original)
        copy = dynamodb.get_item(TableName=cls.TABLE, Key=entry_key(original.journal_id))["Item"]
        copied = "20300101T120000Z-c0ffee00"
        dynamodb.put_item(TableName=cls.TABLE, Item=copy | entry_key(copied))
        return SimpleNamespace(
            verified=signed.journal_id,
            missing=unsigned.journal_id,
            invalid=tampered.journal_id,
            original=original.journal_id,
            copied=copied,
        )

    def expected(self, stored: SimpleNamespace) -> list[tuple[str, str]]:
        return [
            (stored.verified, "verified"),
            (stored.missing, "missing"),
            (stored.invalid, "invalid"),
            (stored.original, "verified"),
            (stored.copied, "invalid"),  # listed under the id restore takes, not the copy's
        ]

    def test_the_table_shows_each_entrys_signature(self, stored: SimpleNamespace) -> None:
        # When the journal is listed with its key
        run = rolewarden("journal", journal_table=self.TABLE)

        # Then each entry shows what its signature says, and nothing is said on stderr
        assert run.code == 0, run.err
        assert [(row.split()[0], row.split()[2]) for row in run.journal_rows] == self.expected(
            stored
        )
        assert run.err == ""

    def test_the_json_has_each_entrys_signature(self, stored: SimpleNamespace) -> None:
        run = rolewarden("journal", "--output", "json", journal_table=self.TABLE)

        assert run.code == 0, run.err
        listed = json.loads(run.out)
        assert [(e["journal_id"], e["signature"]) for e in listed] == self.expected(stored)
        # And the tampered entry is listed as it now reads: invalid says not to trust it
        assert [e["actor"] for e in listed if e["journal_id"] == stored.invalid] == ["bob"]

    def test_without_a_key_every_entry_is_unchecked_and_it_says_so_once(
        self, stored: SimpleNamespace
    ) -> None:
        # When the journal is listed without a journal key
        table = rolewarden("journal", journal_table=self.TABLE, journal_key="")
        data = rolewarden("journal", "--output", "json", journal_table=self.TABLE, journal_key="")

        # Then every entry is unchecked, and one line on stderr says why
        for run in (table, data):
            assert run.code == 0, run.err
            assert run.err.splitlines() == [
                "rolewarden: warning: no journal key (ROLEWARDEN_JOURNAL_KEY): signatures "
                "were not checked"
            ]
        assert {row.split()[2] for row in table.journal_rows} == {"unchecked"}
        assert {entry["signature"] for entry in json.loads(data.out)} == {"unchecked"}
        assert len(table.journal_rows) == len(self.expected(stored))

    def test_a_key_kms_cannot_use_is_an_error_not_a_verdict(self, stored: SimpleNamespace) -> None:
        # When the journal is listed with a key that does not exist
        run = rolewarden("journal", journal_table=self.TABLE, journal_key="alias/no-such-key")

        # Then exit 2, one line naming the key, and no entry is listed as anything
        assert run.code == 2
        assert run.error_line.startswith(
            f"rolewarden: journal table {self.TABLE}: VerifyMac: journal key alias/no-such-key: "
        )
        assert run.out == ""


def listed_entry(time: str) -> JournalEntry:
    when = datetime.fromisoformat(time)
    return JournalEntry(
        journal_id=new_journal_id(when),
        time=time,
        actor="alice",
        rule=ids.EC2_INSTANCE_WITHOUT_PROFILE,
        finding_id="0123456789abcdef",
        resource_arn=instance_arn("i-0123456789abcdef0"),
        account="123456789012",
        change=Change(
            "associate-instance-profile",
            REGION,
            {"instance_id": "i-0123456789abcdef0"},
            before={"instance_profile_arn": None},
            after={"instance_profile_arn": "arn:aws:iam::123456789012:instance-profile/x"},
            summary="associate i-0123456789abcdef0 with instance profile x",
        ),
        status=Status.VERIFIED,
    )


def entry_key(journal_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"entry#{journal_id}"}, "sk": {"S": "entry"}}


def table_policy(session: boto3.Session, table: str) -> dict[str, Any]:
    dynamodb = session.client("dynamodb")
    arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
    policy: dict[str, Any] = json.loads(dynamodb.get_resource_policy(ResourceArn=arn)["Policy"])
    return policy


def journal_policy(writer_arn: str, userid: str) -> dict[str, Any]:
    """template.yaml's JournalTable policy, with the CLI's caller as the writer."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TheWriterKeepsTheJournal",
                "Effect": "Allow",
                "Principal": {"AWS": writer_arn},
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:Scan",
                ],
                "Resource": "*",
            },
            {
                "Sid": "OnlyTheWriterWrites",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:PartiQLInsert",
                    "dynamodb:PartiQLUpdate",
                    "dynamodb:PartiQLDelete",
                ],
                "Resource": "*",
                "Condition": {"StringNotLike": {"aws:userid": userid}},
            },
        ],
    }


def written_only_by(writer_arn: str, userid: str) -> str:
    return (
        f"only {writer_arn} (aws:userid {userid}) may write its entries: the table's policy "
        "denies PutItem, UpdateItem, DeleteItem, BatchWriteItem, PartiQLInsert, "
        "PartiQLUpdate, PartiQLDelete to every other caller; remediate and restore as that "
        "caller"
    )


def caller_arn(session: boto3.Session) -> str:
    return str(session.client("sts").get_caller_identity()["Arn"])
