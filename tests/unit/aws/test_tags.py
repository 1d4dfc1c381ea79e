"""One tag helper: AWS's `Key`/`Value` lists and ECS's `key`/`value` lists."""

from __future__ import annotations

from rolewarden.aws.tags import tag_dict, tag_list


def test_iam_and_ec2_tags_read_as_a_dict() -> None:
    tags = [{"Key": "owner", "Value": "shop"}, {"Key": "rolewarden:exempt", "Value": "yes"}]
    assert tag_dict(tags) == {"owner": "shop", "rolewarden:exempt": "yes"}


def test_ecs_lowercase_tags_read_the_same() -> None:
    tags = [{"key": "owner", "value": "shop"}]
    assert tag_dict(tags) == {"owner": "shop"}


def test_no_tags_read_as_an_empty_dict() -> None:
    assert tag_dict(None) == {}
    assert tag_dict([]) == {}


def test_a_tag_without_a_value_reads_as_empty_text() -> None:
    assert tag_dict([{"Key": "flag"}, {"key": "other", "value": None}]) == {"flag": "", "other": ""}


def test_an_object_without_a_key_is_not_a_tag() -> None:
    assert tag_dict([{"Value": "orphan"}, {"ResourceType": "instance"}]) == {}


def test_tags_are_written_in_the_casing_the_service_takes() -> None:
    tags = {"owner": "shop", "team": "payments"}
    assert tag_list(tags) == [
        {"Key": "owner", "Value": "shop"},
        {"Key": "team", "Value": "payments"},
    ]
    assert tag_list(tags, ecs=True) == [
        {"key": "owner", "value": "shop"},
        {"key": "team", "value": "payments"},
    ]
    assert tag_dict(tag_list(tags, ecs=True)) == tags
    assert tag_list({}) == []
