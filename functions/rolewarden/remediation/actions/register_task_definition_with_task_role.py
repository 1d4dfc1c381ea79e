"""Register a new revision of a task definition, identical but for the task role a person chose.

Manual only. The task role is checked first (task_role_check.py). Services keep running
the old revision unless `update_service` asks to move those that run exactly the old
revision. Undo moves them back and deregisters the new revision (its ARN is part of the
journal).

RegisterTaskDefinition is not idempotent: a reply lost after ECS registered the revision,
retried, registers a second one. So the journal holds the intent (its id) before the call,
the revision carries that id as a tag, and after a lost reply (lost_reply.py), or when a
journal entry never learned its revision, the family's revisions are searched for the
tag, and the one found is adopted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rolewarden.aws.arn import Arn, MalformedArnError
from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call, pages
from rolewarden.remediation.actions.ecs_listing import described_services
from rolewarden.remediation.actions.task_role_check import task_role_problem
from rolewarden.remediation.change import (
    Action,
    ActionError,
    ActionRefusedError,
    Change,
    PartialChangeError,
    State,
)
from rolewarden.remediation.lost_reply import create_once
from rolewarden.remediation.params import ActionParams

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient


# What DescribeTaskDefinition returns that RegisterTaskDefinition takes back.
COPIED = (
    "family",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
)
JOURNAL_TAG = "rolewarden:journal-id"  # on a revision RoleWarden registered: whose it is


class RegisterTaskDefinitionWithTaskRoleParams(ActionParams):
    task_definition_arn: str
    task_role_arn: str | None = None  # a person's choice: none proposed
    update_service: bool = False  # move the services running exactly the old revision


class RegisterTaskDefinitionWithTaskRole(Action[RegisterTaskDefinitionWithTaskRoleParams]):
    name = "register-task-definition-with-task-role"
    permissions = (
        "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions",  # the revision a lost reply registered, by its tag
        "ecs:RegisterTaskDefinition",
        "ecs:DeregisterTaskDefinition",
        "ecs:TagResource",  # registering with the old revision's tags
        "ecs:ListClusters",
        "ecs:ListServices",
        "ecs:DescribeServices",
        "ecs:UpdateService",
        "iam:PassRole",  # the task role is passed to ECS
        "iam:GetRole",  # the task role is checked first
        "iam:ListInstanceProfilesForRole",
    )
    params_type = RegisterTaskDefinitionWithTaskRoleParams

    def plan(
        self, clients: AwsClients, region: str, params: RegisterTaskDefinitionWithTaskRoleParams
    ) -> Change | None:
        old_arn, role_arn = params.task_definition_arn, params.task_role_arn
        if not role_arn:
            raise ActionRefusedError("choose the task role: pass --task-role ARN (task_role_arn)")
        definition, _tags = _describe(clients, region, old_arn)
        problem = task_role_problem(clients, role_arn, definition)
        if problem:
            raise ActionRefusedError(problem)
        if definition.get("taskRoleArn") == role_arn:
            return None
        services = (
            sorted(_services_running(clients, region, old_arn)) if params.update_service else []
        )
        target = {"task_definition_arn": old_arn, "task_role_arn": role_arn, "services": services}
        existing = _existing_revision(clients, region, definition, role_arn)
        if existing:  # registered before: at most the services are left to move
            if not services:
                return None
            return Change(
                self.name,
                region,
                {**target, "new_revision": existing, "registered_here": False},
                before={"new_revision_active": True, "services": dict.fromkeys(services, old_arn)},
                after={"new_revision_active": True, "services": dict.fromkeys(services, existing)},
                summary=f"move {', '.join(services)} to {existing}, which has task role {role_arn}",
            )
        moved = f" and move {', '.join(services)} to it" if services else ""
        return Change(
            self.name,
            region,
            target,
            before={"new_revision_active": False, "services": dict.fromkeys(services, old_arn)},
            after={"new_revision_active": True, "services": {}},  # filled in by apply
            summary=f"register a revision of {old_arn} with task role {role_arn}{moved}",
        )

    def journaled(self, change: Change, journal_id: str) -> Change:
        if change.target.get("new_revision"):  # registers nothing
            return change
        return replace(change, target={**change.target, "journal_id": journal_id})

    def apply(self, clients: AwsClients, change: Change) -> Change:
        ecs = clients.client("ecs", change.region)
        if change.target.get("new_revision"):  # the revision exists: move the services
            for service in change.target["services"]:
                _move(ecs, service, change.target["new_revision"])
            return change
        definition, tags = _describe(clients, change.region, change.target["task_definition_arn"])
        kwargs = {key: definition[key] for key in COPIED if key in definition}
        kwargs["taskRoleArn"] = change.target["task_role_arn"]
        tags = [tag for tag in tags if tag.get("key") != JOURNAL_TAG]  # the old one's, if any
        if change.target.get("journal_id"):
            tags.append({"key": JOURNAL_TAG, "value": change.target["journal_id"]})
        if tags:
            kwargs["tags"] = tags
        new_arn = _register(clients, change, kwargs)
        moved = dict.fromkeys(change.target["services"], new_arn)
        applied = change.with_after(
            {"new_revision_active": True, "services": moved},
            new_revision=new_arn,
            registered_here=True,
        )
        for service in change.target["services"]:
            try:
                _move(ecs, service, new_arn)
            except ActionError as error:  # the journal must still learn the new revision
                raise PartialChangeError(error, applied) from error
        return applied

    def read(self, clients: AwsClients, change: Change) -> State:
        new_arn = change.target.get("new_revision") or next(iter(_tagged(clients, change)), None)
        active = False
        if new_arn:
            definition, _tags = _describe(clients, change.region, new_arn)
            active = definition.get("status") == "ACTIVE"
        ecs = clients.client("ecs", change.region)
        services = {}
        for arn in change.target["services"]:
            cluster = _cluster_of(arn)
            described = call(
                ActionError,
                "ecs:DescribeServices",
                ecs.describe_services,
                cluster=cluster,
                services=[arn],
            )["services"]
            services[arn] = described[0]["taskDefinition"] if described else None
        return {"new_revision_active": active, "services": services}

    def undo(self, clients: AwsClients, change: Change) -> None:
        ecs = clients.client("ecs", change.region)
        for service, old in change.before["services"].items():
            _move(ecs, service, old)
        new_arn = change.target.get("new_revision")
        if new_arn and not change.target.get("registered_here"):  # never one it did not create
            return
        # A revision whose reply was lost is RoleWarden's by its tag.
        for arn in [new_arn] if new_arn else _tagged(clients, change):
            call(
                ActionError,
                "ecs:DeregisterTaskDefinition",
                ecs.deregister_task_definition,
                taskDefinition=arn,
            )


def _register(clients: AwsClients, change: Change, kwargs: dict[str, Any]) -> str:
    """Register once; after a lost reply, the revision tagged with the journal id is adopted."""
    ecs = clients.single_attempt("ecs", change.region)  # botocore would retry blind
    journal_id = change.target.get("journal_id")

    def register() -> str:
        return str(ecs.register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"])

    def tagged() -> str | None:
        return next(iter(_tagged(clients, change)), None)

    return create_once(
        "ecs:RegisterTaskDefinition",
        register,
        tagged if journal_id else None,
        looked_for=f"a revision tagged {JOURNAL_TAG}={journal_id}",
    )


def _tagged(clients: AwsClients, change: Change) -> list[str]:
    """The family's ACTIVE revisions after the old one tagged with this entry's id, newest first.

    (moto answers ListTaskDefinitions with status ALL with nothing, and ignores `sort`: the
    revisions are ordered here.)"""
    journal_id = change.target.get("journal_id")
    if not journal_id:
        return []
    family, old = _family_and_revision(change.target["task_definition_arn"])
    ecs = clients.client("ecs", change.region)
    listed = pages(
        ActionError,
        "ecs:list_task_definitions",
        ecs.get_paginator("list_task_definitions").paginate,
        familyPrefix=family,
        status="ACTIVE",
    )
    newer = sorted(
        (revision, arn)
        for page in listed
        for arn in page["taskDefinitionArns"]
        for name, revision in [_family_and_revision(arn)]
        if name == family and revision > old
    )
    tag = {"key": JOURNAL_TAG, "value": journal_id}
    return [
        arn
        for _revision, arn in reversed(newer)
        if tag in _describe(clients, change.region, arn)[1]
    ]


def _family_and_revision(arn: str) -> tuple[str, int]:
    """arn:aws:ecs:region:account:task-definition/FAMILY:REVISION."""
    definition = Arn.parse(arn)
    return definition.family, definition.revision or 0


def _describe(clients: AwsClients, region: str, arn: str) -> tuple[Mapping[str, Any], list[Any]]:
    ecs = clients.client("ecs", region)
    response = call(
        ActionError,
        "ecs:DescribeTaskDefinition",
        ecs.describe_task_definition,
        taskDefinition=arn,
        include=["TAGS"],
    )
    return response["taskDefinition"], response.get("tags", [])


def _existing_revision(
    clients: AwsClients, region: str, old: Mapping[str, Any], role_arn: str
) -> str | None:
    """The family's latest ACTIVE revision, when it is this one plus the task role."""
    latest, _tags = _describe(clients, region, old["family"])  # a family names its latest
    same = (
        latest["taskDefinitionArn"] != old["taskDefinitionArn"]
        and latest.get("status") == "ACTIVE"
        and latest.get("taskRoleArn") == role_arn
        and all(latest.get(key) == old.get(key) for key in COPIED)
    )
    return str(latest["taskDefinitionArn"]) if same else None


def _services_running(clients: AwsClients, region: str, task_definition_arn: str) -> Iterator[str]:
    for service in described_services(clients.client("ecs", region)):
        if service.get("taskDefinition") == task_definition_arn:
            yield str(service["serviceArn"])


def _cluster_of(service_arn: str) -> str:
    """arn:aws:ecs:region:account:service/CLUSTER/NAME (the long ARN format)."""
    try:
        cluster = Arn.parse(service_arn).cluster
    except MalformedArnError:
        cluster = None
    if cluster is None:
        raise ActionError(f"not a service ARN in the long format: {service_arn}")
    return cluster


def _move(ecs: ECSClient, service_arn: str, task_definition_arn: str) -> None:
    call(
        ActionError,
        "ecs:UpdateService",
        ecs.update_service,
        cluster=_cluster_of(service_arn),
        service=service_arn,
        taskDefinition=task_definition_arn,
    )
