"""Settings: one model read from the environment; a malformed value names its variable."""

from __future__ import annotations

import pytest

from rolewarden.settings import InstanceRoleScope, Mode, Settings, SettingsError


def test_defaults_are_safe_every_rule_notifies() -> None:
    # Given an empty environment
    settings = Settings.from_env({})
    # Then every rule notifies, nothing is read-only by accident, scope is ECS hosts
    assert settings.mode("ecs-host-imds-exposed") is Mode.NOTIFY
    assert settings.dry_run is False
    assert settings.instance_role_scope is InstanceRoleScope.ECS_HOSTS
    assert settings.max_remediations_per_run == 10
    assert settings.max_remediations_per_hour == 30
    assert settings.max_exemption_days == 365
    assert len(settings.enabled_rules()) == 7


def test_rule_modes_and_lists_are_parsed() -> None:
    # Given modes, regions and extra baseline entries written as operators write them
    settings = Settings.from_env(
        {
            "ROLEWARDEN_RULE_MODES": (
                " ecs-host-imds-exposed=remediate, task-role-is-execution-role=off"
            ),
            "ROLEWARDEN_REGIONS": "eu-west-1, us-east-1",
            "ROLEWARDEN_EXTRA_BASELINE_ACTIONS": "kms:Decrypt*,s3:GetObject",
            "ROLEWARDEN_EXTRA_BASELINE_POLICY_ARNS": "arn:aws:iam::111122223333:policy/host-extras",
            "ROLEWARDEN_INSTANCE_ROLE_SCOPE": "all",
            "ROLEWARDEN_DRY_RUN": "true",
        }
    )
    # Then each is what was meant
    assert settings.mode("ecs-host-imds-exposed") is Mode.REMEDIATE
    assert "task-role-is-execution-role" not in settings.enabled_rules()
    assert settings.regions == ("eu-west-1", "us-east-1")
    assert settings.extra_baseline_actions == ("kms:Decrypt*", "s3:GetObject")
    assert settings.instance_role_scope is InstanceRoleScope.ALL
    assert settings.dry_run is True


def test_empty_values_mean_defaults() -> None:
    assert Settings.from_env({"ROLEWARDEN_REGIONS": "", "ROLEWARDEN_TOPIC_ARN": " "}) == Settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ROLEWARDEN_RULE_MODES", "no-such-rule=notify", "unknown rule id(s): no-such-rule"),
        ("ROLEWARDEN_RULE_MODES", "ecs-host-imds-exposed", "expected rule=mode"),
        ("ROLEWARDEN_RULE_MODES", "ecs-host-imds-exposed=fix", "Input should be"),
        ("ROLEWARDEN_DRY_RUN", "maybe", "valid boolean"),
        ("ROLEWARDEN_REGIONS", "us-east-1,Ireland", "not a region name: Ireland"),
        ("ROLEWARDEN_INSTANCE_ROLE_SCOPE", "everything", "Input should be"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "*", "a wildcard service cannot be baseline: *"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "*:Get*", "a wildcard service cannot be baseline"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "iam:*", "critical actions cannot be baseline"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "iam:PassRole", "critical actions cannot be"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "s3:PutBucketPolicy", "critical actions cannot"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "GetObject", "not an IAM action"),
        ("ROLEWARDEN_EXTRA_BASELINE_POLICY_ARNS", "AmazonS3FullAccess", "not an IAM policy ARN"),
        ("ROLEWARDEN_MAX_REMEDIATIONS_PER_RUN", "-1", "greater than or equal to 0"),
        ("ROLEWARDEN_MAX_EXEMPTION_DAYS", "a year", "valid integer"),
    ],
)
def test_malformed_setting_names_the_variable(variable: str, value: str, message: str) -> None:
    # Given one malformed variable
    # When settings are read
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    # Then the error names that variable and says what is wrong
    assert f"{variable}: " in str(raised.value)
    assert message in str(raised.value)
