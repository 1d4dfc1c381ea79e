"""Which resources a CloudTrail call touched, from the samples of events/ (no AWS at all).

The shapes CloudTrail leaves behind: a response left out or truncated, tasks that do not
name their cluster, a registration that names its instance only in its identity document.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from functional.events import ACTOR_ARN, CLUSTER_ARN, INSTANCE_ID, REGION, TASK_ARN, load_event
from rolewarden.evaluation.cloudtrail import (
    TRIGGER_EVENT,
    Skip,
    request_fallback,
    targets_of,
)
from rolewarden.evaluation.targets import Targets

DEFAULT_CLUSTER = f"arn:aws:ecs:{REGION}:123456789012:cluster/default"


def targets(event: dict[str, Any]) -> Targets | Skip:
    return targets_of(TRIGGER_EVENT.validate_python(event))


def without_response(event: dict[str, Any], shape: str) -> dict[str, Any]:
    """CloudTrail's three ways of keeping no response."""
    if shape == "absent":
        del event["detail"]["responseElements"]
    else:
        event["detail"]["responseElements"] = None if shape == "null" else {"omitted": True}
    return event


SHAPES = ["absent", "null", "omitted"]


@pytest.mark.parametrize(
    "sample",
    [
        "cloudtrail-run-instances",
        "cloudtrail-associate-iam-instance-profile",
        "cloudtrail-replace-iam-instance-profile-association",
        "cloudtrail-register-container-instance",
    ],
)
def test_a_launch_a_new_profile_or_a_registration_judges_the_instances_role_too(
    sample: str,
) -> None:
    # Given a call that gives an instance a role, or makes it an ECS host / Then the
    # instance is named, with its role
    assert targets(load_event(sample)) == Targets(
        instance_ids=frozenset({INSTANCE_ID}), instance_roles=True
    )


def test_metadata_options_change_names_the_instance_from_the_request_or_the_response() -> None:
    # Given ModifyInstanceMetadataOptions, whole or without its response
    event = load_event("cloudtrail-modify-instance-metadata-options")
    # Then the instance is named either way (its role did not change)
    expected = Targets(instance_ids=frozenset({INSTANCE_ID}))
    assert targets(event) == expected
    assert targets(without_response(event, "omitted")) == expected


def test_metadata_defaults_change_is_skipped_with_what_changed_and_who() -> None:
    # Given the account's metadata defaults changed / Then skipped, with the details
    skipped = targets(load_event("cloudtrail-modify-instance-metadata-defaults"))
    assert isinstance(skipped, Skip)
    assert dict(skipped.details) == {
        "event_name": "ModifyInstanceMetadataDefaults",
        "actor": ACTOR_ARN,
        "http_tokens": "optional",
        "http_put_response_hop_limit": "2",
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_a_task_definition_without_its_response_is_the_familys_latest_revision(
    shape: str,
) -> None:
    # Given RegisterTaskDefinition whose response CloudTrail did not keep
    event = without_response(load_event("cloudtrail-register-task-definition"), shape)
    # Then the family it registered is named (its latest ACTIVE revision is read), and
    # the fallback is reported
    assert targets(event) == Targets(task_definition_names=frozenset({"orders-api"}))
    fallback = request_fallback(TRIGGER_EVENT.validate_python(event))
    assert fallback is not None
    assert fallback["response"] == ("truncated" if shape == "omitted" else "missing")


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        ("orders-api:1", Targets(task_definition_names=frozenset({"orders-api:1"}))),
        ("orders-api", Targets(task_definition_names=frozenset({"orders-api"}))),
        (
            "arn:aws:ecs:us-east-1:123456789012:task-definition/orders-api:3",
            Targets(
                task_definition_arns=frozenset(
                    {"arn:aws:ecs:us-east-1:123456789012:task-definition/orders-api:3"}
                )
            ),
        ),
    ],
)
def test_a_service_without_its_response_is_the_task_definition_its_request_names(
    named: str, expected: Targets
) -> None:
    # Given CreateService naming its task definition one of ECS's three ways, no response
    event = without_response(load_event("cloudtrail-create-service"), "null")
    event["detail"]["requestParameters"]["taskDefinition"] = named
    # Then that task definition is named
    assert targets(event) == expected


def test_an_update_of_a_service_that_names_no_task_definition_is_skipped_saying_why() -> None:
    # Given UpdateService changing only the desired count, without its response
    event = without_response(load_event("cloudtrail-update-service"), "omitted")
    event["detail"]["requestParameters"].pop("taskDefinition", None)
    # Then nothing identifies a resource
    assert targets(event) == Skip(
        "CloudTrail kept no response of UpdateService (truncated), and its request names "
        "no resource RoleWarden evaluates"
    )


def test_tasks_without_a_cluster_arn_are_in_the_cluster_the_request_names() -> None:
    # Given RunTask on cluster "shop" whose tasks do not name their cluster
    event = load_event("cloudtrail-run-task-without-cluster-arn")
    # Then each task is in the request's cluster, as an ARN
    assert targets(event) == Targets(tasks=frozenset({(CLUSTER_ARN, TASK_ARN)}))
    # ... and with the cluster given as an ARN, that ARN
    event["detail"]["requestParameters"]["cluster"] = CLUSTER_ARN
    assert targets(event) == Targets(tasks=frozenset({(CLUSTER_ARN, TASK_ARN)}))


def test_tasks_without_a_cluster_anywhere_are_in_the_default_cluster() -> None:
    # Given StartTask whose request and tasks name no cluster (an old-format task ARN)
    event = load_event("cloudtrail-run-task-without-cluster-arn")
    del event["detail"]["requestParameters"]["cluster"]
    task_arn = f"arn:aws:ecs:{REGION}:123456789012:task/4f6bd8c1e2a94e7c9b3d2a1f0e5c6b7a"
    event["detail"]["responseElements"]["tasks"][0]["taskArn"] = task_arn
    # Then the task is in the default cluster
    assert targets(event) == Targets(tasks=frozenset({(DEFAULT_CLUSTER, task_arn)}))


def test_tasks_without_the_response_are_judged_by_their_task_definition() -> None:
    # Given RunTask whose response CloudTrail truncated (the tasks are judged when they
    # reach RUNNING) / Then the task definition the request names is judged now
    event = without_response(load_event("cloudtrail-run-task"), "omitted")
    assert targets(event) == Targets(task_definition_names=frozenset({"orders-api:1"}))


def test_a_registration_without_its_response_names_the_instance_of_its_identity_document() -> None:
    # Given RegisterContainerInstance without its response
    event = without_response(load_event("cloudtrail-register-container-instance"), "null")
    # Then the instance its signed identity document names is the new host
    document = json.loads(event["detail"]["requestParameters"]["instanceIdentityDocument"])
    assert document["instanceId"] == INSTANCE_ID
    assert targets(event) == Targets(instance_ids=frozenset({INSTANCE_ID}), instance_roles=True)


def test_a_call_whose_response_is_whole_reports_no_fallback() -> None:
    # Given calls with their responses, and an IAM call (which has none) / Then no fallback
    for sample in ("cloudtrail-register-task-definition", "cloudtrail-attach-role-policy"):
        assert request_fallback(TRIGGER_EVENT.validate_python(load_event(sample))) is None
