"""What every handler needs once per container: settings, the session, the rule context.

Read on first invocation (not at import), so a malformed setting fails the invocation
with a message naming the variable, and tests can set the environment first.
"""

from __future__ import annotations

import functools
import os

import boto3

from rolewarden.evaluation.scope import Scope
from rolewarden.handlers.stack_tables import StackReadError, stack_resources
from rolewarden.handlers.stack_tables import foreign_settings as stack_foreign_settings
from rolewarden.inventory.aws import AwsClients, session_from_environment
from rolewarden.inventory.context_cache import ContextCache
from rolewarden.notify.alerts import AlertSink
from rolewarden.notify.channel import Channel
from rolewarden.notify.findings_state import FindingsState
from rolewarden.notify.notifier import Notifier
from rolewarden.notify.sns import SnsChannel
from rolewarden.observability import count, logger
from rolewarden.remediation.automatic import Dispatcher, InProcess, ViaFunction
from rolewarden.rules.context import RuleContext
from rolewarden.settings import Settings, SettingsError, refuse_unknown_variables
from rolewarden.settings.baseline_policies import check_extra_baseline_policies


@functools.cache
def settings() -> Settings:
    settings_ = Settings.from_env()
    for warning in settings_.warnings:  # an unknown variable, a malformed kill switch
        logger.warning("setting not used as written", reason=warning)
    check_extra_baseline_policies(settings_, clients())  # once per container
    return settings_


def settings_for_changes() -> Settings:
    """The remediate function's: there an unknown ROLEWARDEN_* variable stops start-up
    (a misspelled kill switch must never let a change through)."""
    refuse_unknown_variables()
    return settings()


def home_region() -> str:
    """The function's own region (Lambda sets AWS_REGION)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise RuntimeError("AWS_REGION is not set")
    return region


def regions() -> list[str]:
    """ROLEWARDEN_REGIONS, else the function's own region."""
    return list(settings().regions) or [home_region()]


@functools.cache
def session() -> boto3.Session:
    """One per container: a new Session reads botocore's service models again."""
    return session_from_environment()


@functools.cache
def context_cache() -> ContextCache:
    """One per container: the context earlier events read that cannot go stale unseen
    (task definition revision facts, where hosts are registered; see `context_cache`)."""
    return ContextCache()


def clients() -> AwsClients:
    """Fresh per invocation: the API call counts are the invocation's own."""
    return AwsClients(session(), home_region=home_region())


def own_account() -> str:
    """The account this function's credentials belong to: STS once per session (one per
    container), as the credentials' account cannot change."""
    return _account_of(session())


@functools.lru_cache(maxsize=1)  # the one session of a container
def _account_of(session_: boto3.Session) -> str:
    account, _partition = AwsClients(session_, home_region=home_region()).account_and_partition()
    return account


def rule_context() -> RuleContext:
    return settings().rule_context()


def scope(account: str, region: str | None = None) -> Scope:
    """An evaluation in `account`, about resources in `region` (default: the function's)."""
    region = region or home_region()
    return Scope(account, partition(region), region, tuple(regions()))


def partition(region: str) -> str:
    return str(session().get_partition_for_region(region))


def dispatcher(account: str, alerts: AlertSink) -> Dispatcher:
    """Where automatic remediations go: the remediate function, when the stack has one
    (it announces what it did); else this process, which announces it here."""
    clients_ = clients()
    function = settings().remediate_function
    if function:
        return ViaFunction(clients_, function)
    # Without the stack (the demo) this process changes the account itself; the deployed
    # functions hand over, so only here is the remediation machinery loaded.
    from rolewarden.remediation.remediator import Remediator  # noqa: PLC0415
    from rolewarden.remediation.service import journal_of  # noqa: PLC0415

    journal = journal_of(clients_, settings().journal_table, settings().journal_key)
    remediator = Remediator(clients_, settings(), journal, account, regions=regions())
    return InProcess(
        remediator.remediate,
        lambda outcome: alerts.remediations([outcome], account, home_region(), automatic=True),
    )


def foreign_settings() -> list[str]:
    """In the stack: the settings that name another journal, key or findings table than
    the stack's own (see stack_tables); outside Lambda, none."""
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if not function:
        return []
    try:
        resources = _stack_resources(function)
    except StackReadError as error:
        return [f"cannot tell whether the journal and findings tables are the stack's: {error}"]
    return stack_foreign_settings(settings(), resources)


def findings_table() -> str | None:
    """The table that decides which alerts are new: ROLEWARDEN_FINDINGS_TABLE, and in the
    stack only the stack's own (another table could silence them): naming another stops
    start-up. When CloudFormation cannot say, no table this invocation: every finding is
    announced (louder, never quieter) and no state is written; the next one asks again.
    Unset, there is nothing to check: no state is kept anywhere."""
    table = settings().findings_table
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if not table or not function:
        return table
    try:
        resources = _stack_resources(function)
    except StackReadError as error:
        count("StackReadErrors")
        logger.error(
            "findings table not used: cannot tell whether it is the stack's",
            table=table,
            reason=str(error),
        )
        return None
    foreign = stack_foreign_settings(settings(), resources, fields=["findings_table"])
    if foreign:
        raise SettingsError(f"invalid setting: {foreign[0]}")
    return table


@functools.cache  # a function's stack cannot change while its container lives
def _stack_resources(function: str) -> dict[str, str]:
    return stack_resources(clients().client("cloudformation"), function)


def alerts() -> AlertSink:
    """Every configured channel, and the findings table when there is one (in the stack,
    only its own: see findings_table). Built once per invocation, at start-up."""
    settings_, clients_ = settings(), clients()
    table = findings_table()
    channels: list[Channel] = []
    if settings_.topic_arn:
        channels.append(SnsChannel(clients_, settings_.topic_arn))
    if settings_.slack_secret_name:
        channels.append(_slack(settings_.slack_secret_name, session()))
    state = FindingsState(clients_.client("dynamodb"), table) if table else None
    return AlertSink(Notifier(channels), state, settings_.dedup_hours)


@functools.cache
def _slack(secret_name: str, session_: boto3.Session) -> Channel:
    """One per container: its Powertools cache keeps the webhook URL for a few minutes."""
    from rolewarden.notify.slack import SlackChannel  # noqa: PLC0415 - only where Slack is set

    return SlackChannel(secret_name, boto3_session=session_)
