"""What a warm container remembers between events (no AWS: botocore's Stubber answers)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from rolewarden.aws.clients import AwsClients
from rolewarden.inventory.context_cache import ContextCache
from rolewarden.inventory.ecs import EcsReader
from rolewarden.inventory.snapshot import ContainerInstance, RevisionFacts, TaskDefinition

ACCOUNT, OTHER_ACCOUNT = "111122223333", "444455556666"
REGION = "us-east-1"
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop"


def revision_arn(number: int, account: str = ACCOUNT) -> str:
    return f"arn:aws:ecs:{REGION}:{account}:task-definition/web:{number}"


def facts(number: int, account: str = ACCOUNT) -> RevisionFacts:
    return RevisionFacts(revision_arn(number, account), "web", number, "bridge", ("EC2",))


def described(number: int) -> dict[str, object]:
    return {
        "taskDefinition": {
            "taskDefinitionArn": revision_arn(number),
            "family": "web",
            "revision": number,
            "status": "ACTIVE",
            "networkMode": "host",
            "compatibilities": ["EC2"],
            "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/web",
        },
        "tags": [{"key": "rolewarden:protected", "value": "true"}],
    }


def reader_on(cache: ContextCache) -> EcsReader:
    """A reader of a later event in the same container (its own clients, no credentials
    needed: every call it may make is stubbed)."""
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=REGION)
    return EcsReader(AwsClients(session), REGION, ACCOUNT, cache)


@pytest.fixture
def stubbed() -> Iterator[tuple[EcsReader, Stubber, ContextCache]]:
    cache = ContextCache()
    reader = reader_on(cache)
    with Stubber(reader.ecs) as stubber:
        yield reader, stubber, cache
        stubber.assert_no_pending_responses()


def test_a_context_revision_is_remembered_as_its_facts_without_status_or_tags(
    stubbed: tuple[EcsReader, Stubber, ContextCache],
) -> None:
    # Given a revision ECS describes (protected by a tag)
    reader, stubber, cache = stubbed
    stubber.add_response(
        "describe_task_definition", described(3), {"taskDefinition": revision_arn(3)}
    )

    # When it is read as a task's context, then again by a later event's reader
    reader.read_context_revisions([revision_arn(3)])
    later = reader_on(cache)
    with Stubber(later.ecs):  # no response queued: any call would fail
        later.read_context_revisions([revision_arn(3)])

    # Then both hold its facts only; nothing of the tags or the status was kept
    remembered = later.inventory.context_revisions[revision_arn(3)]
    assert type(remembered) is RevisionFacts
    assert (remembered.network_mode, remembered.task_role_arn) == (
        "host",
        f"arn:aws:iam::{ACCOUNT}:role/web",
    )
    assert not hasattr(remembered, "tags") and not hasattr(remembered, "status")
    assert reader.inventory.task_definitions == {}  # never judged from a context read


def test_a_failed_read_is_not_remembered_and_is_a_scan_error(
    stubbed: tuple[EcsReader, Stubber, ContextCache],
) -> None:
    # Given ECS throttles the first describe, and answers the next one
    reader, stubber, cache = stubbed
    stubber.add_client_error("describe_task_definition", "ThrottlingException", "slow down")

    # When two events read the revision as context
    reader.read_context_revisions([revision_arn(3)])
    first_errors = list(reader.inventory.errors)
    assert cache.revision(ACCOUNT, revision_arn(3)) is None
    second = reader_on(cache)
    with Stubber(second.ecs) as again:
        again.add_response("describe_task_definition", described(3))
        second.read_context_revisions([revision_arn(3)])

    # Then the first reports the failure, and the second reads it (and remembers it)
    assert [error.operation for error in first_errors] == ["ecs:DescribeTaskDefinition"]
    assert revision_arn(3) not in reader.inventory.context_revisions
    assert second.inventory.context_revisions[revision_arn(3)].network_mode == "host"
    assert cache.revision(ACCOUNT, revision_arn(3)) is not None


def test_the_revision_an_event_judges_is_read_afresh_with_its_tags_even_when_remembered(
    stubbed: tuple[EcsReader, Stubber, ContextCache],
) -> None:
    # Given the revision's facts are remembered from an earlier event's context
    reader, stubber, cache = stubbed
    cache.remember_revision(ACCOUNT, facts(3))
    stubber.add_response(
        "describe_task_definition",
        described(3),
        {"taskDefinition": revision_arn(3), "include": ["TAGS"]},
    )

    # When the event is about that revision
    reader.read_task_definitions([revision_arn(3)])

    # Then ECS is asked, and its current tags and status are what the rules see
    definition = reader.inventory.task_definitions[revision_arn(3)]
    assert (definition.status, dict(definition.tags)) == (
        "ACTIVE",
        {"rolewarden:protected": "true"},
    )


def test_revisions_are_kept_per_account_and_the_least_recently_used_go_first() -> None:
    # Given a cache of two entries holding revisions 1 and 2, revision 1 used since
    cache = ContextCache(capacity=2)
    cache.remember_revision(ACCOUNT, facts(1))
    cache.remember_revision(ACCOUNT, facts(2))
    assert cache.revision(ACCOUNT, revision_arn(1)) == facts(1)

    # When a third is remembered
    cache.remember_revision(ACCOUNT, facts(3))

    # Then revision 2 is gone, and another account never sees this account's entries
    assert cache.revision(ACCOUNT, revision_arn(2)) is None
    assert cache.revision(ACCOUNT, revision_arn(1)) == facts(1)
    assert cache.revision(OTHER_ACCOUNT, revision_arn(1)) is None
    assert cache.sizes == (2, 0)


def test_a_task_definition_with_its_tags_is_refused() -> None:
    # Given a revision as read for its own evaluation, with its tags
    definition = TaskDefinition(
        arn=revision_arn(1),
        family="web",
        revision=1,
        network_mode="bridge",
        compatibilities=("EC2",),
        status="ACTIVE",
        tags={"rolewarden:exempt-until": "2030-01-31"},
    )

    # When it is offered to the cache as it is / Then it is refused: its facts are accepted
    cache = ContextCache()
    with pytest.raises(TypeError, match="only RevisionFacts"):
        cache.remember_revision(ACCOUNT, definition)
    cache.remember_revision(ACCOUNT, definition.facts)
    assert cache.revision(ACCOUNT, revision_arn(1)) == facts(1)


def container(instance_id: str, number: int) -> ContainerInstance:
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/shop/{number:032x}"
    return ContainerInstance(arn, CLUSTER, instance_id)


def registered(instance_id: str, number: int, **fields: object) -> dict[str, object]:
    return {
        "containerInstanceArn": container(instance_id, number).arn,
        "ec2InstanceId": instance_id,
        "status": "ACTIVE",
        "agentConnected": True,
    } | fields


def test_a_remembered_registration_counts_once_confirmed_connected(
    stubbed: tuple[EcsReader, Stubber, ContextCache],
) -> None:
    # Given two hosts remembered in cluster shop
    reader, stubber, cache = stubbed
    for number, instance_id in enumerate(("i-1", "i-2")):
        cache.remember_registration(ACCOUNT, REGION, container(instance_id, number))
    stubber.add_response(
        "describe_container_instances",
        {"containerInstances": [registered("i-1", 0), registered("i-2", 1)], "failures": []},
        {"cluster": CLUSTER, "containerInstances": sorted(container(i, n).arn for n, i in
                                                           enumerate(("i-1", "i-2")))},
    )  # fmt: skip

    # When the hosts' registrations are confirmed / Then one call suffices
    assert reader.confirm_registrations(["i-1", "i-2"]) is True
    assert set(reader.inventory.container_instances) == {
        container("i-1", 0).arn,
        container("i-2", 1).arn,
    }


@pytest.mark.parametrize(
    "answer",
    [
        {"containerInstances": [registered("i-1", 0, agentConnected=False)], "failures": []},
        {"containerInstances": [registered("i-1", 0, status="INACTIVE")], "failures": []},
        {"containerInstances": [], "failures": [{"reason": "MISSING"}]},
    ],
    ids=["agent disconnected (re-registered elsewhere?)", "deregistered", "gone"],
)
def test_a_registration_not_confirmed_is_forgotten_and_the_clusters_are_listed(
    stubbed: tuple[EcsReader, Stubber, ContextCache], answer: dict[str, object]
) -> None:
    # Given a host remembered in cluster shop, which ECS no longer shows connected there
    reader, stubber, cache = stubbed
    cache.remember_registration(ACCOUNT, REGION, container("i-1", 0))
    stubber.add_response("describe_container_instances", answer)

    # When its registration is confirmed / Then it is not, and is no longer remembered
    assert reader.confirm_registrations(["i-1"]) is False
    assert cache.registration(ACCOUNT, REGION, "i-1") is None
    assert reader.inventory.container_instances == {}


def test_a_host_never_seen_registered_is_not_confirmed_without_a_call(
    stubbed: tuple[EcsReader, Stubber, ContextCache],
) -> None:
    # Given one host remembered and one never seen
    reader, _stubber, cache = stubbed
    cache.remember_registration(ACCOUNT, REGION, container("i-1", 0))

    # When both are confirmed / Then they are not (no response queued: no call made)
    assert reader.confirm_registrations(["i-1", "i-9"]) is False
