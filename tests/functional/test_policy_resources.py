"""instance-role-app-permissions in moto, where the policies' resources decide the verdict:
Deny containment, boundaries per resource, and statements scoped to resources."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3

from functional.accounts import Scan, finding, make_role, moto_world
from rolewarden.demo.builders import allow, create_customer_policy, policy_document
from rolewarden.rules import ids

RULE_APP = ids.INSTANCE_ROLE_APP_PERMISSIONS
EXPORTS = "arn:aws:s3:::exports/*"
REPORTS = "arn:aws:s3:::reports/*"


def deny(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources}


def build_world(session: boto3.Session, scan: Scan) -> SimpleNamespace:
    iam = session.client("iam")
    roles: dict[str, str] = {}

    def role(name: str, **kwargs: Any) -> None:
        roles[name] = make_role(session, name, **kwargs)[0]

    role(
        "exports-denied-host",
        inline={
            "read-exports": policy_document(
                allow(["s3:GetObject"], [EXPORTS]), deny(["s3:GetObject"], [EXPORTS])
            )
        },
    )
    role(
        "bucket-denied-host",
        inline={
            "read-b": policy_document(allow(["s3:GetObject"], ["arn:aws:s3:::b/*"])),
            "no-s3": policy_document(deny(["s3:*"], ["arn:aws:s3:::*"])),
        },
    )
    role(
        "half-denied-host",
        inline={
            "read-both": policy_document(
                allow(["s3:GetObject"], [EXPORTS, REPORTS]),
                deny(["s3:GetObject"], [EXPORTS]),
            )
        },
    )
    curated = create_customer_policy(
        iam,
        "curated-boundary",
        policy_document(
            allow(["ecs:*", "ecr:*", "logs:*"]),
            allow(["s3:GetObject"], ["arn:aws:s3:::curated-data/*"]),
        ),
    )
    role(
        "raw-data-host",
        inline={"read-raw": policy_document(allow(["s3:GetObject"], ["arn:aws:s3:::raw-data/*"]))},
        boundary_arn=curated,
    )
    role(
        "every-bucket-host",
        inline={"read-all": policy_document(allow(["s3:GetObject"], ["arn:aws:s3:::*"]))},
        boundary_arn=curated,
    )
    role(
        "star-on-exports-host",
        inline={"exports-admin": policy_document(allow(["*"], [EXPORTS]))},
    )
    return SimpleNamespace(roles=roles, result=scan(session))


class TestResourcesDecide:
    world = moto_world(build_world)

    def found(self, world: SimpleNamespace, name: str) -> dict[str, Any] | None:
        return finding(world.result, RULE_APP, world.roles[name])

    def test_deny_on_the_same_arn_leaves_nothing_to_find(self, world: SimpleNamespace) -> None:
        # Given an ECS host role allowing and denying s3:GetObject on exports/* / When scanned
        # Then there is no finding and no scan error: the role grants no application action
        assert self.found(world, "exports-denied-host") is None
        assert world.result.errors == []

    def test_deny_on_a_wider_glob_leaves_nothing_to_find(self, world: SimpleNamespace) -> None:
        # Given s3:GetObject on b/*, and a second policy denying s3:* on arn:aws:s3:::*
        # When scanned / Then no finding
        assert self.found(world, "bucket-denied-host") is None

    def test_deny_of_one_bucket_leaves_the_other(self, world: SimpleNamespace) -> None:
        # Given s3:GetObject on exports/* and reports/*, and exports/* denied / When scanned
        found = self.found(world, "half-denied-host")
        # Then the finding names only what is still granted
        assert found is not None
        [policy] = found["evidence"]["offending_policies"]
        assert policy["resources"] == [REPORTS]
        assert policy["partially_denied_by"] == []

    def test_boundary_on_other_data_grants_nothing(self, world: SimpleNamespace) -> None:
        # Given s3:GetObject on raw-data/* under a boundary allowing it on curated-data/* only
        # When scanned / Then no finding: the boundary and the policy never meet
        assert self.found(world, "raw-data-host") is None

    def test_boundary_narrows_what_the_finding_names(self, world: SimpleNamespace) -> None:
        # Given s3:GetObject on every bucket under the same boundary / When scanned
        found = self.found(world, "every-bucket-host")
        # Then the finding names what the boundary leaves: curated-data only
        assert found is not None
        [policy] = found["evidence"]["offending_policies"]
        assert policy["resources"] == ["arn:aws:s3:::curated-data/*"]
        assert found["severity"] == "high"

    def test_star_on_one_bucket_names_only_s3_object_actions(self, world: SimpleNamespace) -> None:
        # Given Action "*" on the objects of one bucket / When scanned
        found = self.found(world, "star-on-exports-host")
        # Then the finding is about S3 objects: not every action, nothing of IAM
        assert found is not None
        assert found["title"] == (
            "ECS host role star-on-exports-host grants application permissions (s3)"
        )
        [policy] = found["evidence"]["offending_policies"]
        assert list(policy["actions"]) == ["s3"]
        assert policy["resources"] == [EXPORTS]
        granted = {a for level in policy["actions"]["s3"].values() for a in level["actions"]}
        assert {"s3:GetObject", "s3:PutObject"} <= granted
        assert "s3:PutBucketPolicy" not in granted
        assert not any("every action" in reason for reason in found["evidence"].get("critical", []))
        assert not any("iam:" in reason for reason in found["evidence"].get("critical", []))
