"""Settings: one model read from the environment; a malformed value names its variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cfn_template import load_template
from rolewarden.settings import (
    InstanceRoleScope,
    Mode,
    Settings,
    SettingsError,
    bounds_of,
    known_variables,
)

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "rolewarden"


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


def test_the_task_role_boundary_is_an_iam_policy_arn_of_any_partition() -> None:
    # Given a customer managed policy ARN, in a path, and one in the China partition
    for arn in (
        "arn:aws:iam::123456789012:policy/boundaries/task-boundary",
        "arn:aws-cn:iam::123456789012:policy/task-boundary",
    ):
        # When the settings are read / Then the boundary is that ARN
        settings = Settings.from_env({"ROLEWARDEN_TASK_ROLE_BOUNDARY_ARN": arn})
        assert settings.task_role_boundary_arn == arn


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ROLEWARDEN_RULE_MODES", "no-such-rule=notify", "unknown rule id(s): no-such-rule"),
        ("ROLEWARDEN_RULE_MODES", "ecs-host-imds-exposed", "expected rule=mode"),
        ("ROLEWARDEN_RULE_MODES", "ecs-host-imds-exposed=fix", "Input should be"),
        ("ROLEWARDEN_CONFIG_TEST_MODE", "maybe", "valid boolean"),
        ("ROLEWARDEN_REGIONS", "us-east-1,Ireland", "not a region name: Ireland"),
        ("ROLEWARDEN_INSTANCE_ROLE_SCOPE", "everything", "Input should be"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "*", "a wildcard service cannot be baseline: *"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "*:Get*", "a wildcard service cannot be baseline"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "iam:*", "critical actions cannot be baseline"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "iam:PassRole", "critical actions cannot be"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "s3:PutBucketPolicy", "critical actions cannot"),
        ("ROLEWARDEN_EXTRA_BASELINE_ACTIONS", "GetObject", "not an IAM action"),
        ("ROLEWARDEN_EXTRA_BASELINE_POLICY_ARNS", "AmazonS3FullAccess", "not an IAM policy ARN"),
        ("ROLEWARDEN_TASK_ROLE_BOUNDARY_ARN", "task-boundary", "not an IAM policy ARN"),
        (
            "ROLEWARDEN_TASK_ROLE_BOUNDARY_ARN",
            "arn:aws:iam::123456789012:role/task-boundary",
            "not an IAM policy ARN",
        ),
        ("ROLEWARDEN_MAX_REMEDIATIONS_PER_RUN", "-1", "greater than or equal to 0"),
        ("ROLEWARDEN_MAX_EXEMPTION_DAYS", "a year", "valid integer"),
        ("ROLEWARDEN_MAX_EXEMPTION_DAYS", "99999999", "(allowed: a whole number from 0 to 3650)"),
        ("ROLEWARDEN_MAX_REMEDIATIONS_PER_HOUR", "1e9", "(allowed: a whole number from 0 to"),
        ("ROLEWARDEN_DEDUP_HOURS", "-1", "(allowed: a whole number from 0 to 8760)"),
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


def test_every_numeric_setting_has_bounds() -> None:
    # Given the settings model / Then every whole-number setting has a lower and upper bound
    numeric = [name for name, info in Settings.model_fields.items() if info.annotation is int]
    assert numeric
    assert [name for name in numeric if bounds_of(name) is None] == []


def test_the_template_bounds_each_numeric_setting_as_the_settings_do() -> None:
    # Given the template's parameter for each whole-number setting a user chooses
    parameters = load_template()["Parameters"]
    numeric = [name for name, info in Settings.model_fields.items() if info.annotation is int]
    for name in numeric:
        parameter = parameters["".join(part.title() for part in name.split("_"))]
        # Then CloudFormation refuses what start-up would refuse
        assert (parameter["MinValue"], parameter["MaxValue"]) == bounds_of(name), name


def test_the_known_settings_are_every_variable_the_code_names() -> None:
    # Given every ROLEWARDEN_* name written anywhere in the package (code, messages)
    written = {
        name
        for path in PACKAGE.rglob("*.py")
        for name in re.findall(r"ROLEWARDEN_[A-Z0-9_]*[A-Z0-9]", path.read_text())
    }
    # Then each is a known setting: the check of unknown variables cannot drift
    assert written
    assert sorted(written - known_variables()) == []


def test_an_unknown_variable_is_a_warning_naming_what_it_probably_meant() -> None:
    settings = Settings.from_env({"ROLEWARDEN_DRYRUN": "true", "ROLEWARDEN_COLOUR": "blue"})
    assert settings.dry_run is False  # ignored: it is not the kill switch
    assert settings.warnings == [
        "unknown setting ROLEWARDEN_COLOUR is ignored",
        "unknown setting ROLEWARDEN_DRYRUN (did you mean ROLEWARDEN_DRY_RUN?) is ignored",
    ]


def test_an_unknown_variable_is_refused_where_a_change_could_follow() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"rolewarden_dry_run": "true"}, refuse_unknown=True)
    assert str(raised.value) == (
        "unknown setting(s) rolewarden_dry_run (did you mean ROLEWARDEN_DRY_RUN?): refused "
        "where a change could follow (a misspelled ROLEWARDEN_DRY_RUN must never apply)"
    )


@pytest.mark.parametrize(("value", "dry_run"), [("true", True), ("FALSE", False), ("", False)])
def test_the_kill_switch_is_true_or_false(value: str, dry_run: bool) -> None:
    settings = Settings.from_env({"ROLEWARDEN_DRY_RUN": value})
    assert (settings.dry_run, settings.warnings) == (dry_run, [])


@pytest.mark.parametrize("value", ["true ", " false", "yes please", "1", "no", " "])
def test_a_malformed_kill_switch_is_read_as_true_and_says_why(value: str) -> None:
    # Given ROLEWARDEN_DRY_RUN that is neither true nor false
    settings = Settings.from_env({"ROLEWARDEN_DRY_RUN": value})
    # Then the deployment is read-only (fail safe), and the warning and refusal say why
    problem = f"ROLEWARDEN_DRY_RUN={value!r} is neither true nor false: read as true (fail safe)"
    assert settings.dry_run is True
    assert settings.warnings == [problem]
    assert settings.kill_switch == f"{problem}; this deployment is read-only; nothing was changed"
