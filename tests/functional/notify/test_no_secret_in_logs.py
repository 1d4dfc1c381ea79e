"""No secret in a log at any level: at DEBUG botocore would log each response body, the
Slack webhook secret's value (GetSecretValue) and a decrypted SSM parameter among them."""

from __future__ import annotations

import logging

import boto3
import pytest

from rolewarden.notify.slack import SlackChannel

SECRET_NAME = "rolewarden/slack-webhook"
TOKEN = "T0000000/B0000000/XXXXsecretXXXX"  # the part of the URL that is the credential


def captured_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{record.name} {record.getMessage()}" for record in caplog.records)


def test_the_slack_secret_is_in_no_log_record_at_debug(
    mock_aws: boto3.Session, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the webhook URL in Secrets Manager, and logging at DEBUG as LogLevel=DEBUG sets
    # it in Lambda (the runtime's root logger at DEBUG; Powertools at DEBUG)
    url = f"https://hooks.slack.com/services/{TOKEN}"
    mock_aws.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=url)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)

    # When the Slack channel reads the secret as it does before posting
    assert SlackChannel(SECRET_NAME, boto3_session=mock_aws).webhook_url() == url

    # Then AWS calls were logged (the capture works), but no record holds the secret
    assert any(record.name.startswith("botocore") for record in caplog.records)
    assert TOKEN not in captured_text(caplog)


def test_a_decrypted_parameter_is_in_no_log_record_at_debug(
    mock_aws: boto3.Session, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a SecureString parameter, and logging at DEBUG
    ssm = mock_aws.client("ssm")
    ssm.put_parameter(Name="/rolewarden/token", Value=TOKEN, Type="SecureString")
    caplog.set_level(logging.DEBUG)
    # When it is read with decryption / Then its value is in no log record
    value = ssm.get_parameter(Name="/rolewarden/token", WithDecryption=True)["Parameter"]["Value"]
    assert value == TOKEN
    assert TOKEN not in captured_text(caplog)
