"""Every guard of design.md "Remediation and safety", in moto: what is refused, what a person
may force, and that a refusal changes nothing in the account (read back with boto3).

One moto account serves the module; each scenario builds its own resources (unique
names) and its own journal table. A request goes to a new RemediationService, as the CLI
and the remediate function make one per request, unless the scenario says otherwise.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functional.accounts import (
    ACCOUNT,
    APP_INLINE,
    ORDERS_TABLE,
    ORDERS_TABLE_POLICY,
    ecs_user_data,
    instance_arn,
    make_host,
    short,
)
from functional.accounts import make_role as build_role
from functional.journals import create_table, signed_journal
from functional.moto_stacks import (
    no_echo_parameters_hidden,
    role_policies_created,
    stacks_found_by_physical_id,
)
from rolewarden.aws.clients import AwsClients
from rolewarden.cli.remediation import render_outcome
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    ECS_TASKS_SERVICE,
    EXEMPT_REASON_TAG,
    EXEMPT_UNTIL_TAG,
    SSM_CORE_POLICY_ARN,
    create_cluster,
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
from rolewarden.evaluation.resource import evaluate_resource
from rolewarden.evaluation.scope import Scope
from rolewarden.notify.messages import remediation_notice
from rolewarden.remediation.automatic import InProcess, remediate_automatically
from rolewarden.remediation.journal import Journal, Status
from rolewarden.remediation.outcome import Outcome, OutcomeStatus
from rolewarden.remediation.remediator import Remediator
from rolewarden.remediation.request import Request
from rolewarden.remediation.service import RemediationService
from rolewarden.rules import ids
from rolewarden.rules.exemptions import EXEMPT_RULES_TAG
from rolewarden.rules.model import Finding
from rolewarden.settings import Settings

REGION = "us-east-1"
RULE_APP = ids.INSTANCE_ROLE_APP_PERMISSIONS
RULE_IMDS = ids.ECS_HOST_IMDS_EXPOSED
RULE_PROFILE = ids.EC2_INSTANCE_WITHOUT_PROFILE
RULE_TASK_DEFINITION = ids.ECS_TASK_DEFINITION_WITHOUT_TASK_ROLE
CLOUDFORMATION_STACK_TAG = "aws:cloudformation:stack-name"

PERSON = Request(actor="alice@example.com", apply=True)
PERSON_FORCING = Request(actor="alice@example.com", apply=True, force=True)
PLAN_ONLY = Request(actor="alice@example.com", apply=False)
AUTOMATIC = Request(actor="sweep", apply=True, automatic=True)
REMEDIATE_APP = {"rule_modes": {RULE_APP: "remediate"}}
REMEDIATE_IMDS = {"rule_modes": {RULE_IMDS: "remediate"}}

KILL_SWITCH = "ROLEWARDEN_DRY_RUN=true: this deployment is read-only; nothing was changed"
NO_JOURNAL = (
    "no journal: set ROLEWARDEN_JOURNAL_TABLE (or pass --journal-table); "
    "RoleWarden makes no change it could not undo"
)
OUTAGE_PREFIX = (
    "outage guard: these run without a task role on this role's hosts and use its "
    "permissions today: "
)
OUTAGE_SUFFIX = "; give their task definitions a task role first"


def utc_today() -> date:
    """Exemptions are judged against the real date (UTC, as RuleContext does)."""
    return datetime.now(UTC).date()


@dataclass
class Account:
    """The module's moto account, and what the tests read back from it."""

    session: boto3.Session
    clients: AwsClients
    tables: Iterator[int] = field(default_factory=itertools.count)

    def new_journal(self) -> Journal:
        dynamodb = self.clients.client("dynamodb")
        name = f"journal-{next(self.tables)}"
        create_table(dynamodb, name)
        return signed_journal(dynamodb, name)

    def service(
        self, journal: Journal | None, *, cli: bool = True, **settings: Any
    ) -> RemediationService:
        return RemediationService(self.clients, Settings(**settings), [REGION], journal, cli=cli)

    def remediate(
        self, rule: str, arn: str, request: Request, journal: Journal | None, **settings: Any
    ) -> Outcome:
        """One request to a new service, as the CLI and the remediate function make it."""
        return self.service(journal, **settings).by_resource(rule, arn, request)

    def finding(self, rule: str, arn: str, **settings: Any) -> Finding:
        """The finding as the event and sweep paths hand it to automatic remediation."""
        scope = Scope(ACCOUNT, "aws", REGION, (REGION,))
        context = Settings(**settings).rule_context()
        verdict = evaluate_resource(self.clients, scope, context, rule, arn)
        assert verdict.finding is not None, verdict.reason
        return verdict.finding

    # Building

    def host_role(self, name: str, **kwargs: Any) -> str:
        """An ECS host role (ECS agent policy) behind a profile, with an application policy."""
        kwargs.setdefault("inline", APP_INLINE)
        arn, _role_id, _profile = build_role(self.session, name, **kwargs)
        return arn

    # Reading back

    def inline_policies(self, role: str) -> list[str]:
        return list(self.session.client("iam").list_role_policies(RoleName=role)["PolicyNames"])

    def attached_policies(self, role: str) -> list[str]:
        attached = self.session.client("iam").list_attached_role_policies(RoleName=role)
        return sorted(policy["PolicyArn"] for policy in attached["AttachedPolicies"])

    def metadata(self, instance_id: str) -> dict[str, Any]:
        ec2 = self.session.client("ec2")
        [reservation] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        options = reservation["Instances"][0]["MetadataOptions"]
        return {name: options[name] for name in ("HttpTokens", "HttpPutResponseHopLimit")}

    def profile_of(self, instance_id: str) -> str | None:
        ec2 = self.session.client("ec2")
        [reservation] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        profile = reservation["Instances"][0].get("IamInstanceProfile")
        return str(profile["Arn"]) if profile else None

    def revisions(self, family: str) -> list[str]:
        ecs = self.session.client("ecs")
        return list(ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"])


@pytest.fixture(scope="module")
def account(moto_account: Any) -> Iterator[Account]:
    with moto_account() as session:
        yield Account(session, AwsClients(session, home_region=REGION))


@pytest.fixture
def journal(account: Account) -> Journal:
    """A journal table of the test's own: entries, restore markers and the hourly counter."""
    return account.new_journal()


def unique(name: str, journal: Journal) -> str:
    """A resource name of this test's own (parametrized tests share the account)."""
    return f"{name}-{journal.table}"


def assert_refused(outcome: Outcome, reasons: list[str]) -> None:
    assert (outcome.status, outcome.reasons, outcome.journal) == (
        OutcomeStatus.REFUSED,
        reasons,
        [],
    )


def assert_applied(outcome: Outcome, journal: Journal, *, forced: list[str]) -> None:
    """Applied, and the journal (read back) holds each change, verified, with what was forced."""
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reasons
    assert outcome.journal
    for entry in outcome.journal:
        stored = journal.get(entry.journal_id)
        assert stored is not None
        assert (stored.status, stored.forced) == (Status.VERIFIED, forced)


class TestNeverChanged:
    @pytest.mark.parametrize(
        ("name", "options", "reason"),
        [
            (
                "never-protected-host",
                {"tags": {"rolewarden:protected": "true"}},
                "protected: tagged rolewarden:protected",
            ),
            (
                "never-cased-host",
                {"tags": {"RoleWarden:Protected": "yes"}},
                'protected: tagged "RoleWarden:Protected" (taken as rolewarden:protected; '
                "probable typo)",
            ),
            (
                "never-linked-host",
                {"path": "/aws-service-role/ecs.amazonaws.com/"},
                "service-linked role: AWS manages its policies",
            ),
            (
                "never-own-role",
                {"tags": {"rolewarden:component": "remediate"}},
                "RoleWarden's own role",
            ),
        ],
        ids=["protected", "protected-any-case", "service-linked", "rolewarden-own"],
    )
    @pytest.mark.parametrize(
        "request_", [PERSON, PERSON_FORCING, AUTOMATIC], ids=["person", "forced", "automatic"]
    )
    def test_protected_service_linked_and_own_roles_are_refused_even_when_forced(
        self,
        account: Account,
        journal: Journal,
        name: str,
        options: dict[str, Any],
        reason: str,
        request_: Request,
    ) -> None:
        # Given an ECS host role with an application policy that RoleWarden never changes
        role = unique(name, journal)
        arn = account.host_role(role, **options)

        # When a person applies it (forcing or not), or RoleWarden does in remediate mode
        outcome = account.remediate(RULE_APP, arn, request_, journal, **REMEDIATE_APP)

        # Then it is refused, saying why, and the role still holds its policies
        assert_refused(outcome, [f"never changed: {reason}"])
        assert account.inline_policies(role) == ["orders-table"]
        assert account.attached_policies(role) == [ECS_AGENT_POLICY_ARN]
        assert journal.entries() == []


class TestExemptions:
    def test_valid_exemption_means_the_finding_no_longer_holds(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role exempt until the last day ROLEWARDEN_MAX_EXEMPTION_DAYS allows
        until = (utc_today() + timedelta(days=30)).isoformat()
        role = "exempt-valid-host"
        arn = account.host_role(
            role, tags={EXEMPT_UNTIL_TAG: until, EXEMPT_REASON_TAG: "migration, CHG-7"}
        )

        # When a person applies it, even forcing
        outcome = account.remediate(RULE_APP, arn, PERSON_FORCING, journal, max_exemption_days=30)

        # Then the finding no longer holds (accepted risk), and nothing changed
        assert outcome.status is OutcomeStatus.NO_LONGER_HOLDS
        assert outcome.reasons == [f"NOT_APPLICABLE: exempt until {until}: migration, CHG-7"]
        assert account.inline_policies(role) == ["orders-table"]
        assert journal.entries() == []

    @pytest.mark.parametrize(
        ("kind", "until"),
        [
            ("expired", -1),  # days from today
            ("malformed", "next quarter"),
            ("too-long", 31),  # one day beyond ROLEWARDEN_MAX_EXEMPTION_DAYS=30
        ],
        ids=["expired", "malformed", "too-long"],
    )
    def test_expired_malformed_or_too_long_exemption_does_not_exempt(
        self, account: Account, journal: Journal, kind: str, until: int | str
    ) -> None:
        # Given a host role whose exemption does not count, as its finding says
        if isinstance(until, int):
            until = (utc_today() + timedelta(days=until)).isoformat()
        role = f"exempt-{kind}-host"
        arn = account.host_role(
            role, tags={EXEMPT_UNTIL_TAG: until, EXEMPT_REASON_TAG: "migration, CHG-7"}
        )
        found = account.finding(RULE_APP, arn, max_exemption_days=30)
        assert found.evidence["exemption"]["status"] == kind

        # When a person applies it (no force)
        outcome = account.remediate(RULE_APP, arn, PERSON, journal, max_exemption_days=30)

        # Then the remediation goes ahead: the application policy is gone
        assert_applied(outcome, journal, forced=[])
        assert account.inline_policies(role) == []
        assert account.attached_policies(role) == [ECS_AGENT_POLICY_ARN]

    def test_an_exemption_of_one_rule_blocks_that_rule_only(
        self, account: Account, journal: Journal
    ) -> None:
        # Given an ECS host without a profile allowing IMDSv1, exempt for ecs-host-imds-exposed
        # only, and a baseline profile configured
        ec2, ecs = account.session.client("ec2"), account.session.client("ecs")
        _arn, _id, profile_arn = build_role(
            account.session, unique("baseline", journal), managed=(SSM_CORE_POLICY_ARN,)
        )
        cluster = unique("exempt-imds", journal)
        create_cluster(ecs, cluster)
        until = (utc_today() + timedelta(days=30)).isoformat()
        exemption = {EXEMPT_UNTIL_TAG: until, EXEMPT_REASON_TAG: "vendor appliance, SEC-142"}
        instance = launch_instance(
            ec2, http_tokens="optional", tags={**exemption, EXEMPT_RULES_TAG: RULE_IMDS}
        )
        register_container_instance(ecs, ec2, cluster, instance)
        settings = {"baseline_instance_profile": unique("baseline", journal)}

        # When a person enforces IMDSv2 on it, even forcing
        imds = account.remediate(
            RULE_IMDS, instance_arn(instance), PERSON_FORCING, journal, **settings
        )

        # Then that finding no longer holds (accepted risk), and the metadata options stay
        assert imds.status is OutcomeStatus.NO_LONGER_HOLDS
        assert imds.reasons == [f"NOT_APPLICABLE: exempt until {until}: vendor appliance, SEC-142"]
        assert account.metadata(instance) == {
            "HttpTokens": "optional",
            "HttpPutResponseHopLimit": 1,
        }

        # When the person associates the baseline profile (another rule, not exempt)
        profile = account.remediate(
            RULE_PROFILE, instance_arn(instance), PERSON, journal, **settings
        )

        # Then it is applied: the exemption does not reach that rule
        assert_applied(profile, journal, forced=[])
        assert account.profile_of(instance) == profile_arn


class TestBlockedUnlessForced:
    def test_mixed_aws_managed_policy_is_refused_unless_a_person_forces_it(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role with an AWS managed policy granting SSM (baseline) and S3: AWS
        # managed policies cannot be split (customer ones are, see test_split_mixed_policy)
        mixed_arn = "arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM"
        role = "forced-mixed-host"
        arn = account.host_role(role, managed=(ECS_AGENT_POLICY_ARN, mixed_arn), inline={})
        reason = (
            "mixed policy grants baseline and application actions (removing it would stop the "
            "ECS agent): AmazonEC2RoleforSSM; split it as proposed (an AWS managed policy "
            "cannot be edited: attach the baseline-only document as a policy of your own)"
        )

        # When a person applies it without --force
        refused = account.remediate(RULE_APP, arn, PERSON, journal)

        # Then it is refused, and the policy is still attached
        assert_refused(refused, [f"blocked unless forced (--force): {reason}"])
        assert account.attached_policies(role) == sorted([ECS_AGENT_POLICY_ARN, mixed_arn])
        assert journal.entries() == []

        # When the person forces it
        forced = account.remediate(RULE_APP, arn, PERSON_FORCING, journal)

        # Then it is detached, and the journal says which guard was overridden
        assert_applied(forced, journal, forced=[reason])
        assert account.attached_policies(role) == [ECS_AGENT_POLICY_ARN]

    def test_task_without_task_role_on_the_host_blocks_removal_unless_forced(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host (IMDSv1) running a bridge task without a task role
        ecs = account.session.client("ecs")
        create_cluster(ecs, "outage-task")
        host = make_host(
            account.session,
            "outage-task-host",
            cluster="outage-task",
            inline=APP_INLINE,
            http_tokens="optional",
            hop_limit=2,
        )
        definition = register_task_definition(ecs, "outage-task-api")
        task = run_task(
            ecs, "outage-task", definition, container_instance_arn=host.container_instance_arn
        )
        reason = f"{OUTAGE_PREFIX}task {short(task)} (outage-task-api:1){OUTAGE_SUFFIX}"

        # When a person removes the host role's application policy without --force
        refused = account.remediate(RULE_APP, host.role_arn, PERSON, journal)

        # Then it is refused naming the task, and the policy is still there
        assert_refused(refused, [f"blocked unless forced (--force): {reason}"])
        assert account.inline_policies(host.role_name) == ["orders-table"]
        assert journal.entries() == []

        # When the person forces it / Then it is removed, and the journal says it was forced
        forced = account.remediate(RULE_APP, host.role_arn, PERSON_FORCING, journal)
        assert_applied(forced, journal, forced=[reason])
        assert account.inline_policies(host.role_name) == []

    def test_service_without_task_role_on_the_cluster_blocks_removal_unless_forced(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host (IMDSv2, hop limit 1) whose cluster runs an EC2 service without task role
        ecs = account.session.client("ecs")
        create_cluster(ecs, "outage-service")
        host = make_host(
            account.session, "outage-service-host", cluster="outage-service", inline=APP_INLINE
        )
        definition = register_task_definition(ecs, "outage-service-api")
        create_service(ecs, "outage-service", "outage-orders", definition)
        reason = f"{OUTAGE_PREFIX}service outage-orders (outage-service-api:1){OUTAGE_SUFFIX}"

        # When a person removes the host role's application policy without --force
        refused = account.remediate(RULE_APP, host.role_arn, PERSON, journal)

        # Then it is refused naming the service, and the policy is still there
        assert_refused(refused, [f"blocked unless forced (--force): {reason}"])
        assert account.inline_policies(host.role_name) == ["orders-table"]
        assert journal.entries() == []

        # When the person forces it / Then it is removed, and the journal says it was forced
        forced = account.remediate(RULE_APP, host.role_arn, PERSON_FORCING, journal)
        assert_applied(forced, journal, forced=[reason])
        assert account.inline_policies(host.role_name) == []

    def test_imdsv2_on_a_host_running_a_bridge_task_without_task_role_unless_forced(
        self, account: Account, journal: Journal
    ) -> None:
        # Given an ECS host allowing IMDSv1 (hop limit 2) that runs a bridge task without role
        ecs = account.session.client("ecs")
        create_cluster(ecs, "outage-imds")
        host = make_host(
            account.session,
            "outage-imds-host",
            cluster="outage-imds",
            http_tokens="optional",
            hop_limit=2,
        )
        definition = register_task_definition(ecs, "outage-imds-api")
        task = run_task(
            ecs, "outage-imds", definition, container_instance_arn=host.container_instance_arn
        )
        reason = (
            "outage guard: bridge-mode tasks without a task role use this host's credentials: "
            f"task {short(task)} (outage-imds-api:1); give their task definitions a task role first"
        )

        # When a person enforces IMDSv2 without --force
        refused = account.remediate(RULE_IMDS, host.instance_arn, PERSON, journal)

        # Then it is refused naming the task, and the metadata options are unchanged
        assert_refused(refused, [f"blocked unless forced (--force): {reason}"])
        assert account.metadata(host.instance_id) == {
            "HttpTokens": "optional",
            "HttpPutResponseHopLimit": 2,
        }
        assert journal.entries() == []

        # When the person forces it / Then IMDSv2 is required, and the journal says so;
        # the hop limit stays 2, what the task needs to keep its credentials with IMDSv2
        forced = account.remediate(RULE_IMDS, host.instance_arn, PERSON_FORCING, journal)
        assert_applied(forced, journal, forced=[reason])
        assert account.metadata(host.instance_id) == {
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 2,
        }

    def test_guards_that_allow_force_still_refuse_automatic_remediation(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host whose cluster runs an EC2 service without a task role
        ecs = account.session.client("ecs")
        create_cluster(ecs, "outage-auto")
        host = make_host(
            account.session, "outage-auto-host", cluster="outage-auto", inline=APP_INLINE
        )
        definition = register_task_definition(ecs, "outage-auto-api")
        create_service(ecs, "outage-auto", "outage-auto-orders", definition)

        # When RoleWarden remediates it on its own, in remediate mode, even asked to force
        automatic_forcing = Request(actor="sweep", apply=True, automatic=True, force=True)
        outcome = account.remediate(
            RULE_APP, host.role_arn, automatic_forcing, journal, **REMEDIATE_APP
        )

        # Then it is refused: forcing is a person's decision
        assert_refused(
            outcome,
            [
                "not automatic: "
                f"{OUTAGE_PREFIX}service outage-auto-orders (outage-auto-api:1){OUTAGE_SUFFIX}"
            ],
        )
        assert account.inline_policies(host.role_name) == ["orders-table"]


class TestNotAutomatic:
    def test_cloudformation_managed_role_is_left_to_a_person(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role created by a CloudFormation stack, the rule in remediate mode
        role = "stack-host"
        arn = account.host_role(role, tags={CLOUDFORMATION_STACK_TAG: "shop-hosts"})

        # When RoleWarden remediates it on its own
        automatic = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)

        # Then it is refused (the stack would put it back), and nothing changed
        assert_refused(
            automatic,
            [
                "not automatic: managed by CloudFormation stack shop-hosts: fix the template, "
                "or the stack puts it back"
            ],
        )
        assert account.inline_policies(role) == ["orders-table"]
        assert journal.entries() == []

        # When a person applies it (no force) / Then it is removed
        manual = account.remediate(RULE_APP, arn, PERSON, journal, **REMEDIATE_APP)
        assert_applied(manual, journal, forced=[])
        assert account.inline_policies(role) == []

    def test_cloudformation_managed_instance_is_left_to_a_person(
        self, account: Account, journal: Journal
    ) -> None:
        # Given an ECS host allowing IMDSv1, launched by a CloudFormation stack
        create_cluster(account.session.client("ecs"), "stack-imds")
        host = make_host(
            account.session,
            "stack-imds-host",
            cluster="stack-imds",
            http_tokens="optional",
            instance_tags={CLOUDFORMATION_STACK_TAG: "shop-hosts"},
        )

        # When RoleWarden enforces IMDSv2 on its own, in remediate mode
        automatic = account.remediate(
            RULE_IMDS, host.instance_arn, AUTOMATIC, journal, **REMEDIATE_IMDS
        )

        # Then it is refused, and the metadata options are unchanged
        assert_refused(
            automatic,
            [
                "not automatic: managed by CloudFormation stack shop-hosts: fix the template, "
                "or the stack puts it back"
            ],
        )
        assert account.metadata(host.instance_id)["HttpTokens"] == "optional"

        # When a person applies it / Then IMDSv2 is required
        manual = account.remediate(RULE_IMDS, host.instance_arn, PERSON, journal, **REMEDIATE_IMDS)
        assert_applied(manual, journal, forced=[])
        assert account.metadata(host.instance_id) == {
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 1,
        }

    def test_role_of_a_plain_ec2_application_in_scope_all_is_left_to_a_person(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a plain EC2 application's role (no ECS agent policy, instance not registered)
        role = "plain-reporting-app"
        arn, _role_id, profile = build_role(
            account.session, role, managed=(), inline={"orders-table": ORDERS_TABLE_POLICY}
        )
        launch_instance(account.session.client("ec2"), profile_arn=profile)
        settings = {"instance_role_scope": "all", **REMEDIATE_APP}

        # When RoleWarden remediates it on its own, scope all, remediate mode
        automatic = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **settings)

        # Then it is refused: these may be the application's own permissions
        assert_refused(
            automatic,
            ["not automatic: not an ECS host role: these may be the application's own permissions"],
        )
        assert account.inline_policies(role) == ["orders-table"]
        assert journal.entries() == []

        # When a person applies it / Then it is removed
        manual = account.remediate(RULE_APP, arn, PERSON, journal, **settings)
        assert_applied(manual, journal, forced=[])
        assert account.inline_policies(role) == []


class TestRestoreGrace:
    def apply_and_restore(self, account: Account, journal: Journal, arn: str) -> str:
        """A person applies the remediation and restores it; the restore's journal id."""
        applied = account.remediate(RULE_APP, arn, PERSON, journal)
        assert_applied(applied, journal, forced=[])
        [entry] = applied.journal
        restored = account.service(journal).restore(entry.journal_id, PERSON)
        assert restored.status is OutcomeStatus.RESTORED, restored.reasons
        [restore] = restored.journal
        return restore.journal_id

    def test_resource_restored_within_the_grace_is_not_remediated_automatically(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role whose remediation a person applied and then restored
        role = "grace-host"
        arn = account.host_role(role)
        restore_id = self.apply_and_restore(account, journal, arn)
        assert account.inline_policies(role) == ["orders-table"]

        # When RoleWarden remediates it on its own, in remediate mode
        automatic = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)

        # Then it is refused naming the restore and the grace, and nothing changed
        assert_refused(
            automatic,
            [
                f"restored less than 24 hours ago (journal {restore_id}, "
                "ROLEWARDEN_RESTORE_GRACE_HOURS): a person decides"
            ],
        )
        assert account.inline_policies(role) == ["orders-table"]
        assert len(journal.entries()) == 2  # the change and its restore

        # When a person applies it again / Then it is removed
        manual = account.remediate(RULE_APP, arn, PERSON, journal, **REMEDIATE_APP)
        assert_applied(manual, journal, forced=[])
        assert account.inline_policies(role) == []

    def test_without_a_grace_automatic_remediation_goes_ahead_after_a_restore(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role restored just now, and ROLEWARDEN_RESTORE_GRACE_HOURS=0
        role = "no-grace-host"
        arn = account.host_role(role)
        self.apply_and_restore(account, journal, arn)

        # When RoleWarden remediates it on its own
        automatic = account.remediate(
            RULE_APP, arn, AUTOMATIC, journal, restore_grace_hours=0, **REMEDIATE_APP
        )

        # Then the policy is removed
        assert_applied(automatic, journal, forced=[])
        assert account.inline_policies(role) == []


class TestCaps:
    def test_cap_per_run_leaves_the_rest_unchanged(
        self, account: Account, journal: Journal
    ) -> None:
        # Given three remediable host roles and ROLEWARDEN_MAX_REMEDIATIONS_PER_RUN=2
        roles = ["run-cap-host-1", "run-cap-host-2", "run-cap-host-3"]
        findings = [
            account.finding(RULE_APP, account.host_role(role), **REMEDIATE_APP) for role in roles
        ]
        settings = Settings(max_remediations_per_run=2, **REMEDIATE_APP)
        remediator = Remediator(account.clients, settings, journal, ACCOUNT)

        # When the sweep hands them over for automatic remediation
        results = remediate_automatically(
            findings, settings, InProcess(remediator.remediate), actor="sweep"
        )

        # Then two are changed and the third is refused naming the cap
        assert [result["status"] for result in results] == ["applied", "applied", "refused"]
        assert results[2] == {
            "status": "refused",
            "finding_id": findings[2].finding_id,
            "reasons": [
                "cap per run reached (2, ROLEWARDEN_MAX_REMEDIATIONS_PER_RUN): "
                "notified, not changed"
            ],
        }
        # And the account shows exactly that
        assert [account.inline_policies(role) for role in roles] == [[], [], ["orders-table"]]
        assert sorted(entry.resource_arn for entry in journal.entries()) == sorted(
            finding.resource_arn for finding in findings[:2]
        )

    def test_cap_per_hour_is_shared_by_every_invocation(
        self, account: Account, journal: Journal
    ) -> None:
        # Given two remediable host roles, ROLEWARDEN_MAX_REMEDIATIONS_PER_HOUR=1, and two
        # invocations (Remediators) sharing one journal table
        settings = Settings(max_remediations_per_hour=1, **REMEDIATE_APP)
        first, second = "hour-cap-host-1", "hour-cap-host-2"
        first_finding = account.finding(RULE_APP, account.host_role(first), **REMEDIATE_APP)
        second_finding = account.finding(RULE_APP, account.host_role(second), **REMEDIATE_APP)

        # When the first invocation remediates one and the second the other, automatically
        applied = Remediator(account.clients, settings, journal, ACCOUNT).remediate(
            first_finding, AUTOMATIC
        )
        capped = Remediator(account.clients, settings, journal, ACCOUNT).remediate(
            second_finding, AUTOMATIC
        )

        # Then the first is changed, the second refused naming the cap, and left as it was
        assert_applied(applied, journal, forced=[])
        assert_refused(
            capped,
            [
                "hourly cap reached (1 automatic remediations, "
                "ROLEWARDEN_MAX_REMEDIATIONS_PER_HOUR): notified, not changed"
            ],
        )
        assert account.inline_policies(first) == []
        assert account.inline_policies(second) == ["orders-table"]
        assert [entry.resource_arn for entry in journal.entries()] == [first_finding.resource_arn]


class TestModes:
    def test_rule_in_notify_mode_is_not_remediated_automatically_but_a_person_may(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role, and the rule in notify mode (the default)
        role = "notify-host"
        arn = account.host_role(role)

        # When RoleWarden remediates it on its own
        automatic = account.remediate(RULE_APP, arn, AUTOMATIC, journal)

        # Then it is refused, and nothing changed
        assert_refused(automatic, [f"rule {RULE_APP} is in notify mode: notified, not changed"])
        assert account.inline_policies(role) == ["orders-table"]
        assert journal.entries() == []

        # When a person applies it / Then it is removed
        manual = account.remediate(RULE_APP, arn, PERSON, journal)
        assert_applied(manual, journal, forced=[])
        assert account.inline_policies(role) == []

    @pytest.mark.parametrize(
        "request_", [AUTOMATIC, PERSON, PERSON_FORCING], ids=["automatic", "person", "forced"]
    )
    def test_rule_off_is_refused_for_everyone(
        self, account: Account, journal: Journal, request_: Request
    ) -> None:
        # Given a host role, and the rule off
        role = unique("off-host", journal)
        arn = account.host_role(role)

        # When anyone remediates it
        outcome = account.remediate(RULE_APP, arn, request_, journal, rule_modes={RULE_APP: "off"})

        # Then it is refused, and nothing changed
        assert_refused(outcome, [f"rule {RULE_APP} is off (ROLEWARDEN_RULE_MODES)"])
        assert account.inline_policies(role) == ["orders-table"]
        assert journal.entries() == []


class TestReadOnly:
    def planned_change(self, role: str) -> dict[str, Any]:
        return {
            "action": "delete-inline-policy",
            "region": REGION,
            "target": {"role_name": role, "policy_name": "orders-table"},
            "before": {"document": ORDERS_TABLE_POLICY},
            "after": {"document": None},
            "summary": f"delete inline policy orders-table of role {role} "
            "(its document is kept in the journal)",
        }

    def test_plan_lists_the_changes_and_changes_nothing(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role with an application policy
        role = "plan-host"
        arn = account.host_role(role)

        # When a person asks for the plan (no --apply)
        outcome = account.remediate(RULE_APP, arn, PLAN_ONLY, journal)

        # Then the plan lists the exact change, with the document the journal would keep
        assert outcome.status is OutcomeStatus.PLANNED
        assert outcome.reasons == ["plan only: nothing was changed (apply to change)"]
        assert outcome.as_json()["plan"] == [self.planned_change(role)]
        # And nothing changed
        assert account.inline_policies(role) == ["orders-table"]
        assert journal.entries() == []

    @pytest.mark.parametrize(
        "request_", [PERSON, PERSON_FORCING, AUTOMATIC], ids=["person", "forced", "automatic"]
    )
    def test_kill_switch_overrides_apply_and_says_so(
        self, account: Account, journal: Journal, request_: Request
    ) -> None:
        # Given a host role, and ROLEWARDEN_DRY_RUN=true (the rule in remediate mode)
        role = unique("kill-switch-host", journal)
        arn = account.host_role(role)

        # When it is applied
        outcome = account.remediate(RULE_APP, arn, request_, journal, dry_run=True, **REMEDIATE_APP)

        # Then only the plan comes back, naming the kill switch, and nothing changed
        assert outcome.status is OutcomeStatus.PLANNED
        assert outcome.reasons == [KILL_SWITCH]
        assert outcome.as_json()["plan"] == [self.planned_change(role)]
        assert account.inline_policies(role) == ["orders-table"]
        assert journal.entries() == []

    def test_no_journal_no_change(self, account: Account) -> None:
        # Given a host role, and no journal table configured
        role = "no-journal-host"
        arn = account.host_role(role)

        # When a person applies it
        outcome = account.remediate(RULE_APP, arn, PERSON, None)

        # Then it is refused: RoleWarden makes no change it could not undo
        assert_refused(outcome, [NO_JOURNAL])
        assert account.inline_policies(role) == ["orders-table"]


class TestAlreadyDone:
    def test_same_finding_delivered_twice_changes_nothing_the_second_time(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a remediable host role's finding, remediated automatically once
        role = "twice-host"
        found = account.finding(RULE_APP, account.host_role(role), **REMEDIATE_APP)
        remediator = Remediator(account.clients, Settings(**REMEDIATE_APP), journal, ACCOUNT)
        assert_applied(remediator.remediate(found, AUTOMATIC), journal, forced=[])

        # When the same finding arrives again (a duplicate delivery)
        again = remediator.remediate(found, AUTOMATIC)

        # Then there is nothing to do, and the journal holds the one change
        assert again.status is OutcomeStatus.NOTHING_TO_DO
        assert again.reasons == ["already remediated: nothing to change"]
        assert (again.plan, again.journal) == ([], [])
        assert len(journal.entries()) == 1

    def test_second_apply_by_a_person_finds_the_finding_gone(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role whose remediation a person applied
        role = "second-apply-host"
        arn = account.host_role(role)
        assert_applied(account.remediate(RULE_APP, arn, PERSON, journal), journal, forced=[])

        # When the person applies it again
        again = account.remediate(RULE_APP, arn, PERSON, journal)

        # Then the role is judged again: compliant, nothing to act on
        assert again.status is OutcomeStatus.NO_LONGER_HOLDS
        assert again.reasons == ["COMPLIANT: grants only infrastructure baseline actions"]
        assert len(journal.entries()) == 1

    def test_finding_fixed_by_hand_no_longer_holds(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role whose application policy someone deleted by hand
        role = "by-hand-host"
        arn = account.host_role(role)
        account.session.client("iam").delete_role_policy(RoleName=role, PolicyName="orders-table")

        # When a person applies the remediation
        outcome = account.remediate(RULE_APP, arn, PERSON, journal)

        # Then the finding no longer holds, and nothing is journaled
        assert outcome.status is OutcomeStatus.NO_LONGER_HOLDS
        assert outcome.reasons == ["COMPLIANT: grants only infrastructure baseline actions"]
        assert outcome.subject.as_json() == {"rule": RULE_APP, "resource_arn": arn}
        assert journal.entries() == []

    def test_one_service_judges_the_role_again_on_every_request(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a person planned a host role's remediation with a service
        role = "stale-verdict-host"
        arn = account.host_role(role)
        service = account.service(journal)
        assert service.by_resource(RULE_APP, arn, PLAN_ONLY).status is OutcomeStatus.PLANNED
        # and then someone deleted the application policy by hand
        account.session.client("iam").delete_role_policy(RoleName=role, PolicyName="orders-table")

        # When the person applies it through the same service
        outcome = service.by_resource(RULE_APP, arn, PERSON)

        # Then the role is judged again: the finding no longer holds
        assert outcome.status is OutcomeStatus.NO_LONGER_HOLDS


class TestActions:
    def awsvpc_host(self, account: Account, name: str, **options: Any) -> tuple[str, str]:
        """A host alone in its cluster (user data without ECS_AWSVPC_BLOCK_IMDS), running an
        awsvpc task that has a task role: (instance id, instance ARN)."""
        ec2, ecs = account.session.client("ec2"), account.session.client("ecs")
        create_cluster(ecs, name)
        host = make_host(
            account.session,
            f"{name}-host",
            cluster=name,
            user_data=ecs_user_data(name, block_imds_for_awsvpc=False),
            **options,
        )
        task_role = create_role(
            account.session.client("iam"), f"{name}-task", trust_service=ECS_TASKS_SERVICE
        )
        definition = register_task_definition(
            ecs, f"{name}-api", network_mode="awsvpc", task_role_arn=task_role
        )
        subnet = default_subnet(ec2)
        run_task(
            ecs,
            name,
            definition,
            container_instance_arn=host.container_instance_arn,
            subnet_id=subnet,
            security_group_ids=[default_security_group(ec2, subnet)],
        )
        return host.instance_id, host.instance_arn

    def test_enforce_imdsv2_is_not_offered_where_only_awsvpc_tasks_reach_imds(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host requiring IMDSv2 with hop limit 1, exposed by an awsvpc task only
        instance_id, arn = self.awsvpc_host(account, unique("vpc-only", journal))

        # When a person asks for its remediation, even forcing
        outcome = account.remediate(RULE_IMDS, arn, PERSON_FORCING, journal)

        # Then nothing claims to fix it: refused, the options and the journal untouched
        assert_refused(outcome, [f"rule {RULE_IMDS} proposes no remediation for this finding"])
        assert account.metadata(instance_id) == {
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 1,
        }
        assert journal.entries() == []

    def test_enforce_imdsv2_fixes_the_options_and_says_the_awsvpc_exposure_remains(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host allowing IMDSv1 with hop limit 2, also exposed by an awsvpc task
        instance_id, arn = self.awsvpc_host(
            account, unique("vpc-both", journal), http_tokens="optional", hop_limit=2
        )

        # When a person applies the remediation
        outcome = account.remediate(RULE_IMDS, arn, PERSON, journal)

        # Then the options are enforced, and the plan said why hop limit 1 and what it does
        # not close
        assert_applied(outcome, journal, forced=[])
        assert account.metadata(instance_id) == {
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 1,
        }
        assert [change.summary for change in outcome.plan] == [
            f"require IMDSv2 with hop limit 1 on {instance_id} (was HttpTokens=optional, hop "
            "limit 2); hop limit 1: no bridge-mode task or service without a task role runs or "
            "may run here, so no container needs the host's IMDS; awsvpc tasks still reach "
            "IMDS: see the finding"
        ]
        # ... and the finding stays open for the awsvpc task alone, with nothing to apply
        left = account.finding(RULE_IMDS, arn)
        assert left.title == f"ECS host {instance_id} lets awsvpc tasks reach IMDS"
        assert left.remediation is None

    def test_associate_instance_profile_without_a_baseline_profile_is_never_applied(
        self, account: Account, journal: Journal
    ) -> None:
        # Given an instance without an instance profile, and no baseline profile configured
        instance_id = launch_instance(account.session.client("ec2"))

        # When a person applies the remediation, even forcing
        outcome = account.remediate(
            RULE_PROFILE, instance_arn(instance_id), PERSON_FORCING, journal
        )

        # Then it is refused, and the instance still has no profile
        assert_refused(
            outcome,
            [
                "never changed: no baseline instance profile configured "
                "(ROLEWARDEN_BASELINE_INSTANCE_PROFILE)"
            ],
        )
        assert account.profile_of(instance_id) is None
        assert journal.entries() == []

    def test_associate_instance_profile_attaches_the_baseline_profile(
        self, account: Account, journal: Journal
    ) -> None:
        # Given an instance without a profile, and a baseline profile (SSM only) configured
        _arn, _id, profile_arn = build_role(
            account.session, "baseline-ssm", managed=(SSM_CORE_POLICY_ARN,)
        )
        instance_id = launch_instance(account.session.client("ec2"))

        # When a person applies the remediation
        outcome = account.remediate(
            RULE_PROFILE,
            instance_arn(instance_id),
            PERSON,
            journal,
            baseline_instance_profile="baseline-ssm",
        )

        # Then the instance has the baseline profile
        assert_applied(outcome, journal, forced=[])
        assert account.profile_of(instance_id) == profile_arn

    def test_new_task_definition_revision_is_refused_outside_the_cli(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a task definition without a task role, and the task role a person chose
        definition = register_task_definition(account.session.client("ecs"), "cli-only-api")
        task_role = create_role(
            account.session.client("iam"), "cli-only-task", trust_service=ECS_TASKS_SERVICE
        )
        request = Request(actor="alice@example.com", apply=True, task_role_arn=task_role)

        # When the remediate function (RoleWarden's own role) is asked to apply it
        outcome = account.service(journal, cli=False).by_resource(
            RULE_TASK_DEFINITION, definition, request
        )

        # Then it is refused naming the CLI, and no revision was registered
        assert_refused(
            outcome,
            [
                "register-task-definition-with-task-role runs from the CLI with your own "
                "credentials: it passes a task role (iam:PassRole), which RoleWarden's role "
                "may not"
            ],
        )
        assert account.revisions("cli-only-api") == [definition]
        assert journal.entries() == []

        # When the person runs it from the CLI / Then a revision with the task role exists
        applied = account.service(journal, cli=True).by_resource(
            RULE_TASK_DEFINITION, definition, request
        )
        assert_applied(applied, journal, forced=[])
        [_old, new] = account.revisions("cli-only-api")
        described = account.session.client("ecs").describe_task_definition(taskDefinition=new)
        assert described["taskDefinition"]["taskRoleArn"] == task_role

    def test_new_task_definition_revision_applied_twice_registers_one_revision(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a person registered a revision with a task role from the CLI
        definition = register_task_definition(account.session.client("ecs"), "twice-api")
        task_role = create_role(
            account.session.client("iam"), "twice-task", trust_service=ECS_TASKS_SERVICE
        )
        request = Request(actor="alice@example.com", apply=True, task_role_arn=task_role)
        first = account.remediate(RULE_TASK_DEFINITION, definition, request, journal)
        assert_applied(first, journal, forced=[])

        # When the person applies the same remediation again
        again = account.remediate(RULE_TASK_DEFINITION, definition, request, journal)

        # Then there is nothing to do: one new revision, not two
        assert again.status is OutcomeStatus.NOTHING_TO_DO
        assert len(account.revisions("twice-api")) == 2


OTHER_REGION = "us-west-2"


def other_region_host(
    account: Account, name: str, *, registered: bool = True, task: bool = False
) -> tuple[str, str]:
    """An ECS host role (agent policy, application policy) whose only instance runs in a
    region outside ROLEWARDEN_REGIONS; with `task`, a task without task role runs on it."""
    session = account.session
    arn, _role_id, profile = build_role(session, name, inline=APP_INLINE)
    ec2 = session.client("ec2", region_name=OTHER_REGION)
    ecs = session.client("ecs", region_name=OTHER_REGION)
    instance_id = launch_instance(
        ec2, profile_arn=profile, tags={"Name": name}, http_tokens="optional", hop_limit=2
    )
    if registered:
        create_cluster(ecs, name)
        container = register_container_instance(ecs, ec2, name, instance_id)
        if task:
            definition = register_task_definition(ecs, f"{name}-api")
            run_task(ecs, name, definition, container_instance_arn=container)
    return arn, instance_id


class TestApplicationServers:
    def test_generic_ec2_role_on_an_application_server_is_left_to_a_person(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a "generic EC2 role" (ECS agent policy, an application policy) on a
        # registered host and on an application server that is not a container instance
        role = unique("generic-ec2", journal)
        create_cluster(account.session.client("ecs"), role)
        host = make_host(account.session, role, cluster=role, inline=APP_INLINE)
        server = launch_instance(account.session.client("ec2"), profile_arn=host.profile_arn)

        # When RoleWarden remediates it on its own, in remediate mode
        outcome = account.remediate(RULE_APP, host.role_arn, AUTOMATIC, journal, **REMEDIATE_APP)

        # Then it is refused, naming the application server, and the role keeps its policy
        assert_refused(
            outcome,
            [
                f"not automatic: also the role of instances that are not ECS hosts ({server}): "
                "their applications may need these permissions"
            ],
        )
        assert account.inline_policies(role) == ["orders-table"]


class TestEveryReasonIsShown:
    def test_a_persons_plan_and_change_show_the_reasons_a_person_decides(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role managed by a CloudFormation stack
        role = unique("shown-stack-host", journal)
        arn = account.host_role(role, tags={CLOUDFORMATION_STACK_TAG: "shop-hosts"})
        decides = (
            "a person decides: managed by CloudFormation stack shop-hosts: fix the template, "
            "or the stack puts it back"
        )

        # When a person plans it, then applies it
        plan = account.remediate(RULE_APP, arn, PLAN_ONLY, journal, **REMEDIATE_APP)
        applied = account.remediate(RULE_APP, arn, PERSON, journal, **REMEDIATE_APP)

        # Then the plan says so before --apply: on the CLI, in the function's result and
        # in an alert of it; the person may go ahead
        assert plan.status is OutcomeStatus.PLANNED
        assert plan.reasons == ["plan only: nothing was changed (apply to change)", decides]
        assert f"  - {decides}" in render_outcome(plan).splitlines()
        assert plan.as_json()["reasons"][1] == decides
        notice = remediation_notice(plan, ACCOUNT, REGION)
        assert notice.message["outcome"]["reasons"][1] == decides
        assert_applied(applied, journal, forced=[])
        assert account.inline_policies(role) == []

    def test_a_forced_plan_names_what_would_be_forced(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host whose cluster runs an EC2 service without a task role
        ecs = account.session.client("ecs")
        name = unique("shown-forced", journal)
        create_cluster(ecs, name)
        host = make_host(account.session, name, cluster=name, inline=APP_INLINE)
        create_service(ecs, name, f"{name}-orders", register_task_definition(ecs, f"{name}-api"))
        outage = f"{OUTAGE_PREFIX}service {name}-orders ({name}-api:1){OUTAGE_SUFFIX}"

        # When a person plans the removal with --force
        forcing_plan = Request(actor="alice@example.com", apply=False, force=True)
        outcome = account.remediate(RULE_APP, host.role_arn, forcing_plan, journal)

        # Then the plan names the guard --apply would pass
        assert outcome.status is OutcomeStatus.PLANNED
        assert outcome.reasons == [
            "plan only: nothing was changed (apply to change)",
            f"forced (--force): {outage}",
        ]


class TestRegionsOutsideTheSettings:
    """IAM is global: a role's hosts may run where ROLEWARDEN_REGIONS does not look."""

    def test_tasks_without_task_role_in_another_region_block_the_removal(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role whose host runs a task without a task role in us-west-2, and
        # ROLEWARDEN_REGIONS = us-east-1
        role = unique("west-host", journal)
        arn, _instance = other_region_host(account, role, task=True)

        # When RoleWarden remediates it on its own
        outcome = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)

        # Then it is refused with the outage guard of that region, and nothing changed
        assert outcome.status is OutcomeStatus.REFUSED
        assert len(outcome.reasons) == 1
        assert outcome.reasons[0].startswith(
            f"not automatic: in regions outside ROLEWARDEN_REGIONS ({OTHER_REGION}): "
            f"{OUTAGE_PREFIX}task "
        )
        assert outcome.reasons[0].endswith(f"({role}-api:1){OUTAGE_SUFFIX}")
        assert account.inline_policies(role) == ["orders-table"]
        assert journal.entries() == []

    def test_an_application_server_in_another_region_is_named(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a generic EC2 role whose application server runs in us-west-2 (not an ECS host)
        role = unique("west-app", journal)
        arn, server = other_region_host(account, role, registered=False)

        # When RoleWarden remediates it on its own
        outcome = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)

        # Then it is refused, naming the server and its region
        assert_refused(
            outcome,
            [
                f"not automatic: in regions outside ROLEWARDEN_REGIONS ({OTHER_REGION}): also "
                f"the role of instances that are not ECS hosts ({server}): their applications "
                "may need these permissions"
            ],
        )
        assert account.inline_policies(role) == ["orders-table"]

    def test_a_region_that_cannot_be_read_refuses_and_says_which(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role without hosts in us-east-1, and us-west-2's instances unreadable
        role = unique("west-unreadable", journal)
        arn = account.host_role(role)
        clients = AwsClients(account.session, home_region=REGION)  # this test's own
        clients.client("ec2", OTHER_REGION).meta.events.register(
            "before-call.ec2.DescribeInstances", deny_access
        )
        service = RemediationService(
            clients, Settings(**REMEDIATE_APP), [REGION], journal, cli=True
        )

        # When RoleWarden remediates it on its own
        outcome = service.by_resource(RULE_APP, arn, AUTOMATIC)

        # Then it is refused, naming the region, and nothing changed
        assert outcome.status is OutcomeStatus.REFUSED
        assert outcome.reasons[0] == (
            "not automatic: outage guard: regions outside ROLEWARDEN_REGIONS could not be "
            f"read: {OTHER_REGION} (ec2:DescribeInstances); who uses this role there is unknown"
        )
        assert account.inline_policies(role) == ["orders-table"]

    def test_a_role_without_hosts_elsewhere_is_still_remediated(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role whose only host is in us-east-1, the rule in remediate mode
        role = unique("east-only", journal)
        create_cluster(account.session.client("ecs"), role)
        host = make_host(account.session, role, cluster=role, inline=APP_INLINE)

        # When RoleWarden remediates it on its own / Then it is applied
        outcome = account.remediate(RULE_APP, host.role_arn, AUTOMATIC, journal, **REMEDIATE_APP)
        assert_applied(outcome, journal, forced=[])
        assert account.inline_policies(role) == []


def deny_access(**_: Any) -> None:
    raise ClientError(
        {"Error": {"Code": "UnauthorizedOperation", "Message": "not in this region"}},
        "DescribeInstances",
    )


@pytest.fixture
def stacks() -> Iterator[None]:
    with stacks_found_by_physical_id(), no_echo_parameters_hidden(), role_policies_created():
        yield


def create_stack(account: Account, name: str, resources: dict[str, Any], region: str) -> None:
    cloudformation = account.session.client("cloudformation", region_name=region)
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.mark.usefixtures("stacks")
class TestStacksThatWouldPutItBack:
    def test_role_owned_by_a_stack_in_another_region(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role created by a stack in us-west-2 (no tag on the role), with an
        # application policy and a profile added by hand
        role = unique("west-stack-role", journal)
        trust = policy_document(
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        )
        create_stack(
            account,
            f"{role}-stack",
            {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {"RoleName": role, "AssumeRolePolicyDocument": trust},
                }
            },
            OTHER_REGION,
        )
        iam = account.session.client("iam")
        iam.attach_role_policy(RoleName=role, PolicyArn=ECS_AGENT_POLICY_ARN)
        iam.put_role_policy(
            RoleName=role, PolicyName="orders-table", PolicyDocument=json.dumps(ORDERS_TABLE_POLICY)
        )
        iam.create_instance_profile(InstanceProfileName=role)
        iam.add_role_to_instance_profile(InstanceProfileName=role, RoleName=role)
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]

        # When RoleWarden remediates it on its own / a person plans it
        automatic = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)
        plan = account.remediate(RULE_APP, arn, PLAN_ONLY, journal, **REMEDIATE_APP)

        # Then it is refused, naming the stack and its region; the plan says so too
        reason = (
            f"managed by CloudFormation stack {role}-stack in {OTHER_REGION}: fix the template, "
            "or the stack puts it back"
        )
        assert_refused(automatic, [f"not automatic: {reason}"])
        assert plan.reasons[1] == f"a person decides: {reason}"
        assert account.inline_policies(role) == ["orders-table"]

    def test_managed_policy_a_stack_attached_to_a_role_it_does_not_own(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role created by hand, and a stack whose managed policy (Roles: it)
        # grants application actions
        role = unique("stack-policy-host", journal)
        arn = account.host_role(role, inline={})
        stack = f"{role}-app"
        create_stack(
            account,
            stack,
            {
                "AppPolicy": {
                    "Type": "AWS::IAM::ManagedPolicy",
                    "Properties": {
                        "ManagedPolicyName": f"{role}-orders",
                        "PolicyDocument": ORDERS_TABLE_POLICY,
                        "Roles": [role],
                    },
                }
            },
            REGION,
        )
        policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/{role}-orders"
        assert policy_arn in account.attached_policies(role)

        # When RoleWarden remediates it on its own
        outcome = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)

        # Then it is refused, naming the policy and the stack, and it stays attached
        assert_refused(
            outcome,
            [
                f"not automatic: managed policy {policy_arn}: managed by CloudFormation stack "
                f"{stack}: fix the template, or the stack puts it back"
            ],
        )
        assert policy_arn in account.attached_policies(role)

    def test_instance_launched_by_a_stacks_auto_scaling_group(
        self, account: Account, journal: Journal
    ) -> None:
        # Given an ECS host allowing IMDSv1, launched by an ASG of stack "shop-fleet" (the
        # instance carries only the ASG's name)
        name = unique("asg-host", journal)
        group = f"{name}-asg"
        autoscaling = account.session.client("autoscaling")
        autoscaling.create_launch_configuration(
            LaunchConfigurationName=group, ImageId="ami-12c6146b", InstanceType="t3.micro"
        )
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=group,
            LaunchConfigurationName=group,
            MinSize=0,
            MaxSize=1,
            AvailabilityZones=[f"{REGION}a"],
            Tags=[
                {"Key": CLOUDFORMATION_STACK_TAG, "Value": "shop-fleet", "PropagateAtLaunch": False}
            ],
        )
        create_cluster(account.session.client("ecs"), name)
        host = make_host(
            account.session,
            name,
            cluster=name,
            http_tokens="optional",
            instance_tags={"aws:autoscaling:groupName": group},
        )

        # When RoleWarden enforces IMDSv2 on its own
        outcome = account.remediate(
            RULE_IMDS, host.instance_arn, AUTOMATIC, journal, **REMEDIATE_IMDS
        )

        # Then it is refused, naming the group and the stack; the instance is unchanged
        assert_refused(
            outcome,
            [
                f"not automatic: launched by Auto Scaling group {group} of CloudFormation stack "
                "shop-fleet: fix the template, or the stack puts it back"
            ],
        )
        assert account.metadata(host.instance_id)["HttpTokens"] == "optional"


class TestProtectionWherePeoplePutIt:
    @pytest.mark.parametrize(
        ("key", "reason"),
        [
            ("rolewarden:protected", "protected: tagged rolewarden:protected"),
            (
                "rolewarden:protected ",
                'probable typo: tag key "rolewarden:protected " looks like rolewarden:protected: '
                "not honoured as written; fix the key",
            ),
            (
                "rolewarden:pr\u043etected",
                'probable typo: tag key "rolewarden:pr\\u043etected" looks like '
                "rolewarden:protected: not honoured as written; fix the key",
            ),
        ],
        ids=["protected", "stray-space", "cyrillic-o"],
    )
    def test_tag_on_the_instance_profile_protects_the_role_behind_it(
        self, account: Account, journal: Journal, key: str, reason: str
    ) -> None:
        # Given a host role whose instance profile carries the protected tag (or a near miss)
        role = unique(f"profile-tag-{len(key)}-{ord(key[13])}", journal)
        arn = account.host_role(role)
        iam = account.session.client("iam")
        iam.tag_instance_profile(InstanceProfileName=role, Tags=[{"Key": key, "Value": "true"}])

        # When RoleWarden remediates it on its own / a person plans it
        automatic = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)
        plan = account.remediate(RULE_APP, arn, PLAN_ONLY, journal, **REMEDIATE_APP)

        # Then it is refused, naming the profile; the plan shows it; nothing changed
        assert_refused(automatic, [f"not automatic: instance profile {role}: {reason}"])
        assert plan.reasons[1] == f"a person decides: instance profile {role}: {reason}"
        assert account.inline_policies(role) == ["orders-table"]


HOST_ROLE_PARAMETER = """
Parameters:
  HostRole:
    Type: String
    NoEcho: {no_echo}
Resources:
  AppPolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: !Sub "${{AWS::StackName}}-orders"
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [dynamodb:GetItem, dynamodb:PutItem]
            Resource: "{table}"
      Roles: [!Ref HostRole]
"""


@pytest.mark.usefixtures("stacks")
class TestInlinePoliciesAStackPutsOnARoleItDoesNotOwn:
    def put_by_stack(
        self, account: Account, stack: str, role: str, *, no_echo: bool = False
    ) -> None:
        """A YAML stack whose AWS::IAM::Policy puts "<stack>-orders" on the role it is given."""
        account.session.client("cloudformation").create_stack(
            StackName=stack,
            TemplateBody=HOST_ROLE_PARAMETER.format(
                no_echo=str(no_echo).lower(), table=ORDERS_TABLE
            ),
            Parameters=[{"ParameterKey": "HostRole", "ParameterValue": role}],
        )

    def test_the_stacks_policy_is_left_to_a_person(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role created by hand, and a stack whose inline policy (Roles: the
        # role, as a parameter) grants application actions
        role = unique("put-by-stack", journal)
        arn = account.host_role(role, inline={})
        stack = f"{role}-app"
        self.put_by_stack(account, stack, role)
        assert account.inline_policies(role) == [f"{stack}-orders"]

        # When RoleWarden remediates it on its own / a person plans it
        automatic = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)
        plan = account.remediate(RULE_APP, arn, PLAN_ONLY, journal, **REMEDIATE_APP)

        # Then it is refused, naming the policy and the stack; the plan says so; it stays
        reason = (
            f"inline policy {stack}-orders: put by CloudFormation stack {stack} on a role it "
            "does not own: fix the template, or the stack puts it back"
        )
        assert_refused(automatic, [f"not automatic: {reason}"])
        assert plan.reasons[1] == f"a person decides: {reason}"
        assert account.inline_policies(role) == [f"{stack}-orders"]
        assert journal.entries() == []

    def test_a_stacks_role_policy_holds_the_roles_other_inline_policies_too(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role with an application policy put by hand, and a stack whose
        # AWS::IAM::RolePolicy (RoleName: the role) puts a baseline-only policy on it
        role = unique("role-policy-host", journal)
        arn = account.host_role(role)
        stack = f"{role}-logs"
        logs = policy_document({"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"})
        create_stack(
            account,
            stack,
            {
                "Logs": {
                    "Type": "AWS::IAM::RolePolicy",
                    "Properties": {"PolicyName": "logs", "PolicyDocument": logs, "RoleName": role},
                }
            },
            REGION,
        )
        assert sorted(account.inline_policies(role)) == ["logs", "orders-table"]

        # When RoleWarden removes the application policy on its own
        outcome = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)

        # Then it is refused, naming the stack's policy; both policies stay
        assert_refused(
            outcome,
            [
                f"not automatic: inline policy logs: put by CloudFormation stack {stack} on a "
                "role it does not own: fix the template, or the stack puts it back"
            ],
        )
        assert sorted(account.inline_policies(role)) == ["logs", "orders-table"]

    def test_the_stacks_role_policy_being_removed_is_named_once(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role created by hand, and a stack whose AWS::IAM::RolePolicy puts
        # the application policy on it (found by physical id and in the template)
        role = unique("role-policy-app", journal)
        arn = account.host_role(role, inline={})
        stack = f"{role}-app"
        properties = {"PolicyName": "orders", "PolicyDocument": ORDERS_TABLE_POLICY}
        create_stack(
            account,
            stack,
            {
                "App": {
                    "Type": "AWS::IAM::RolePolicy",
                    "Properties": {**properties, "RoleName": role},
                }
            },
            REGION,
        )

        # When RoleWarden removes it on its own
        outcome = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)

        # Then it is refused with one reason naming the policy and the stack; it stays
        assert_refused(
            outcome,
            [
                f"not automatic: inline policy orders: managed by CloudFormation stack {stack}: "
                "fix the template, or the stack puts it back"
            ],
        )
        assert account.inline_policies(role) == ["orders"]

    def test_a_stacks_policy_on_another_role_does_not_hold_this_one(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role with an application policy put by hand, and a stack whose
        # inline policy is on another role
        role = unique("next-to-stack", journal)
        arn = account.host_role(role)
        other = unique("stack-target", journal)
        account.host_role(other, inline={})
        self.put_by_stack(account, f"{other}-app", other)

        # When RoleWarden remediates this role on its own / Then the policy is removed
        outcome = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)
        assert_applied(outcome, journal, forced=[])
        assert account.inline_policies(role) == []
        assert account.inline_policies(other) == [f"{other}-app-orders"]

    def test_a_stacks_policy_whose_role_cannot_be_told_holds_every_inline_change(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role with an application policy put by hand, and a stack whose
        # inline policy's role is a NoEcho parameter (DescribeStacks shows ****)
        role = unique("hidden-target", journal)
        arn = account.host_role(role)
        other = unique("hidden-stack-target", journal)
        account.host_role(other, inline={})
        stack = f"{other}-app"
        self.put_by_stack(account, stack, other, no_echo=True)
        cloudformation = account.session.client("cloudformation")
        try:
            # When RoleWarden remediates this role on its own
            outcome = account.remediate(RULE_APP, arn, AUTOMATIC, journal, **REMEDIATE_APP)
        finally:
            cloudformation.delete_stack(StackName=stack)  # the next tests' roles are not held

        # Then it is refused (the stack may put it back), and nothing changed
        assert_refused(
            outcome,
            [
                f"not automatic: cannot tell which role CloudFormation stack {stack}'s inline "
                f"policy {stack}-orders targets"
            ],
        )
        assert account.inline_policies(role) == ["orders-table"]

    def test_stacks_that_cannot_be_read_refuse_and_say_which(
        self, account: Account, journal: Journal
    ) -> None:
        # Given a host role, us-west-2's stacks that cannot be listed, and a stack here
        # whose template cannot be read
        role = unique("stacks-unreadable", journal)
        arn = account.host_role(role)
        stack = f"{role}-queues"
        create_stack(account, stack, {"Orders": {"Type": "AWS::SQS::Queue"}}, REGION)
        clients = AwsClients(account.session, home_region=REGION)  # this test's own
        clients.client("cloudformation", OTHER_REGION).meta.events.register(
            "before-call.cloudformation.DescribeStacks", deny_access
        )

        def deny_this_template(params: dict[str, Any], **_: Any) -> None:
            if f":stack/{stack}/" in params["StackName"]:
                deny_access()

        clients.client("cloudformation", REGION).meta.events.register(
            "before-parameter-build.cloudformation.GetTemplate", deny_this_template
        )
        service = RemediationService(
            clients, Settings(**REMEDIATE_APP), [REGION], journal, cli=True
        )

        # When RoleWarden remediates it on its own
        outcome = service.by_resource(RULE_APP, arn, AUTOMATIC)

        # Then it is refused, naming the stack and the region; nothing changed
        denied = "UnauthorizedOperation: not in this region"
        assert_refused(
            outcome,
            [
                "not automatic: cannot tell whether CloudFormation stacks put an inline policy "
                f"on it: templates unreadable: {stack} (cloudformation:GetTemplate: {denied})",
                "not automatic: cannot tell whether a CloudFormation stack puts an inline "
                f"policy on it ({OTHER_REGION}: cloudformation:DescribeStacks: {denied})",
            ],
        )
        assert account.inline_policies(role) == ["orders-table"]
