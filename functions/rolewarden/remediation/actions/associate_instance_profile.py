"""Give an instance without an instance profile the baseline profile; undo takes it away.

With `replace`, an instance whose profile is broken (no role) gets the baseline profile
instead; undo puts the old profile back. A baseline profile without a role would fix
nothing, so the plan refuses it.
"""

from __future__ import annotations

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.remediation.change import (
    Action,
    ActionError,
    ActionRefusedError,
    Change,
    State,
)
from rolewarden.remediation.params import ActionParams

LIVE_ASSOCIATION = ("associating", "associated")


class AssociateInstanceProfileParams(ActionParams):
    instance_id: str
    instance_profile: str | None = None  # the baseline profile's name or ARN, when configured
    replace: bool = False  # the instance's profile is broken: replace it


class AssociateInstanceProfile(Action[AssociateInstanceProfileParams]):
    name = "associate-instance-profile"
    permissions = (
        "iam:GetInstanceProfile",
        "iam:PassRole",  # associating a profile passes its role to EC2
        "ec2:DescribeIamInstanceProfileAssociations",
        "ec2:AssociateIamInstanceProfile",
        "ec2:ReplaceIamInstanceProfileAssociation",
        "ec2:DisassociateIamInstanceProfile",
    )
    params_type = AssociateInstanceProfileParams

    def plan(
        self, clients: AwsClients, region: str, params: AssociateInstanceProfileParams
    ) -> Change | None:
        wanted = params.instance_profile
        if not wanted:
            raise ActionRefusedError(
                "no baseline instance profile configured (ROLEWARDEN_BASELINE_INSTANCE_PROFILE)"
            )
        profile_arn = self._usable_profile_arn(clients, wanted)
        instance_id = params.instance_id
        current = _association(clients, region, instance_id)
        if current and current["arn"] == profile_arn:
            return None
        if current and not params.replace:
            raise ActionRefusedError(
                f"{instance_id} already has instance profile {current['arn']}; "
                "replacing it is a separate decision"
            )
        return Change(
            self.name,
            region,
            {"instance_id": instance_id},
            before={"instance_profile_arn": current["arn"] if current else None},
            after={"instance_profile_arn": profile_arn},
            summary=f"{'replace the profile of' if current else 'associate'} {instance_id} "
            f"{'with' if current else 'with instance profile'} {profile_arn}",
        )

    def apply(self, clients: AwsClients, change: Change) -> Change:
        self._set(clients, change, change.after["instance_profile_arn"])
        return change

    def read(self, clients: AwsClients, change: Change) -> State:
        current = _association(clients, change.region, change.target["instance_id"])
        return {"instance_profile_arn": current["arn"] if current else None}

    def undo(self, clients: AwsClients, change: Change) -> None:
        self._set(clients, change, change.before["instance_profile_arn"])

    @staticmethod
    def _set(clients: AwsClients, change: Change, profile_arn: str | None) -> None:
        ec2 = clients.client("ec2", change.region)
        instance_id = change.target["instance_id"]
        current = _association(clients, change.region, instance_id)
        if profile_arn is None:
            if current:
                call(
                    ActionError,
                    "ec2:DisassociateIamInstanceProfile",
                    ec2.disassociate_iam_instance_profile,
                    AssociationId=current["id"],
                )
        elif current:
            call(
                ActionError,
                "ec2:ReplaceIamInstanceProfileAssociation",
                ec2.replace_iam_instance_profile_association,
                AssociationId=current["id"],
                IamInstanceProfile={"Arn": profile_arn},
            )
        else:
            call(
                ActionError,
                "ec2:AssociateIamInstanceProfile",
                ec2.associate_iam_instance_profile,
                InstanceId=instance_id,
                IamInstanceProfile={"Arn": profile_arn},
            )

    @staticmethod
    def _usable_profile_arn(clients: AwsClients, name_or_arn: str) -> str:
        name = name_or_arn.rsplit("/", 1)[-1]
        profile = call(
            ActionError,
            "iam:GetInstanceProfile",
            clients.client("iam").get_instance_profile,
            InstanceProfileName=name,
        )["InstanceProfile"]
        if not profile.get("Roles"):
            raise ActionRefusedError(
                f"baseline instance profile {name} has no role: it would fix nothing"
            )
        return str(profile["Arn"])


def _association(clients: AwsClients, region: str, instance_id: str) -> dict[str, str] | None:
    ec2 = clients.client("ec2", region)
    response = call(
        ActionError,
        "ec2:DescribeIamInstanceProfileAssociations",
        ec2.describe_iam_instance_profile_associations,
        Filters=[{"Name": "instance-id", "Values": [instance_id]}],
    )
    for association in response.get("IamInstanceProfileAssociations", []):
        if association.get("State") in LIVE_ASSOCIATION:
            return {
                "id": association["AssociationId"],
                "arn": association["IamInstanceProfile"]["Arn"],
            }
    return None
