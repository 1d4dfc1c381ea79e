"""EventBridge events RoleWarden listens to, and which resources each one touched.

"AWS API Call via CloudTrail" for the calls that change how compute gets credentials,
and "ECS Task State Change" for tasks that reach RUNNING. A call that failed
(`errorCode`) changed nothing and is skipped.

Where a call names its resources in its response and CloudTrail left the response out
(missing, null, or truncated to `{"omitted": true}`), the resources are those its request
names: a task definition's family (its latest ACTIVE revision), the task definition a
service or task runs, the instance ids. Only a call whose request names none is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from rolewarden.aws.tags import tag_dict
from rolewarden.evaluation.event_limits import check_depth, load_json_text
from rolewarden.evaluation.targets import Targets
from rolewarden.rules.exemptions import (
    EXEMPT_REASON_TAG,
    EXEMPT_RULES_TAG,
    EXEMPT_UNTIL_TAG,
    EXEMPTION_TAGS,
)

CLOUDTRAIL_CALL = "AWS API Call via CloudTrail"
# Parameter names (lower case) whose values name a resource: an empty one is malformed.
RESOURCE_ID_KEYS = frozenset(
    {
        "rolename",
        "instanceid",
        "ec2instanceid",
        "instanceprofilename",
        "policyarn",
        "resourcearn",
        "resourceid",
        "taskdefinition",
        "taskdefinitionarn",
        "taskarn",
    }
)
NonEmpty = Annotated[str, Field(min_length=1)]
ECS_TASK_STATE_CHANGE = "ECS Task State Change"


class EventBridgeEvent(BaseModel):
    """The envelope every EventBridge event has: the fields of Powertools' EventBridgeModel,
    without importing Powertools' parser (about 4 ms of the event function's cold start)."""

    model_config = ConfigDict(populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    replay_name: str | None = Field(default=None, alias="replay-name")


class CloudTrailDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    event_source: str = Field(alias="eventSource")
    event_name: str = Field(alias="eventName")
    aws_region: str = Field(alias="awsRegion")
    event_id: str = Field(alias="eventID")
    error_code: str | None = Field(default=None, alias="errorCode")
    user_identity: dict[str, Any] = Field(default_factory=dict, alias="userIdentity")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")

    @model_validator(mode="before")
    @classmethod
    def _not_too_deep(cls, value: Any) -> Any:
        check_depth(value, "the call's detail")  # before anything walks it
        return value

    @model_validator(mode="after")
    def _no_empty_resource_id(self) -> Self:
        empty = sorted(
            {
                name
                for root in (self.request_parameters, self.response_elements)
                for item in _objects(root)
                for name, value in item.items()
                if name.lower() in RESOURCE_ID_KEYS and _blank(value)
            }
        )
        if empty:
            raise ValueError(f"empty resource id: {', '.join(empty)}")
        return self

    @property
    def response_state(self) -> Literal["present", "missing", "truncated"]:
        """Whether CloudTrail kept the call's response: it writes null (or nothing) for some
        calls, and `{"omitted": true}` for a response beyond its field size."""
        elements = self.response_elements
        if not elements:
            return "missing"
        return "truncated" if elements.get("omitted") is True else "present"

    @property
    def response(self) -> dict[str, Any] | None:
        """The response, when CloudTrail kept it whole."""
        return self.response_elements if self.response_state == "present" else None

    @property
    def actor(self) -> str:
        """Who made the call: the principal's ARN (an assumed role's session) or its type."""
        identity = self.user_identity
        return str(identity.get("arn") or identity.get("principalId") or identity.get("type", "?"))


class CloudTrailEvent(EventBridgeEvent):
    detail_type: Literal["AWS API Call via CloudTrail"] = Field(alias="detail-type")
    detail: CloudTrailDetail


class EcsTaskDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    task_arn: NonEmpty = Field(alias="taskArn")
    cluster_arn: NonEmpty = Field(alias="clusterArn")
    last_status: str = Field(alias="lastStatus")


class EcsTaskStateChangeEvent(EventBridgeEvent):
    detail_type: Literal["ECS Task State Change"] = Field(alias="detail-type")
    detail: EcsTaskDetail


TriggerEvent = Annotated[
    CloudTrailEvent | EcsTaskStateChangeEvent, Field(discriminator="detail_type")
]
TRIGGER_EVENT: TypeAdapter[CloudTrailEvent | EcsTaskStateChangeEvent] = TypeAdapter(TriggerEvent)


@dataclass(frozen=True)
class ExemptionChange:
    """Someone added or removed an exemption tag: an accepted risk changed hands (or was
    narrowed to some rules, or widened to every rule, by `rolewarden:exempt-rules`)."""

    event_name: str
    actor: str
    resource: str
    change: Literal["added", "removed"]
    until: str | None = None
    reason: str | None = None
    rules: tuple[str, ...] | None = None  # the rule ids an added rules tag names
    tags: tuple[str, ...] = ()  # the exemption tags added or removed


@dataclass(frozen=True)
class Skip:
    """The event names nothing to evaluate; the reason (and the details) are logged."""

    reason: str
    details: Mapping[str, str] = field(default_factory=dict)


# --- which resources a call touched -------------------------------------------------------

Extractor = Callable[[CloudTrailDetail], Targets | Skip]
ACCOUNT_IMDS_DEFAULTS_RULE = "account-imds-defaults-allow-imdsv1"  # design.md, not built yet


def _instances(detail: CloudTrailDetail) -> Targets:
    ids = {value for value in _values(detail, "instanceid") if value.startswith("i-")}
    ids |= {value for value in _values(detail, "ec2instanceid") if value.startswith("i-")}
    return Targets(instance_ids=frozenset(ids))


def _instances_and_their_roles(detail: CloudTrailDetail) -> Targets:
    """A launch or a new profile: the instance, and its role as an instance's role."""
    return Targets(instance_ids=_instances(detail).instance_ids, instance_roles=True)


