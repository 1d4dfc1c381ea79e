"""One invocation's wiring: settings, the session, clients, scope, alerts, the dispatcher.

A handler builds one at its top (`Wiring.for_detection` or `Wiring.for_changes`) from its
`Container` and passes it to the one domain call it makes; tests hand the handler a
Container of their making (`container=`), the demo builds its Wiring itself. What a warm
container may keep between invocations (the session, the context cache, what
CloudFormation said of the stack, the Slack channel, the account) lives in the Container;
what is counted per invocation (the clients' API calls) in the Wiring. Settings are read
on the first invocation, not at import, so a malformed setting fails the invocation with
a message naming the variable.

The account is a field: the organization mode builds one Wiring per member account, from
an assumed-role session.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import boto3

from rolewarden.aws.clients import AwsClients, session_from_environment
from rolewarden.evaluation.scope import Scope
from rolewarden.inventory.context_cache import ContextCache
from rolewarden.notify.alerts import AlertSink
from rolewarden.notify.channel import Channel
from rolewarden.notify.findings_state import FindingsState
from rolewarden.notify.notifier import Notifier
from rolewarden.notify.sns import SnsChannel
from rolewarden.observability import count, logger
from rolewarden.remediation.automatic import Dispatcher, InProcess, ViaFunction
from rolewarden.rules.context import RuleContext
from rolewarden.settings import PREFIX, Settings, SettingsError, refuse_unknown_variables
from rolewarden.settings.baseline_policies import check_extra_baseline_policies
from rolewarden.triggers.stack_tables import StackReadError, stack_resources
from rolewarden.triggers.stack_tables import foreign_settings as stack_foreign_settings


def home_region() -> str:
    """The function's own region (Lambda sets AWS_REGION)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise RuntimeError("AWS_REGION is not set")
    return region


@dataclass
class Container:
    """What one Lambda container keeps between its invocations."""

    # One per container: a new Session reads botocore's service models again.
    session: boto3.Session = field(default_factory=session_from_environment)
    # The context earlier events read that cannot go stale unseen (see context_cache).
    context_cache: ContextCache = field(default_factory=ContextCache)
    # function name -> its stack's resources (logical id -> physical id): a function's
    # stack cannot change while its container lives.
    stacks: dict[str, dict[str, str]] = field(default_factory=dict)
    # The clients every invocation gets in place of fresh ones (tests: a stubbed client).
    fixed_clients: AwsClients | None = None
    _settings: tuple[tuple[tuple[str, str], ...], Settings] | None = None
    _account: str | None = None
    _slack: dict[str, Channel] = field(default_factory=dict)

    def settings(self) -> Settings:
        """The ROLEWARDEN_* settings, read and checked again only when they change (in
        Lambda: once per container, as the extra baseline policies are judged by IAM
        reads); their warnings are logged on every invocation."""
        variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
        known = self._settings is not None and self._settings[0] == variables
        settings = self._settings[1] if self._settings and known else Settings.from_env()
        for warning in settings.warnings:  # an unknown variable, a malformed kill switch
            logger.warning("setting not used as written", reason=warning)
        if not known:
            check_extra_baseline_policies(settings, self.clients())
            self._settings = (variables, settings)
        return settings

    def clients(self) -> AwsClients:
        """Fresh for each invocation: the API call counts are the invocation's own."""
        return self.fixed_clients or AwsClients(self.session, home_region=home_region())

    def account(self) -> str:
        """The account of the container's credentials: STS once, as it cannot change."""
        if self._account is None:
            self._account, _partition = self.clients().account_and_partition()
        return self._account

    def stack_resources(self, function: str) -> dict[str, str]:
        if function not in self.stacks:
            self.stacks[function] = stack_resources(
                self.clients().client("cloudformation"), function
            )
        return self.stacks[function]

    def slack(self, secret_name: str) -> Channel:
        """One per container: its Powertools cache keeps the webhook URL for a few minutes."""
        if secret_name not in self._slack:
            from rolewarden.notify.slack import SlackChannel  # noqa: PLC0415 - only where set

            self._slack[secret_name] = SlackChannel(secret_name, boto3_session=self.session)
        return self._slack[secret_name]


@functools.cache
def this_container() -> Container:
    """The container this process is: built on the first invocation."""
    return Container()


