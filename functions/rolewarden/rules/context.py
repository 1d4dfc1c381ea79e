"""What every rule is given besides the snapshot: settings, the baseline, the date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from rolewarden.inventory.snapshot import Role, Snapshot
from rolewarden.policy.catalogue import ActionCatalogue, default_catalogue
from rolewarden.policy.classify import (
    Baseline,
    RoleVerdict,
    classify_role,
    is_ecs_agent_policy,
    load_baseline,
)
from rolewarden.policy.evaluate import PolicyError, PolicyInput, PolicyRef, evaluate_role
from rolewarden.settings import InstanceRoleScope, Mode, Settings


@dataclass
class RuleContext:
    settings: Settings
    today: date
    baseline: Baseline
    catalogue: ActionCatalogue
    _verdicts: dict[str, RoleVerdict] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, today: date | None = None) -> RuleContext:
        return cls(
            settings=settings,
            today=today or datetime.now(UTC).date(),  # the same day in Lambda and the CLI
            baseline=load_baseline(
                settings.extra_baseline_actions, settings.extra_baseline_policy_arns
            ),
            catalogue=default_catalogue(),
        )

    @property
    def scope(self) -> InstanceRoleScope:
        return self.settings.instance_role_scope

    def remediates(self, rule_id: str) -> bool:
        return self.settings.mode(rule_id) is Mode.REMEDIATE and not self.settings.dry_run

    def skip_document(self, arn: str) -> bool:
        """Baseline-by-identity policies need no document: whatever they grant is baseline."""
        return self.baseline.is_baseline_policy(PolicyRef("managed", arn, arn))

    def role_verdict(self, snapshot: Snapshot, role: Role) -> RoleVerdict:
        """The role's policies evaluated and classified, once per role."""
        if role.arn not in self._verdicts:
            self._verdicts[role.arn] = self._classify(snapshot, role)
        return self._verdicts[role.arn]

    def _classify(self, snapshot: Snapshot, role: Role) -> RoleVerdict:
        inputs: list[PolicyInput] = [
            PolicyInput(PolicyRef("inline", policy.name), policy.document)
            for policy in role.inline_policies
        ]
        missing: list[PolicyError] = []
        refs = [item.ref for item in inputs]
        for arn in role.attached_policy_arns:
            ref = PolicyRef("managed", arn.rsplit("/", 1)[-1], arn)
            refs.append(ref)
            policy = snapshot.iam.managed_policies.get(arn)
            if policy is not None and policy.document is not None:
                inputs.append(PolicyInput(ref, policy.document))
            elif not self.baseline.is_baseline_policy(ref):
                missing.append(PolicyError(ref, "policy document could not be read"))
        boundary = None
        if role.boundary_arn:
            ref = PolicyRef("managed", role.boundary_arn.rsplit("/", 1)[-1], role.boundary_arn)
            policy = snapshot.iam.managed_policies.get(role.boundary_arn)
            if policy is not None and policy.document is not None:
                boundary = PolicyInput(ref, policy.document)
            else:
                missing.append(PolicyError(ref, "permissions boundary could not be read"))
        evaluation = evaluate_role(inputs, self.catalogue, boundary)
        evaluation.errors.extend(missing)
        return classify_role(evaluation, refs, self.baseline, self.catalogue)


def is_ecs_host_role(snapshot: Snapshot, role: Role) -> bool:
    """Used by a registered ECS container instance, or carries the ECS agent's policy."""
    if any(is_ecs_agent_policy(arn) for arn in role.attached_policy_arns):
        return True
    hosts = snapshot.ecs_host_instance_ids()
    return any(instance.instance_id in hosts for instance in snapshot.instances_using_role(role))
