"""instance-profile-without-role: an instance's profile must hold a role that exists.

Scenarios:
  1. The instance's profile has no role -> NON_COMPLIANT, medium.
  2. The profile names a role that is gone, or the profile itself is gone -> NON_COMPLIANT.
  3. The profile has a role -> COMPLIANT.
  4. The instance has no profile -> NOT_APPLICABLE (ec2-instance-without-profile reports it).
Adding a role to someone's profile is a person's decision: the proposal is manual.
"""

from __future__ import annotations

from collections.abc import Iterator

from rolewarden.inventory.snapshot import Snapshot
from rolewarden.rules.context import RuleContext
from rolewarden.rules.evidence import instance_evidence
from rolewarden.rules.guards import resource_guards
from rolewarden.rules.ids import INSTANCE_PROFILE_WITHOUT_ROLE as RULE_ID
from rolewarden.rules.model import Evaluation, Remediation, Rule, Severity, Violation
from rolewarden.rules.resources import EC2_INSTANCE, instance_resource, short_name

ACTION = "associate-instance-profile"


def evaluate(snapshot: Snapshot, context: RuleContext) -> Iterator[Evaluation]:
    for instance in snapshot.instances.values():
        resource = instance_resource(instance)
        if not instance.profile_arn:
            yield Evaluation.not_applicable(RULE_ID, resource, "instance has no instance profile")
            continue
        profile = snapshot.iam.instance_profiles.get(instance.profile_arn)
        if profile is None:
            continue  # not read (a scan error says why): never called compliant
        if not profile.exists:
            problem = "is gone"
        elif not profile.role_arns:
            problem = "has no role"
        elif not snapshot.profile_roles(profile.arn):
            if _role_unreadable(snapshot, profile.role_arns[0]):
                continue  # the read failed (a scan error says why): gone is not proven
            problem = f"names role {short_name(profile.role_arns[0])}, which is gone"
        else:
            yield Evaluation.compliant(RULE_ID, resource, f"profile {profile.name} has a role")
            continue
        guards = resource_guards(instance.tags)
        guards.manual.append(
            "the instance already has a profile: replacing it is a person's decision"
        )
        evidence = instance_evidence(
            instance,
            instance_profile={
                "arn": profile.arn,
                "name": profile.name,
                "roles": list(profile.role_arns),
            },
        )
        yield Evaluation.non_compliant(
            RULE_ID,
            resource,
            Violation(
                severity=Severity.MEDIUM,
                title=f"Instance profile {profile.name} of {instance.instance_id} {problem}",
                evidence=evidence,
                remediation=Remediation(
                    action=ACTION,
                    automatic=False,
                    params={
                        "instance_id": instance.instance_id,
                        "instance_profile": context.baseline_instance_profile,
                        "replace": True,
                    },
                    blockers=guards.freeze(),
                ),
            ),
        )


def _role_unreadable(snapshot: Snapshot, role_arn: str) -> bool:
    return any(error.resource in (role_arn, short_name(role_arn)) for error in snapshot.iam.errors)


RULE = Rule(RULE_ID, EC2_INSTANCE, Severity.MEDIUM, evaluate)