@dataclass
class Wiring:
    settings: Settings
    container: Container
    clients: AwsClients
    _alerts: AlertSink | None = None

    @classmethod
    def for_detection(cls, container: Container) -> Wiring:
        """The event, sweep and Config rule functions': their alerts are built at start-up,
        so a findings table that is not the stack's stops it."""
        wiring = cls(container.settings(), container, container.clients())
        wiring.alerts()
        return wiring

    @classmethod
    def for_changes(cls, container: Container) -> Wiring:
        """The remediate function's: an unknown ROLEWARDEN_* variable stops start-up (a
        misspelled kill switch must never let a change through)."""
        refuse_unknown_variables()
        return cls(container.settings(), container, container.clients())

    @property
    def session(self) -> boto3.Session:
        return self.container.session

    @property
    def account(self) -> str:
        """The account the invocation acts in."""
        return self.container.account()

    @property
    def home_region(self) -> str:
        return home_region()

    @property
    def regions(self) -> list[str]:
        """ROLEWARDEN_REGIONS, else the function's own region."""
        return list(self.settings.regions) or [self.home_region]

    @property
    def context_cache(self) -> ContextCache:
        return self.container.context_cache

    def rule_context(self) -> RuleContext:
        return self.settings.rule_context()

    def scope(self, account: str, region: str | None = None) -> Scope:
        """An evaluation in `account`, about resources in `region` (default: the function's)."""
        region = region or self.home_region
        partition = str(self.session.get_partition_for_region(region))
        return Scope(account, partition, region, tuple(self.regions))

    def alerts(self) -> AlertSink:
        """Every configured channel, and the findings table when there is one (in the
        stack, only its own: see findings_table). Built once per invocation."""
        if self._alerts is None:
            table = self.findings_table()
            channels: list[Channel] = []
            if self.settings.topic_arn:
                channels.append(SnsChannel(self.clients, self.settings.topic_arn))
            if self.settings.slack_secret_name:
                channels.append(self.container.slack(self.settings.slack_secret_name))
            state = FindingsState(self.clients.client("dynamodb"), table) if table else None
            self._alerts = AlertSink(Notifier(channels), state, self.settings.dedup_hours)
        return self._alerts

    def findings_table(self) -> str | None:
        """The table that decides which alerts are new: ROLEWARDEN_FINDINGS_TABLE, and in
        the stack only the stack's own (another table could silence them): naming another
        stops start-up. When CloudFormation cannot say, no table this invocation: every
        finding is announced (louder, never quieter) and no state is written; the next one
        asks again. Unset, there is nothing to check: no state is kept anywhere."""
        table = self.settings.findings_table
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if not table or not function:
            return table
        try:
            resources = self.container.stack_resources(function)
        except StackReadError as error:
            count("StackReadErrors")
            logger.error(
                "findings table not used: cannot tell whether it is the stack's",
                table=table,
                reason=str(error),
            )
            return None
        foreign = stack_foreign_settings(self.settings, resources, fields=["findings_table"])
        if foreign:
            raise SettingsError(f"invalid setting: {foreign[0]}")
        return table

    def foreign_settings(self) -> list[str]:
        """In the stack: the settings that name another journal, key or findings table
        than the stack's own (see stack_tables); outside Lambda, none."""
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if not function:
            return []
        try:
            resources = self.container.stack_resources(function)
        except StackReadError as error:
            return [f"cannot tell whether the journal and findings tables are the stack's: {error}"]
        return stack_foreign_settings(self.settings, resources)

    def dispatcher(self, account: str) -> Dispatcher:
        """Where automatic remediations go: the remediate function, when the stack has
        one (it announces what it did); else this process, which announces it here."""
        function = self.settings.remediate_function
        if function:
            return ViaFunction(self.clients, function)
        # Without the stack (the demo) this process changes the account itself; the
        # deployed functions hand over, so only here is the remediation machinery loaded.
        from rolewarden.remediation.remediator import Remediator  # noqa: PLC0415
        from rolewarden.remediation.service import journal_of  # noqa: PLC0415

        journal = journal_of(self.clients, self.settings.journal_table, self.settings.journal_key)
        remediator = Remediator(self.clients, self.settings, journal, account, regions=self.regions)
        announce: Callable[..., None] = self.alerts().remediations
        return InProcess(
            remediator.remediate,
            lambda outcome: announce([outcome], account, self.home_region, automatic=True),
        )