def _registered_instance(detail: CloudTrailDetail) -> Targets:
    """A new ECS host: its role becomes a host role. The request's signed identity document
    names the instance too (a JSON text), for when the response is not there."""
    ids = set(_instances(detail).instance_ids)
    document = (detail.request_parameters or {}).get("instanceIdentityDocument")
    if isinstance(document, str):
        try:
            named = load_json_text(document, "instanceIdentityDocument").get("instanceId")
        except (ValueError, AttributeError):
            named = None
        if isinstance(named, str) and named.startswith("i-"):
            ids.add(named)
    return Targets(instance_ids=frozenset(ids), instance_roles=True)


def _tagged_instances(detail: CloudTrailDetail) -> Targets:
    ids = {value for value in _values(detail, "resourceid") if value.startswith("i-")}
    return Targets(instance_ids=frozenset(ids))


def _role(detail: CloudTrailDetail) -> Targets:
    return Targets(role_names=frozenset(_values(detail, "rolename")))


def _policy(detail: CloudTrailDetail) -> Targets:
    return Targets(policy_arns=frozenset(_values(detail, "policyarn")))


def _role_and_profile(detail: CloudTrailDetail) -> Targets:
    return Targets(
        role_names=frozenset(_values(detail, "rolename")),
        instance_profile_names=frozenset(_values(detail, "instanceprofilename")),
    )


def _task_definition(detail: CloudTrailDetail) -> Targets:
    """The revision the response names; without the response, what the request names."""
    if detail.response is None:
        return _requested_task_definition(detail)
    arns = {
        value
        for key in ("taskdefinitionarn", "taskdefinition")
        for value in _values(detail, key, source="response")
        if ":task-definition/" in value
    }
    return Targets(task_definition_arns=frozenset(arns))


def _requested_task_definition(detail: CloudTrailDetail) -> Targets:
    """RegisterTaskDefinition names a family (its latest ACTIVE revision is the one just
    registered, or newer); the other calls a family, family:revision or an ARN."""
    request = detail.request_parameters or {}
    named = request.get("family") if detail.event_name == "RegisterTaskDefinition" else None
    named = named or request.get("taskDefinition")
    if not isinstance(named, str) or not named:
        return Targets()
    if named.startswith("arn:") and ":task-definition/" in named:
        return Targets(task_definition_arns=frozenset({named}))
    return Targets(task_definition_names=frozenset({named}))


def _tasks(detail: CloudTrailDetail) -> Targets:
    """The tasks started, each in its cluster: the task's own `clusterArn`, else the
    cluster the request names, else the default cluster. Without the response, the tasks
    are judged when they reach RUNNING (ECS Task State Change); the task definition the
    request names is judged now."""
    response = detail.response
    if response is None:
        return _requested_task_definition(detail)
    requested = (detail.request_parameters or {}).get("cluster")
    started = response.get("tasks")
    tasks = set()
    for item in started if isinstance(started, list) else []:
        task_arn = item.get("taskArn") if isinstance(item, dict) else None
        if not isinstance(task_arn, str):
            continue
        cluster = item.get("clusterArn")
        if not isinstance(cluster, str):
            cluster = _cluster_arn(task_arn, requested if isinstance(requested, str) else None)
        tasks.add((cluster, task_arn))
    return Targets(tasks=frozenset(tasks))


def _ecs_resource(detail: CloudTrailDetail) -> Targets:
    arns = set(_values(detail, "resourcearn"))
    definitions = {arn for arn in arns if ":task-definition/" in arn}
    tasks = {(_cluster_of_task(arn), arn) for arn in arns if ":task/" in arn}
    return Targets(task_definition_arns=frozenset(definitions), tasks=frozenset(tasks))


