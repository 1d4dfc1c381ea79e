"""Require IMDSv2 with hop limit 1 on an ECS host, so its bridge-mode containers cannot
reach IMDS. awsvpc and host-network tasks still can: the finding proposes this only for the
metadata options, and `leaves_open` (in the plan's summary) names what it does not close.

Every option is sent, the changed ones and the rest as read at planning: AWS keeps the
options a call leaves out, but some implementations (moto) reset them, and sending all
makes the change exact either way. Undo sends the old set back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rolewarden.inventory.aws import AwsClients
from rolewarden.remediation.change import Action, ActionError, Change, State, aws_call

OPTIONS = (
    "HttpTokens",
    "HttpPutResponseHopLimit",
    "HttpEndpoint",
    "HttpProtocolIpv6",
    "InstanceMetadataTags",
)
ENFORCED = {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}


class EnforceImdsV2(Action):
    name = "enforce-imdsv2"
    permissions = ("ec2:DescribeInstances", "ec2:ModifyInstanceMetadataOptions")

    def plan(self, clients: AwsClients, region: str, params: Mapping[str, Any]) -> Change | None:
        instance_id = params["instance_id"]
        probe = Change(self.name, region, {"instance_id": instance_id}, before={}, after={})
        before = self.read(clients, probe)
        after = {**before, **ENFORCED}
        if before == after:
            return None
        return Change(
            self.name,
            region,
            {"instance_id": instance_id},
            before=before,
            after=after,
            summary=f"require IMDSv2 with hop limit 1 on {instance_id} (was HttpTokens="
            f"{before.get('HttpTokens')}, hop limit {before.get('HttpPutResponseHopLimit')})"
            + (f"; {params['leaves_open']}: see the finding" if params.get("leaves_open") else ""),
        )

    def apply(self, clients: AwsClients, change: Change) -> Change:
        self._send(clients, change, change.after)
        return change

    def read(self, clients: AwsClients, change: Change) -> State:
        ec2 = clients.client("ec2", change.region)
        instance_id = change.target["instance_id"]
        response = aws_call(
            "ec2:DescribeInstances", ec2.describe_instances, InstanceIds=[instance_id]
        )
        instances = [i for r in response.get("Reservations", []) for i in r["Instances"]]
        if not instances:
            raise ActionError(f"instance {instance_id} not found")
        options = instances[0].get("MetadataOptions", {})
        return {name: options[name] for name in OPTIONS if name in options}

    def undo(self, clients: AwsClients, change: Change) -> None:
        self._send(clients, change, change.before)

    @staticmethod
    def _send(clients: AwsClients, change: Change, options: State) -> None:
        ec2 = clients.client("ec2", change.region)
        aws_call(
            "ec2:ModifyInstanceMetadataOptions",
            ec2.modify_instance_metadata_options,
            InstanceId=change.target["instance_id"],
            **options,
        )
