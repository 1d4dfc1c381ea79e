"""What every rule is given besides the snapshot: the baseline, the date and the few
settings rules read (Settings.rule_context builds it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from rolewarden.policy.catalogue import ActionCatalogue, default_catalogue
from rolewarden.policy.classify import Baseline, load_baseline
from rolewarden.policy.evaluate import PolicyRef
from rolewarden.rules.host_roles import RolePermissions
from rolewarden.rules.modes import InstanceRoleScope


@dataclass
class RuleContext:
    today: date
    baseline: Baseline
    catalogue: ActionCatalogue
    roles: RolePermissions
    scope: InstanceRoleScope
    remediating: frozenset[str]  # the rules whose findings are changed automatically
    max_exemption_days: int
    baseline_instance_profile: str | None

    @classmethod
    def build(
        cls,
        *,
        extra_baseline_actions: Iterable[str] = (),
        extra_baseline_policy_arns: Iterable[str] = (),
        scope: InstanceRoleScope = InstanceRoleScope.ECS_HOSTS,
        remediating: Iterable[str] = (),
        max_exemption_days: int,
        baseline_instance_profile: str | None = None,
        today: date | None = None,
    ) -> RuleContext:
        baseline = load_baseline(tuple(extra_baseline_actions), tuple(extra_baseline_policy_arns))
        catalogue = default_catalogue()
        return cls(
            today=today or datetime.now(UTC).date(),  # the same day in Lambda and the CLI
            baseline=baseline,
            catalogue=catalogue,
            roles=RolePermissions(baseline, catalogue),
            scope=scope,
            remediating=frozenset(remediating),
            max_exemption_days=max_exemption_days,
            baseline_instance_profile=baseline_instance_profile,
        )

    def remediates(self, rule_id: str) -> bool:
        return rule_id in self.remediating

    def skip_document(self, arn: str) -> bool:
        """Baseline-by-identity policies need no document: whatever they grant is baseline."""
        return self.baseline.is_baseline_policy(PolicyRef("managed", arn, arn))