def _metadata_defaults(detail: CloudTrailDetail) -> Skip:
    """The account's instance metadata defaults (per region) apply to instances launched
    from now on whose launch sets no metadata options: no existing instance changes."""
    changed = {
        _snake(name): str(value)
        for item in _objects(detail.request_parameters)
        for name, value in item.items()
        if name.lower().startswith(("http", "instancemetadata")) and not isinstance(value, dict)
    }
    return Skip(
        "instance metadata defaults apply only to instances launched later, and no existing "
        f"instance changes; {ACCOUNT_IMDS_DEFAULTS_RULE} (a rule still to come) judges them",
        {"event_name": detail.event_name, "actor": detail.actor, **changed},
    )


EXTRACTORS: dict[tuple[str, str], Extractor] = {
    ("ec2.amazonaws.com", "RunInstances"): _instances_and_their_roles,
    ("ec2.amazonaws.com", "AssociateIamInstanceProfile"): _instances_and_their_roles,
    ("ec2.amazonaws.com", "ReplaceIamInstanceProfileAssociation"): _instances_and_their_roles,
    ("ec2.amazonaws.com", "DisassociateIamInstanceProfile"): _instances,
    ("ec2.amazonaws.com", "ModifyInstanceMetadataOptions"): _instances,
    ("ec2.amazonaws.com", "ModifyInstanceMetadataDefaults"): _metadata_defaults,
    ("ec2.amazonaws.com", "CreateTags"): _tagged_instances,
    ("ec2.amazonaws.com", "DeleteTags"): _tagged_instances,
    ("iam.amazonaws.com", "AttachRolePolicy"): _role,
    ("iam.amazonaws.com", "DetachRolePolicy"): _role,
    ("iam.amazonaws.com", "PutRolePolicy"): _role,
    ("iam.amazonaws.com", "DeleteRolePolicy"): _role,
    ("iam.amazonaws.com", "PutRolePermissionsBoundary"): _role,
    ("iam.amazonaws.com", "DeleteRolePermissionsBoundary"): _role,
    ("iam.amazonaws.com", "TagRole"): _role,
    ("iam.amazonaws.com", "UntagRole"): _role,
    ("iam.amazonaws.com", "CreatePolicyVersion"): _policy,
    ("iam.amazonaws.com", "SetDefaultPolicyVersion"): _policy,
    ("iam.amazonaws.com", "AddRoleToInstanceProfile"): _role_and_profile,
    ("iam.amazonaws.com", "RemoveRoleFromInstanceProfile"): _role_and_profile,
    ("ecs.amazonaws.com", "RegisterContainerInstance"): _registered_instance,
    ("ecs.amazonaws.com", "RegisterTaskDefinition"): _task_definition,
    ("ecs.amazonaws.com", "CreateService"): _task_definition,
    ("ecs.amazonaws.com", "UpdateService"): _task_definition,
    ("ecs.amazonaws.com", "RunTask"): _tasks,
    ("ecs.amazonaws.com", "StartTask"): _tasks,
    ("ecs.amazonaws.com", "TagResource"): _ecs_resource,
    ("ecs.amazonaws.com", "UntagResource"): _ecs_resource,
}
# The calls whose response names what they touched (their request may not).
NAMED_IN_RESPONSE = frozenset(
    {
        "RunInstances",
        "AssociateIamInstanceProfile",
        "ReplaceIamInstanceProfileAssociation",
        "DisassociateIamInstanceProfile",
        "ModifyInstanceMetadataOptions",
        "RegisterContainerInstance",
        "RegisterTaskDefinition",
        "CreateService",
        "UpdateService",
        "RunTask",
        "StartTask",
    }
)
HANDLED_EVENT_NAMES = sorted({name for _source, name in EXTRACTORS})
TAG_EVENTS = frozenset(
    {"CreateTags", "DeleteTags", "TagRole", "UntagRole", "TagResource", "UntagResource"}
)


def targets_of(event: CloudTrailEvent | EcsTaskStateChangeEvent) -> Targets | Skip:
    if isinstance(event, EcsTaskStateChangeEvent):
        if event.detail.last_status != "RUNNING":
            return Skip(f"task is {event.detail.last_status}, not RUNNING")
        return Targets(tasks=frozenset({(event.detail.cluster_arn, event.detail.task_arn)}))
    detail = event.detail
    if detail.error_code:
        return Skip(f"{detail.event_name} failed ({detail.error_code}): it changed nothing")
    extractor = EXTRACTORS.get((detail.event_source, detail.event_name))
    if extractor is None:
        return Skip(f"{detail.event_source} {detail.event_name} is not a call RoleWarden watches")
    targets = extractor(detail)
    if isinstance(targets, Skip) or not targets.empty:
        return targets
    if _falls_back_on_request(detail):
        return Skip(
            f"CloudTrail kept no response of {detail.event_name} ({detail.response_state}), "
            "and its request names no resource RoleWarden evaluates"
        )
    return Skip(f"{detail.event_name} names no resource RoleWarden evaluates")


