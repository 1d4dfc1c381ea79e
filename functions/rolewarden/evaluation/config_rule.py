"""One AWS Config custom rule invocation: which resources, evaluated how, reported as what.

Config only names the resource; RoleWarden reads its live state (the same targeted reads
as the event path), so a Config rule and a CloudTrail event never disagree.
Scenarios:
  1. A configuration item changed -> evaluate that resource (a policy: the roles using it).
  2. An oversized item -> its summary names the resource; the item is fetched for its status.
  3. A deleted item, or one that left the rule's scope -> NOT_APPLICABLE, nothing read.
  4. Scheduled -> every resource of the rule's type in the account.
  5. The resource cannot be read -> nothing reported (Config keeps the last verdict).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from rolewarden.aws.clients import AwsClients
from rolewarden.evaluation.account import evaluate_account
from rolewarden.evaluation.config_events import (
    ConfigRuleInvocation,
    ConfigurationItem,
    ItemChanged,
    OversizedItemChanged,
)
from rolewarden.evaluation.scope import Scope
from rolewarden.evaluation.targets import Targets, evaluate_targets
from rolewarden.inventory.snapshot import ScanError
from rolewarden.rules.context import RuleContext
from rolewarden.rules.model import Compliance, Evaluation, Finding
from rolewarden.rules.registry import REGISTRY
from rolewarden.rules.resources import EC2_INSTANCE, ECS_TASK_DEFINITION, IAM_ROLE

if TYPE_CHECKING:
    from mypy_boto3_config.type_defs import EvaluationTypeDef

IAM_POLICY = "AWS::IAM::Policy"
MAX_ANNOTATION = 256

FetchItem = Callable[[ConfigurationItem], ConfigurationItem]


class ConfigRuleError(ValueError):
    """The invocation cannot be served (e.g. a rule Config cannot see); the message says why."""


@dataclass(frozen=True)
class ConfigVerdict:
    """One evaluation as PutEvaluations takes it."""

    resource_type: str
    resource_id: str
    compliance: Compliance
    annotation: str
    ordering_timestamp: datetime

    def as_put_evaluation(self) -> EvaluationTypeDef:
        return {
            "ComplianceResourceType": self.resource_type,
            "ComplianceResourceId": self.resource_id,
            "ComplianceType": self.compliance.value,
            "Annotation": self.annotation,
            "OrderingTimestamp": self.ordering_timestamp,
        }


@dataclass
class ConfigRuleResult:
    verdicts: list[ConfigVerdict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)


def evaluate_invocation(
    invocation: ConfigRuleInvocation,
    clients: AwsClients,
    scope: Scope,
    context: RuleContext,
    fetch_item: FetchItem,
) -> ConfigRuleResult:
    rule = REGISTRY[invocation.rule_parameters.rule]
    if not rule.visible_to_config:
        raise ConfigRuleError(
            f"{rule.id} evaluates {rule.resource_type}, which Config does not record"
        )
    message = invocation.invoking_event
    if isinstance(message, ItemChanged | OversizedItemChanged):
        item = message.item if isinstance(message, ItemChanged) else fetch_item(message.summary)
        return _evaluate_item(invocation, item, clients, scope, context)
    return _evaluate_all(invocation, message.notification_time, clients, scope, context)


def _evaluate_item(
    invocation: ConfigRuleInvocation,
    item: ConfigurationItem,
    clients: AwsClients,
    scope: Scope,
    context: RuleContext,
) -> ConfigRuleResult:
    rule = REGISTRY[invocation.rule_parameters.rule]
    result = ConfigRuleResult()

    def not_applicable(why: str) -> ConfigRuleResult:
        result.verdicts.append(
            ConfigVerdict(
                item.resource_type,
                item.resource_id,
                Compliance.NOT_APPLICABLE,
                why,
                item.capture_time,
            )
        )
        return result

    if invocation.event_left_scope:
        return not_applicable("the resource left the rule's scope")
    if item.deleted:
        return not_applicable("the resource was deleted")
    targets = _targets_of(item, rule.resource_type)
    if targets is None:
        return not_applicable(f"{rule.id} does not evaluate {item.resource_type}")
    evaluated = evaluate_targets(clients, targets, scope, context, [rule.id])
    result.findings, result.errors = evaluated.findings, evaluated.errors
    if item.resource_type == IAM_POLICY:
        result.verdicts = [_verdict(e, item.capture_time) for e in evaluated.evaluations]
        return not_applicable("judged through the roles that use it")
    # One resource: report it under the id Config sent, whatever our own naming.
    result.verdicts = [
        ConfigVerdict(
            item.resource_type,
            item.resource_id,
            e.compliance,
            fit_annotation(e.annotation),
            item.capture_time,
        )
        for e in evaluated.evaluations
    ]
    names = {item.resource_id, item.resource_name, item.arn}
    if not result.verdicts and not result.errors and not names & evaluated.found:
        return not_applicable("the resource no longer exists")
    return result  # a rule that stays silent (e.g. a policy it cannot read) reports nothing


def _evaluate_all(
    invocation: ConfigRuleInvocation,
    notification_time: datetime,
    clients: AwsClients,
    scope: Scope,
    context: RuleContext,
) -> ConfigRuleResult:
    """A scheduled run: every resource of the rule's type (a role with hosts anywhere)."""
    rule = REGISTRY[invocation.rule_parameters.rule]
    covered = scope.all_regions if rule.global_resource else [scope.region]
    evaluated = evaluate_account(
        clients, scope.account, scope.partition, covered, context, [rule.id]
    )
    return ConfigRuleResult(
        verdicts=[
            _verdict(e, notification_time) for run in evaluated.runs for e in run.evaluations
        ],
        findings=[finding for run in evaluated.runs for finding in run.findings],
        errors=evaluated.errors,
    )


def _targets_of(item: ConfigurationItem, rule_type: str) -> Targets | None:
    if item.resource_type == EC2_INSTANCE == rule_type:
        return Targets(instance_ids=frozenset({item.resource_id}))
    if item.resource_type == IAM_ROLE == rule_type and item.resource_name:
        return Targets(role_names=frozenset({item.resource_name}))
    if item.resource_type == IAM_POLICY and rule_type == IAM_ROLE and item.arn:
        return Targets(policy_arns=frozenset({item.arn}))
    if item.resource_type == ECS_TASK_DEFINITION == rule_type:
        return Targets(task_definition_arns=frozenset({item.arn or item.resource_id}))
    return None


def _verdict(evaluation: Evaluation, when: datetime) -> ConfigVerdict:
    return ConfigVerdict(
        evaluation.resource.type,
        evaluation.resource.id,
        evaluation.compliance,
        fit_annotation(evaluation.annotation),
        when,
    )


def fit_annotation(text: str) -> str:
    return text if len(text) <= MAX_ANNOTATION else text[: MAX_ANNOTATION - 1] + "…"
