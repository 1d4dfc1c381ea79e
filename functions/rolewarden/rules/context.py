"""What every rule is given besides the snapshot: settings, the baseline, the date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from rolewarden.policy.catalogue import ActionCatalogue, default_catalogue
from rolewarden.policy.classify import Baseline, load_baseline
from rolewarden.policy.evaluate import PolicyRef
from rolewarden.rules.host_roles import RolePermissions
from rolewarden.settings import InstanceRoleScope, Mode, Settings


@dataclass
class RuleContext:
    settings: Settings
    today: date
    baseline: Baseline
    catalogue: ActionCatalogue
    roles: RolePermissions

    @classmethod
    def from_settings(cls, settings: Settings, today: date | None = None) -> RuleContext:
        baseline = load_baseline(
            settings.extra_baseline_actions, settings.extra_baseline_policy_arns
        )
        catalogue = default_catalogue()
        return cls(
            settings=settings,
            today=today or datetime.now(UTC).date(),  # the same day in Lambda and the CLI
            baseline=baseline,
            catalogue=catalogue,
            roles=RolePermissions(baseline, catalogue),
        )

    @property
    def scope(self) -> InstanceRoleScope:
        return self.settings.instance_role_scope

    def remediates(self, rule_id: str) -> bool:
        return self.settings.mode(rule_id) is Mode.REMEDIATE and not self.settings.dry_run

    def skip_document(self, arn: str) -> bool:
        """Baseline-by-identity policies need no document: whatever they grant is baseline."""
        return self.baseline.is_baseline_policy(PolicyRef("managed", arn, arn))
