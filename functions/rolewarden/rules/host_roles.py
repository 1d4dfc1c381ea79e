"""What an instance role grants, and whether it is an ECS host role.

Shared by the rules that judge a role (instance-role-app-permissions) and those that
judge what a task can reach through its host (ecs-task-without-task-role).
"""

from __future__ import annotations

from rolewarden.aws.arn import Arn
from rolewarden.inventory.snapshot import PolicyDocumentText, Role, Snapshot
from rolewarden.policy.catalogue import ActionCatalogue
from rolewarden.policy.classify import Baseline, RoleVerdict, classify_role, is_ecs_agent_policy
from rolewarden.policy.evaluate import PolicyError, PolicyInput, PolicyRef, evaluate_role


class RolePermissions:
    """Evaluates and classifies each role's policies once per scan."""

    def __init__(self, baseline: Baseline, catalogue: ActionCatalogue) -> None:
        self.baseline = baseline
        self.catalogue = catalogue
        self._verdicts: dict[str, RoleVerdict] = {}

    def verdict(self, snapshot: Snapshot, role: Role) -> RoleVerdict:
        if role.arn not in self._verdicts:
            self._verdicts[role.arn] = self._classify(snapshot, role)
        return self._verdicts[role.arn]

    def _classify(self, snapshot: Snapshot, role: Role) -> RoleVerdict:
        if not role.permissions_read:
            raise ValueError(f"role {role.name}: its policies were not read (no instance uses it)")
        inline = [
            PolicyInput(PolicyRef("inline", policy.name), policy.document)
            for policy in role.inline_policies
        ]
        attached = [_managed_ref(arn) for arn in role.attached_policy_arns]
        inputs: list[PolicyInput] = list(inline)
        missing: list[PolicyError] = []
        for ref in attached:
            document = _document(snapshot, ref)
            if document is not None:
                inputs.append(PolicyInput(ref, document))
            elif not self.baseline.is_baseline_policy(ref):
                missing.append(PolicyError(ref, "policy document could not be read"))
        boundary = None
        if role.boundary_arn:
            ref = _managed_ref(role.boundary_arn)
            document = _document(snapshot, ref)
            if document is not None:
                boundary = PolicyInput(ref, document)
            else:
                missing.append(PolicyError(ref, "permissions boundary could not be read"))
        evaluation = evaluate_role(inputs, self.catalogue, boundary)
        evaluation.errors.extend(missing)
        refs = [item.ref for item in inline] + attached
        return classify_role(evaluation, refs, self.baseline, self.catalogue)


def carries_ecs_agent_policy(role: Role) -> bool:
    return any(is_ecs_agent_policy(arn) for arn in role.attached_policy_arns)


def is_ecs_host_role(snapshot: Snapshot, role: Role) -> bool:
    """Used by a registered ECS container instance, or carries the ECS agent's policy."""
    if carries_ecs_agent_policy(role):
        return True
    hosts = snapshot.ecs_host_instance_ids()
    return any(instance.instance_id in hosts for instance in snapshot.instances_using_role(role))


def _managed_ref(arn: str) -> PolicyRef:
    return PolicyRef("managed", Arn.parse(arn).name, arn)


def _document(snapshot: Snapshot, ref: PolicyRef) -> PolicyDocumentText | None:
    policy = snapshot.iam.managed_policies.get(ref.arn or "")
    return policy.document if policy is not None else None
