"""Require IMDSv2 on an ECS host, with the hop limit its workloads allow: 1, so its
bridge-mode containers cannot reach IMDS, unless the finding found a workload that needs
more (`hop_limit`, and `hop_limit_reason` in the plan's summary). awsvpc and host-network
tasks still reach it: the finding proposes this only for the metadata options, and
`leaves_open` (in the plan's summary) names what it does not close.

Before the change, the pre-flight reads the instance's MetadataNoToken metric over
ROLEWARDEN_IMDS_LOOKBACK_DAYS (imds_usage.py): an IMDSv1 call in that window, or a metric
that cannot be read, leaves the change to a person's --force.

Every option is sent, the changed ones and the rest as read at planning: AWS keeps the
options a call leaves out, but some implementations (moto) reset them, and sending all
makes the change exact either way. Undo sends the old set back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import field_validator

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.remediation.actions.imds_usage import imdsv1_use
from rolewarden.remediation.change import (
    Action,
    ActionError,
    Change,
    State,
)
from rolewarden.remediation.params import ActionParams
from rolewarden.settings import Settings

OPTIONS = (
    "HttpTokens",
    "HttpPutResponseHopLimit",
    "HttpEndpoint",
    "HttpProtocolIpv6",
    "InstanceMetadataTags",
)
MAX_HOP_LIMIT = 64  # EC2's


class EnforceImdsV2Params(ActionParams):
    instance_id: str
    hop_limit: int = 1
    hop_limit_reason: str | None = None  # why more than 1, for the plan's summary
    leaves_open: str | None = None  # what still reaches IMDS after the change

    @field_validator("hop_limit", mode="before")
    @classmethod
    def _whole_number_in_range(cls, hop_limit: Any) -> Any:
        if isinstance(hop_limit, bool) or not isinstance(hop_limit, int):
            raise ValueError(f"hop limit must be a whole number, got {hop_limit!r}")
        if not 1 <= hop_limit <= MAX_HOP_LIMIT:
            raise ValueError(f"hop limit must be 1 to {MAX_HOP_LIMIT}, got {hop_limit}")
        return hop_limit


class EnforceImdsV2(Action[EnforceImdsV2Params]):
    name = "enforce-imdsv2"
    permissions = (
        "ec2:DescribeInstances",
        "ec2:ModifyInstanceMetadataOptions",
        "cloudwatch:GetMetricData",  # the pre-flight: MetadataNoToken
    )
    params_type = EnforceImdsV2Params

    def plan(self, clients: AwsClients, region: str, params: EnforceImdsV2Params) -> Change | None:
        instance_id, hop_limit = params.instance_id, params.hop_limit
        probe = Change(self.name, region, {"instance_id": instance_id}, before={}, after={})
        before = self.read(clients, probe)
        after = {**before, "HttpTokens": "required", "HttpPutResponseHopLimit": hop_limit}
        if before == after:
            return None
        why = params.hop_limit_reason
        return Change(
            self.name,
            region,
            {"instance_id": instance_id},
            before=before,
            after=after,
            summary=f"require IMDSv2 with hop limit {hop_limit} on {instance_id} (was HttpTokens="
            f"{before.get('HttpTokens')}, hop limit {before.get('HttpPutResponseHopLimit')})"
            + (f"; {why}" if why else "")
            + (f"; {params.leaves_open}: see the finding" if params.leaves_open else ""),
        )

    def preflight(
        self, clients: AwsClients, change: Change, settings: Settings, now: datetime
    ) -> list[str]:
        if change.before.get("HttpTokens") == "required":
            return []  # IMDSv1 is off already: only the hop limit changes
        use = imdsv1_use(
            clients, change.region, change.target["instance_id"], settings.imds_lookback_days, now
        )
        return use.reasons()

    def apply(self, clients: AwsClients, change: Change) -> Change:
        self._send(clients, change, change.after)
        return change

    def read(self, clients: AwsClients, change: Change) -> State:
        ec2 = clients.client("ec2", change.region)
        instance_id = change.target["instance_id"]
        response = call(
            ActionError, "ec2:DescribeInstances", ec2.describe_instances, InstanceIds=[instance_id]
        )
        instances = [i for r in response.get("Reservations", []) for i in r["Instances"]]
        if not instances:
            raise ActionError(f"instance {instance_id} not found")
        options: Mapping[str, Any] = instances[0].get("MetadataOptions", {})
        return {name: options[name] for name in OPTIONS if name in options}

    def undo(self, clients: AwsClients, change: Change) -> None:
        self._send(clients, change, change.before)

    @staticmethod
    def _send(clients: AwsClients, change: Change, options: State) -> None:
        ec2 = clients.client("ec2", change.region)
        call(
            ActionError,
            "ec2:ModifyInstanceMetadataOptions",
            ec2.modify_instance_metadata_options,
            InstanceId=change.target["instance_id"],
            **options,
        )
