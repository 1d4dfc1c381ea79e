"""ec2-instance-without-profile: every live EC2 instance runs with an instance profile.

Scenarios:
  1. An instance (pending, running, stopping or stopped) has no instance profile
     -> NON_COMPLIANT, medium; proposes associating the baseline profile.
  2. An instance has a profile -> COMPLIANT.
  3. No baseline profile is configured -> the proposal says so and is not automatic.
  4. The instance comes from an Auto Scaling group or launch template -> the evidence
     names it: the next instance would repeat the fault.
"""

from __future__ import annotations

from collections.abc import Iterator

from rolewarden.inventory.snapshot import LIVE_INSTANCE_STATES, Snapshot
from rolewarden.rules.context import RuleContext
from rolewarden.rules.evidence import instance_evidence
from rolewarden.rules.guards import resource_guards
from rolewarden.rules.ids import EC2_INSTANCE_WITHOUT_PROFILE as RULE_ID
from rolewarden.rules.model import Evaluation, Remediation, Rule, Severity, Violation
from rolewarden.rules.resources import EC2_INSTANCE, instance_resource

ACTION = "associate-instance-profile"


def evaluate(snapshot: Snapshot, context: RuleContext) -> Iterator[Evaluation]:
    for instance in snapshot.instances.values():
        resource = instance_resource(instance)
        if instance.state not in LIVE_INSTANCE_STATES:
            yield Evaluation.not_applicable(RULE_ID, resource, f"instance is {instance.state}")
            continue
        if instance.profile_arn:
            yield Evaluation.compliant(RULE_ID, resource, "has an instance profile")
            continue
        guards = resource_guards(instance.tags)
        profile = context.baseline_instance_profile
        if profile is None:
            guards.never.append(
                "no baseline instance profile configured (ROLEWARDEN_BASELINE_INSTANCE_PROFILE)"
            )
        evidence = instance_evidence(instance, state=instance.state)
        yield Evaluation.non_compliant(
            RULE_ID,
            resource,
            Violation(
                severity=Severity.MEDIUM,
                title=f"EC2 instance {instance.instance_id} has no instance profile",
                evidence=evidence,
                remediation=Remediation(
                    action=ACTION,
                    automatic=guards.allow_automatic and context.remediates(RULE_ID),
                    params={"instance_id": instance.instance_id, "instance_profile": profile},
                    blockers=guards.freeze(),
                ),
            ),
        )


RULE = Rule(RULE_ID, EC2_INSTANCE, Severity.MEDIUM, evaluate)
