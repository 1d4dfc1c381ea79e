"""boto3 plumbing shared by every reader: clients, retries, API call counting.

Every reader takes `AwsClients`, built from a boto3 Session (never a module-level
client), so the same code can later run with a member account's assumed role.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.handlers import json_decode_policies

from rolewarden.aws.arn import Arn
from rolewarden.aws.errors import InventoryError, call

if TYPE_CHECKING:  # boto3-stubs: a dev dependency, never in the Lambda layer
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient
    from mypy_boto3_sts.type_defs import GetCallerIdentityResponseTypeDef

RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 10},
    user_agent_extra="rolewarden",
)
# For a call that is not idempotent: botocore would repeat it after a lost reply.
SINGLE_ATTEMPT = RETRY_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))


def session_from_environment() -> boto3.Session:
    """A session as the AWS CLI makes it (AWS_PROFILE, AWS_ENDPOINT_URL...).

    AWS_REGION counts as well as AWS_DEFAULT_REGION, as in the AWS SDKs and Lambda.
    """
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    return boto3.Session(region_name=region)


class ApiCallCounter:
    """Counts AWS API calls (one per operation call, retries not included)."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[(model.service_model.service_name, model.name)] += 1

    def per_service(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (service, _operation), count in self.calls.items():
            totals[service] += count
        return dict(sorted(totals.items()))

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class AwsClients:
    """Clients of one boto3 Session, one per service and region, all counted.

    Global services (IAM, STS) are called through `home_region`, so their endpoint is in
    the right partition (aws-cn, aws-us-gov) even when no default region is configured.
    """

    def __init__(
        self,
        session: boto3.Session,
        home_region: str | None = None,
        counter: ApiCallCounter | None = None,
    ) -> None:
        self.session = session
        self.home_region: str | None = home_region or session.region_name
        self.counter = counter or ApiCallCounter()
        self._clients: dict[tuple[str, str | None, str], BaseClient] = {}
        self._caller: GetCallerIdentityResponseTypeDef | None = None

    @overload
    def client(
        self, service: Literal["autoscaling"], region: str | None = None
    ) -> AutoScalingClient: ...

    @overload
    def client(
        self, service: Literal["cloudformation"], region: str | None = None
    ) -> CloudFormationClient: ...

    @overload
    def client(
        self, service: Literal["cloudwatch"], region: str | None = None
    ) -> CloudWatchClient: ...

    @overload
    def client(
        self, service: Literal["config"], region: str | None = None
    ) -> ConfigServiceClient: ...

    @overload
    def client(self, service: Literal["dynamodb"], region: str | None = None) -> DynamoDBClient: ...

    @overload
    def client(self, service: Literal["ec2"], region: str | None = None) -> EC2Client: ...

    @overload
    def client(self, service: Literal["ecs"], region: str | None = None) -> ECSClient: ...

    @overload
    def client(self, service: Literal["iam"], region: str | None = None) -> IAMClient: ...

    @overload
    def client(self, service: Literal["kms"], region: str | None = None) -> KMSClient: ...

    @overload
    def client(self, service: Literal["lambda"], region: str | None = None) -> LambdaClient: ...

    @overload
    def client(
        self, service: Literal["secretsmanager"], region: str | None = None
    ) -> SecretsManagerClient: ...

    @overload
    def client(self, service: Literal["sns"], region: str | None = None) -> SNSClient: ...

    @overload
    def client(self, service: Literal["sqs"], region: str | None = None) -> SQSClient: ...

    @overload
    def client(self, service: Literal["sts"], region: str | None = None) -> STSClient: ...

    def client(self, service: str, region: str | None = None) -> BaseClient:
        return self._client(service, region, "retried", RETRY_CONFIG)

    @overload
    def single_attempt(self, service: Literal["ecs"], region: str | None = None) -> ECSClient: ...

    @overload
    def single_attempt(self, service: Literal["iam"], region: str | None = None) -> IAMClient: ...

    def single_attempt(self, service: str, region: str | None = None) -> BaseClient:
        """A client that never retries: its caller looks for what a lost reply created first."""
        return self._client(service, region, "single-attempt", SINGLE_ATTEMPT)

    def iam_policy_text(self) -> IAMClient:
        """IAM with policy documents left as the URL-encoded text IAM sent.

        botocore decodes them into dicts (`json_decode_policies`), which loses whitespace,
        key order and escapes: undo must put back exactly what was there."""
        key = ("iam", self.home_region, "policy-text")
        if key not in self._clients:
            client = self._client("iam", None, "policy-text", RETRY_CONFIG)
            client.meta.events.unregister("after-call.iam", json_decode_policies)
        return cast("IAMClient", self._clients[key])

    def _client(self, service: str, region: str | None, kind: str, config: Config) -> BaseClient:
        key = (service, region or self.home_region, kind)
        if key not in self._clients:
            # `service` is one the overloads of `client` name: the stubs know only literals.
            client = self.session.client(service, region_name=key[1], config=config)  # type: ignore[call-overload]
            client.meta.events.register("before-call", self.counter)
            self._clients[key] = client
        return self._clients[key]

    def caller_arn(self) -> str:
        """Who these clients act as, from STS: asked once, it cannot change."""
        return str(self._caller_identity()["Arn"])

    def caller_user_id(self) -> str:
        """The caller's unique id (`aws:userid`): "<role id>:<session>" for a role."""
        return str(self._caller_identity()["UserId"])

    def _caller_identity(self) -> GetCallerIdentityResponseTypeDef:
        if self._caller is None:
            sts = self.client("sts")
            self._caller = call(InventoryError, "sts:GetCallerIdentity", sts.get_caller_identity)
        return self._caller

    def account_and_partition(self) -> tuple[str, str]:
        """The caller's account id and partition (never hard-coded)."""
        caller = Arn.parse(self.caller_arn())
        return caller.account, caller.partition
