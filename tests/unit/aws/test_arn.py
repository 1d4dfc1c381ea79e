"""One parsed ARN type: every resource shape RoleWarden reads, in every partition."""

from __future__ import annotations

import pytest

from rolewarden.aws.arn import Arn, MalformedArnError


@pytest.mark.parametrize(
    "text",
    [
        "",
        "i-0123456789abcdef0",
        "arn:aws:iam::123456789012",  # five fields
        "urn:aws:iam::123456789012:role/app",
        "arn::iam::123456789012:role/app",  # no partition
        "arn:aws:::123456789012:role/app",  # no service
        "arn:aws:iam::123456789012:",  # no resource
    ],
)
def test_malformed_text_is_refused_with_its_text(text: str) -> None:
    # Given text that is not an ARN, When it is parsed, Then the error names it
    with pytest.raises(MalformedArnError, match="not an ARN") as raised:
        Arn.parse(text)
    assert str(raised.value) == f"not an ARN: {text!r}"
    assert isinstance(raised.value, ValueError)


def test_fields_and_text_round_trip() -> None:
    text = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0"
    arn = Arn.parse(text)
    assert (arn.partition, arn.service, arn.region, arn.account) == (
        "aws",
        "ec2",
        "eu-west-1",
        "123456789012",
    )
    assert (arn.resource_type, arn.resource_id, arn.name) == (
        "instance",
        "i-0123456789abcdef0",
        "i-0123456789abcdef0",
    )
    assert str(arn) == text


@pytest.mark.parametrize(
    ("text", "kind", "name", "path"),
    [
        ("arn:aws:iam::123456789012:role/app", "role", "app", "/"),
        ("arn:aws:iam::123456789012:role/service-role/a/app", "role", "app", "/service-role/a/"),
        (
            "arn:aws:iam::123456789012:instance-profile/hosts/shop",
            "instance-profile",
            "shop",
            "/hosts/",
        ),
        (
            "arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM",
            "policy",
            "AmazonEC2RoleforSSM",
            "/service-role/",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/remediate/session-1",
            "assumed-role",
            "session-1",
            "/remediate/",
        ),
    ],
)
def test_iam_resources_have_a_type_a_path_and_a_name(
    text: str, kind: str, name: str, path: str
) -> None:
    arn = Arn.parse(text)
    assert (arn.resource_type, arn.name, arn.path) == (kind, name, path)
    assert arn.region == ""
    assert arn.cluster is None


def test_an_iam_role_path_is_not_an_ecs_cluster() -> None:
    assert Arn.parse("arn:aws:iam::123456789012:role/ops/app").cluster is None


def test_aws_managed_policies_are_known_by_their_account_in_every_partition() -> None:
    assert Arn.parse("arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess").is_aws_managed
    assert Arn.parse("arn:aws-cn:iam::aws:policy/ReadOnlyAccess").is_aws_managed
    assert not Arn.parse("arn:aws:iam::123456789012:policy/ReadOnlyAccess").is_aws_managed


def test_a_task_definition_has_a_family_and_a_revision() -> None:
    arn = Arn.parse("arn:aws:ecs:us-east-1:123456789012:task-definition/orders-api:12")
    assert (arn.resource_type, arn.resource_id) == ("task-definition", "orders-api:12")
    assert (arn.family, arn.revision) == ("orders-api", 12)


def test_a_task_definition_without_a_revision_has_none() -> None:
    arn = Arn.parse("arn:aws:ecs:us-east-1:123456789012:task-definition/orders-api")
    assert (arn.family, arn.revision) == ("orders-api", None)


@pytest.mark.parametrize(
    ("resource", "cluster", "name"),
    [
        ("task/shop/0123456789abcdef", "shop", "0123456789abcdef"),
        ("container-instance/shop/f00d", "shop", "f00d"),
        ("service/shop/orders", "shop", "orders"),
        ("cluster/shop", "shop", "shop"),
        ("task/0123456789abcdef", None, "0123456789abcdef"),  # the short format
        ("container-instance/f00d", None, "f00d"),
    ],
)
def test_ecs_resources_name_their_cluster_in_the_long_format(
    resource: str, cluster: str | None, name: str
) -> None:
    arn = Arn.parse(f"arn:aws:ecs:eu-west-1:123456789012:{resource}")
    assert (arn.cluster, arn.name) == (cluster, name)


@pytest.mark.parametrize(
    ("text", "partition", "region"),
    [
        (
            "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/i-1",
            "aws-us-gov",
            "us-gov-west-1",
        ),
        ("arn:aws-cn:ecs:cn-north-1:123456789012:task/c/1", "aws-cn", "cn-north-1"),
        ("arn:aws-iso-b:iam::123456789012:role/app", "aws-iso-b", ""),
    ],
)
def test_partitions_beyond_aws_parse_alike(text: str, partition: str, region: str) -> None:
    arn = Arn.parse(text)
    assert (arn.partition, arn.region) == (partition, region)
    assert str(arn) == text


def test_a_resource_without_a_slash_has_no_type() -> None:
    # Given an SNS topic and an S3 bucket (no region, no account)
    topic = Arn.parse("arn:aws:sns:eu-west-1:123456789012:rolewarden-alerts")
    bucket = Arn.parse("arn:aws:s3:::orders-exports")
    # Then the resource is their name, and they have no type
    assert (topic.resource_type, topic.resource_id, topic.name) == (
        "",
        "rolewarden-alerts",
        "rolewarden-alerts",
    )
    assert (bucket.region, bucket.account, bucket.resource_type) == ("", "", "")


def test_a_resource_may_hold_colons() -> None:
    arn = Arn.parse("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/x:*")
    assert arn.resource == "log-group:/aws/lambda/x:*"


def test_a_sibling_shares_partition_region_and_account() -> None:
    task = Arn.parse("arn:aws-cn:ecs:cn-north-1:123456789012:task/shop/1")
    assert (
        str(task.sibling("cluster/shop")) == "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/shop"
    )
