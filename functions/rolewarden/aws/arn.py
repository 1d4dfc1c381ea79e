"""ARNs, parsed once: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.

The resource of every ARN RoleWarden reads is `TYPE/ID`, where ID may hold more `/`:
`role/PATH/NAME`, `instance-profile/PATH/NAME`, `policy/PATH/NAME`, `instance/ID`,
`task-definition/FAMILY:REVISION`, `task/CLUSTER/ID` (or `task/ID`, the short format),
`container-instance/CLUSTER/ID`, `service/CLUSTER/NAME`, `cluster/NAME`. A resource
without `/` (an SNS topic's name, an S3 bucket's) has no type.
"""

from __future__ import annotations

from dataclasses import dataclass


class MalformedArnError(ValueError):
    """The text is not an ARN: six `:`-separated fields, starting with `arn`."""


@dataclass(frozen=True)
class Arn:
    partition: str  # aws, aws-cn, aws-us-gov ...
    service: str
    region: str  # empty for a global service (IAM) and S3
    account: str  # empty for S3; "aws" for an AWS managed policy
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        fields = text.split(":", 5)
        if len(fields) != 6 or fields[0] != "arn" or not all(fields[i] for i in (1, 2, 5)):
            raise MalformedArnError(f"not an ARN: {text!r}")
        _, partition, service, region, account, resource = fields
        return cls(partition, service, region, account, resource)

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        """`role` for `role/PATH/NAME`; empty when the resource has no `/`."""
        kind, slash, _ = self.resource.partition("/")
        return kind if slash else ""

    @property
    def resource_id(self) -> str:
        """What follows the type: `PATH/NAME`, `CLUSTER/ID`, `FAMILY:REVISION`."""
        kind, slash, rest = self.resource.partition("/")
        return rest if slash else kind

    @property
    def name(self) -> str:
        """The last `/` segment: a role's or profile's name, a task's id, `FAMILY:REVISION`."""
        return self.resource.rsplit("/", 1)[-1]

    @property
    def path(self) -> str:
        """An IAM path, `/` through `/`: `/service-role/` for `role/service-role/NAME`."""
        middle = self.resource_id.rpartition("/")[0]
        return f"/{middle}/" if middle else "/"

    @property
    def cluster(self) -> str | None:
        """The cluster of an ECS task, container instance or service in the long format
        (`task/CLUSTER/ID`), or a cluster's own name; None otherwise."""
        if self.service != "ecs":
            return None
        if self.resource_type == "cluster":
            return self.resource_id
        parts = self.resource_id.split("/")
        return parts[0] if len(parts) == 2 and self.resource_type else None

    @property
    def family(self) -> str:
        """A task definition's family (`task-definition/FAMILY:REVISION`)."""
        return self.name.partition(":")[0]

    @property
    def revision(self) -> int | None:
        """A task definition's revision; None when the ARN has none."""
        revision = self.name.partition(":")[2]
        return int(revision) if revision.isdigit() else None

    @property
    def is_aws_managed(self) -> bool:
        """A policy AWS owns (`arn:aws:iam::aws:policy/...`), in any partition."""
        return self.account == "aws"

    def sibling(self, resource: str) -> Arn:
        """Another resource in this ARN's partition, service, region and account."""
        return Arn(self.partition, self.service, self.region, self.account, resource)


def is_aws_managed_policy(text: str) -> bool:
    """Whether a policy ARN names an AWS managed policy; False for text that is no ARN."""
    try:
        return Arn.parse(text).is_aws_managed
    except MalformedArnError:
        return False
