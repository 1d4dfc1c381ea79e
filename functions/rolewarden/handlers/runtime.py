"""What every handler needs once per container: settings, the session, the rule context.

Read on first invocation (not at import), so a malformed setting fails the invocation
with a message naming the variable, and tests can set the environment first.
"""

from __future__ import annotations

import functools
import os

import boto3

from rolewarden.evaluation.scope import Scope
from rolewarden.inventory.aws import AwsClients, session_from_environment
from rolewarden.rules.context import RuleContext
from rolewarden.settings import Settings


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


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


def clients() -> AwsClients:
    """Fresh per invocation: the API call counts are the invocation's own."""
    return AwsClients(session(), home_region=home_region())


def rule_context() -> RuleContext:
    return RuleContext.from_settings(settings())


def scope(account: str, region: str | None = None) -> Scope:
    """An evaluation in `account`, about resources in `region` (default: the function's)."""
    region = region or home_region()
    return Scope(account, partition(region), region, tuple(regions()))


def partition(region: str) -> str:
    return str(session().get_partition_for_region(region))