def request_fallback(event: CloudTrailEvent | EcsTaskStateChangeEvent) -> dict[str, str] | None:
    """Log fields saying the resources come from the request alone, when they do: the call
    names them in its response, and CloudTrail left it out or truncated it."""
    if not isinstance(event, CloudTrailEvent) or not _falls_back_on_request(event.detail):
        return None
    return {
        "event_name": event.detail.event_name,
        "event_id": event.id,
        "response": event.detail.response_state,
        "reason": "CloudTrail kept no whole response: evaluating what requestParameters names",
    }


def _falls_back_on_request(detail: CloudTrailDetail) -> bool:
    return detail.event_name in NAMED_IN_RESPONSE and detail.response is None


def exemption_changes(event: CloudTrailEvent | EcsTaskStateChangeEvent) -> list[ExemptionChange]:
    """Exemption tags added or removed by a tag call, with who did it."""
    if not isinstance(event, CloudTrailEvent) or event.detail.event_name not in TAG_EVENTS:
        return []
    detail = event.detail
    if detail.error_code:
        return []
    resources = sorted(
        {*_values(detail, "rolename"), *_values(detail, "resourcearn")}
        | {value for value in _values(detail, "resourceid") if value.startswith("i-")}
    )
    added = {
        key: value
        for key, value in tag_dict(_objects(detail.request_parameters)).items()
        if key in EXEMPTION_TAGS
    }
    removed = {value for value in _values(detail, "tagkeys") if value in EXEMPTION_TAGS}
    if detail.event_name == "DeleteTags":  # EC2 names deleted tags in a tag set, like adding
        removed |= set(added)
        added = {}
    rules = added.get(EXEMPT_RULES_TAG)
    changes = []
    for resource in resources:
        if added:
            changes.append(
                ExemptionChange(
                    detail.event_name,
                    detail.actor,
                    resource,
                    "added",
                    until=added.get(EXEMPT_UNTIL_TAG),
                    reason=added.get(EXEMPT_REASON_TAG),
                    rules=None if rules is None else tuple(rules.split()),
                    tags=_in_tag_order(added),
                )
            )
        if removed:
            changes.append(
                ExemptionChange(
                    detail.event_name,
                    detail.actor,
                    resource,
                    "removed",
                    tags=_in_tag_order(removed),
                )
            )
    return changes


def _in_tag_order(keys: Iterable[str]) -> tuple[str, ...]:
    present = set(keys)
    return tuple(tag for tag in EXEMPTION_TAGS if tag in present)


# --- reading CloudTrail's free-form parameters ---------------------------------------------


def _values(
    detail: CloudTrailDetail, key: str, source: Literal["request", "response", "both"] = "both"
) -> set[str]:
    """Every string (or string in a list) under `key`, matched case-insensitively, anywhere
    in the call's parameters: CloudTrail's shapes differ by service and by call."""
    roots = []
    if source in ("request", "both"):
        roots.append(detail.request_parameters)
    if source in ("response", "both"):
        roots.append(detail.response_elements)
    found: set[str] = set()
    for root in roots:
        for item in _objects(root):
            for name, value in item.items():
                if name.lower() != key:
                    continue
                if isinstance(value, str):
                    found.add(value)
                elif isinstance(value, list):
                    found |= {entry for entry in value if isinstance(entry, str)}
    return found


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object nested in a value (depth first)."""
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _objects(child)
    elif isinstance(value, list):
        for child in value:
            yield from _objects(child)


def _blank(value: Any) -> bool:
    """An empty name, or a list holding one."""
    values = value if isinstance(value, list) else [value]
    return any(isinstance(item, str) and not item.strip() for item in values)


def _cluster_arn(task_arn: str, named: str | None) -> str:
    """The ARN of the cluster a request names (a name or an ARN; none: `default`), in the
    task's partition, region and account."""
    if named and named.startswith("arn:"):
        return named
    prefix = task_arn.partition(":task/")[0]
    return f"{prefix}:cluster/{named or 'default'}"


def _snake(name: str) -> str:
    """HttpPutResponseHopLimit -> http_put_response_hop_limit (a log field's name)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _cluster_of_task(task_arn: str) -> str:
    """arn:aws:ecs:region:account:task/CLUSTER/ID -> the cluster's ARN."""
    prefix, _, rest = task_arn.partition(":task/")
    cluster = rest.split("/")[0] if "/" in rest else "default"
    return f"{prefix}:cluster/{cluster}"
