"""Evaluate one resource, named by its ARN, with one rule: is the finding still there?

A person asks to remediate `rule` on `resource_arn`; before acting, RoleWarden reads
the resource again and judges it as any trigger would.
"""

from __future__ import annotations

from dataclasses import dataclass

from rolewarden.aws.arn import Arn, MalformedArnError
from rolewarden.aws.clients import AwsClients
from rolewarden.evaluation.scope import Scope
from rolewarden.evaluation.targets import Targets, evaluate_targets
from rolewarden.inventory.snapshot import ScanError
from rolewarden.rules.context import RuleContext
from rolewarden.rules.model import Finding
from rolewarden.rules.registry import REGISTRY
from rolewarden.rules.resources import EC2_INSTANCE, ECS_TASK, ECS_TASK_DEFINITION, IAM_ROLE


class ResourceArnError(ValueError):
    """The ARN does not name a resource any rule judges."""


@dataclass(frozen=True)
class Verdict:
    finding: Finding | None
    reason: str  # why there is no finding: compliant, exempt, not found, unreadable
    errors: tuple[ScanError, ...] = ()


def targets_of_arn(arn: str) -> tuple[Targets, str | None]:
    """The targets that read this resource, and its region (None for IAM, a global service)."""
    try:
        parsed = Arn.parse(arn)
    except MalformedArnError as error:
        raise ResourceArnError(str(error)) from error
    service, region, kind = parsed.service, parsed.region, parsed.resource_type
    if service == "ec2" and kind == "instance" and parsed.resource_id:
        return Targets(instance_ids=frozenset({parsed.resource_id})), region
    if service == "iam" and kind == "role" and parsed.name:
        return Targets(role_names=frozenset({parsed.name})), None
    if service == "ecs" and kind == "task-definition" and parsed.resource_id:
        return Targets(task_definition_arns=frozenset({arn})), region
    if service == "ecs" and kind == "task" and parsed.cluster:
        return Targets(tasks=frozenset({(parsed.cluster, arn)})), region
    raise ResourceArnError(
        f"{arn} is not an EC2 instance, IAM role, ECS task definition or ECS task "
        "(task ARNs in the long format: task/CLUSTER/ID)"
    )


def check_rule_judges(rule: str, arn: str) -> Targets:
    """The targets of `arn`, when `rule` judges that kind of resource."""
    if rule not in REGISTRY:
        raise ResourceArnError(f"unknown rule {rule}")
    targets, _region = targets_of_arn(arn)
    kind = (
        (targets.instance_ids and EC2_INSTANCE)
        or (targets.role_names and IAM_ROLE)
        or (targets.task_definition_arns and ECS_TASK_DEFINITION)
        or ECS_TASK
    )
    if REGISTRY[rule].resource_type != kind:
        raise ResourceArnError(
            f"{rule} judges {REGISTRY[rule].resource_type} resources; {arn} is {kind}"
        )
    return targets


def evaluate_resource(
    clients: AwsClients, scope: Scope, context: RuleContext, rule: str, arn: str
) -> Verdict:
    targets = check_rule_judges(rule, arn)
    result = evaluate_targets(clients, targets, scope, context, [rule])
    for finding in result.findings:
        if finding.rule == rule and finding.resource_arn == arn:
            return Verdict(finding, "")
    errors = tuple(result.errors)
    for evaluation in result.evaluations:
        if evaluation.rule == rule and evaluation.resource.arn == arn:
            return Verdict(None, f"{evaluation.compliance.value}: {evaluation.annotation}", errors)
    if errors:
        return Verdict(None, "could not be read: " + "; ".join(e.message for e in errors), errors)
    return Verdict(None, f"{rule} does not apply to {arn}, or it no longer exists")
