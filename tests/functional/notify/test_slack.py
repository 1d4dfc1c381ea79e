"""Slack channel: the webhook URL from Secrets Manager (moto), posted to a local stand-in
for Slack (an HTTP server on 127.0.0.1) that records what it gets and answers as told."""

from __future__ import annotations

import json
import socket
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.stub import Stubber

from rolewarden.notify.channel import NotifyError
from rolewarden.notify.messages import finding_notice
from rolewarden.notify.notice import Notice
from rolewarden.notify.slack import SlackChannel
from rolewarden.notify.slack_blocks import slack_message
from rolewarden.rules.model import Blockers, Remediation
from sample_findings import a_finding

SECRET_NAME = "rolewarden/slack-webhook"
# The part of a webhook URL that is the credential: it must never show.
TOKEN = "T0000000/B0000000/XXXXsecretXXXX"
NOT_A_WEBHOOK = (
    f"Slack secret {SECRET_NAME} does not hold a webhook URL (https://hooks.slack.com/...)"
)


@dataclass
class Answer:
    status: int
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    """Records each request; answers with the scripted answers, the last one forever."""

    def __init__(self) -> None:
        self.answers = [Answer(200)]
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers["Content-Type"],
                        "json": json.loads(body),
                    }
                )
                answer = fake.answers[min(len(fake.requests), len(fake.answers)) - 1]
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/{TOKEN}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def answer(self, *answers: Answer) -> None:
        self.answers = list(answers)


@pytest.fixture
def aws_credentials(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The functional tests' fake account, without loading AWS managed IAM policies
    (seconds per test): Secrets Manager is all these tests use."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")


@pytest.fixture(autouse=True)
def no_cached_secrets() -> Iterator[None]:
    """Powertools' parameter cache outlives a moto account: every test reads afresh."""
    parameters.clear_caches()
    yield
    parameters.clear_caches()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def store_secret(session: boto3.Session, value: str, name: str = SECRET_NAME) -> None:
    session.client("secretsmanager").create_secret(Name=name, SecretString=value)


def notice() -> Notice:
    finding = a_finding(
        "i-0abc",
        evidence={"state": "running"},
        remediation=Remediation(
            "associate-instance-profile",
            False,
            {"instance_id": "i-0abc", "instance_profile": None},
            Blockers(manual=("no baseline instance profile configured",)),
        ),
    )
    return finding_notice(finding, "sweep")


def shown(error: BaseException) -> str:
    """All a log of the error with its traceback would show, chained errors included."""
    return "".join(traceback.format_exception(error))


class Waits(list[float]):
    """An injected sleep that only records."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_a_notice_arrives_as_its_block_kit_json(mock_aws: boto3.Session, slack: FakeSlack) -> None:
    # Given the webhook URL in Secrets Manager
    store_secret(mock_aws, slack.url)
    channel = SlackChannel(SECRET_NAME, boto3_session=mock_aws, sleep=Waits())

    # When a notice is sent
    channel.send(notice())

    # Then Slack received exactly the Block Kit message, once, on the webhook's path
    assert slack.requests == [
        {
            "path": f"/services/{TOKEN}",
            "content_type": "application/json; charset=utf-8",
            "json": slack_message(notice()),
        }
    ]


def test_a_secret_holding_json_with_the_webhook_url_works(
    mock_aws: boto3.Session, slack: FakeSlack
) -> None:
    # Given the secret as JSON: {"webhook_url": ...}
    store_secret(mock_aws, json.dumps({"webhook_url": slack.url, "channel": "#security"}))

    # When a notice is sent
    SlackChannel(SECRET_NAME, boto3_session=mock_aws).send(notice())

    # Then it arrives
    assert [request["json"] for request in slack.requests] == [slack_message(notice())]


def test_429_is_retried_after_the_wait_slack_asks_for(
    mock_aws: boto3.Session, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given Slack rate-limits the first post (Retry-After: 1), then takes it
    store_secret(mock_aws, slack.url)
    slack.answer(Answer(429, "rate_limited", {"Retry-After": "1"}), Answer(200))
    waits = Waits()

    # When a notice is sent
    SlackChannel(SECRET_NAME, boto3_session=mock_aws, sleep=waits).send(notice())

    # Then it was posted twice, one second apart, and the retry's log has no URL
    assert len(slack.requests) == 2
    assert slack.requests[1]["json"] == slack_message(notice())
    assert waits == [1]
    [retry] = [record for record in caplog.records if record.name == "rolewarden"]
    assert retry.getMessage() == "Slack asked to retry"
    assert TOKEN not in str(vars(retry)) + caplog.text


def test_500_forever_gives_up_after_max_attempts_with_bounded_waits(
    mock_aws: boto3.Session, slack: FakeSlack
) -> None:
    # Given Slack answers 500 to every post
    store_secret(mock_aws, slack.url)
    slack.answer(Answer(500, "internal_error"))
    waits = Waits()
    channel = SlackChannel(
        SECRET_NAME, boto3_session=mock_aws, sleep=waits, max_attempts=4, max_wait_seconds=10
    )

    # When a notice is sent
    with pytest.raises(NotifyError) as raised:
        channel.send(notice())

    # Then it posted 4 times, backing off 0.5, 1 and 2 seconds, and says so without the URL
    assert len(slack.requests) == 4
    assert waits == [0.5, 1, 2]
    assert str(raised.value) == (
        "Slack did not take the message after 4 attempts (3.5s of waiting): HTTP 500 internal_error"
    )
    assert TOKEN not in shown(raised.value)


def test_a_long_retry_after_is_capped_by_the_total_wait(
    mock_aws: boto3.Session, slack: FakeSlack
) -> None:
    # Given Slack asks for two minutes, every time
    store_secret(mock_aws, slack.url)
    slack.answer(Answer(429, "rate_limited", {"Retry-After": "120"}))
    waits = Waits()
    channel = SlackChannel(SECRET_NAME, boto3_session=mock_aws, sleep=waits, max_wait_seconds=10)

    # When a notice is sent
    with pytest.raises(NotifyError, match=r"after 2 attempts \(10s of waiting\): HTTP 429"):
        channel.send(notice())

    # Then it waited 10 seconds in all, not two minutes
    assert waits == [10]
    assert len(slack.requests) == 2


def test_400_invalid_payload_fails_at_once(mock_aws: boto3.Session, slack: FakeSlack) -> None:
    # Given Slack refuses the payload
    store_secret(mock_aws, slack.url)
    slack.answer(Answer(400, "invalid_payload"))
    waits = Waits()

    # When a notice is sent
    with pytest.raises(NotifyError) as raised:
        SlackChannel(SECRET_NAME, boto3_session=mock_aws, sleep=waits).send(notice())

    # Then there is no retry, and the error gives Slack's short answer
    assert str(raised.value) == "Slack refused the message: HTTP 400 invalid_payload"
    assert len(slack.requests) == 1
    assert waits == []


@pytest.mark.parametrize(
    "value",
    [
        f"https://example.com/services/{TOKEN}",
        f"http://hooks.slack.com/services/{TOKEN}",
        f"https://hooks.slack.com.example.com/services/{TOKEN}",
        f"https://hooks.slack.com@example.com/services/{TOKEN}",
        f"https://hooks.slack.com:8443/services/{TOKEN}",
        f"http://10.0.0.1:8080/services/{TOKEN}",
        f"xoxb-{TOKEN}",
        json.dumps({"url": f"https://hooks.slack.com/services/{TOKEN}"}),
        json.dumps({"webhook_url": f"https://example.com/{TOKEN}"}),
        "{" + TOKEN,
        "https://hooks.slack.com/",
    ],
    ids=[
        "other-host",
        "plain-http",
        "lookalike-host",
        "userinfo",
        "other-port",
        "http-not-local",
        "a-token",
        "json-without-webhook_url",
        "json-other-host",
        "broken-json",
        "no-path",
    ],
)
def test_a_secret_that_is_not_a_webhook_url_is_a_clear_error_that_never_shows_it(
    value: str,
    mock_aws: boto3.Session,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a secret that holds something else than a Slack webhook URL
    store_secret(mock_aws, value)
    caplog.set_level("DEBUG", logger="rolewarden")

    # When a notice is sent
    with pytest.raises(NotifyError) as raised:
        SlackChannel(SECRET_NAME, boto3_session=mock_aws).send(notice())

    # Then the error names the secret, not its value; nothing was posted, nothing leaked
    assert str(raised.value) == NOT_A_WEBHOOK
    assert slack.requests == []
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err + caplog.text + shown(raised.value)


def test_a_missing_secret_is_an_error_naming_it(mock_aws: boto3.Session) -> None:
    # Given no secret of that name
    channel = SlackChannel("rolewarden/no-such-secret", boto3_session=mock_aws)

    # When a notice is sent
    with pytest.raises(NotifyError) as raised:
        channel.send(notice())

    # Then the error names the secret and what went wrong
    assert str(raised.value) == (
        "Slack secret rolewarden/no-such-secret cannot be read (ResourceNotFoundException)"
    )


def test_a_secret_the_function_may_not_read_is_an_error_naming_it() -> None:
    # Given Secrets Manager denies GetSecretValue
    client = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stubber = Stubber(client)
    stubber.add_client_error("get_secret_value", "AccessDeniedException", "not authorized")
    stubber.activate()

    class Session:
        def client(self, service: str, **kwargs: Any) -> Any:
            return client

    channel = SlackChannel(SECRET_NAME, boto3_session=Session())  # type: ignore[arg-type]

    # When a notice is sent
    with pytest.raises(NotifyError) as raised:
        channel.send(notice())

    # Then the error names the secret and AWS's error code
    assert str(raised.value) == (
        f"Slack secret {SECRET_NAME} cannot be read (AccessDeniedException)"
    )


def test_slack_unreachable_is_an_error_without_the_url(mock_aws: boto3.Session) -> None:
    # Given a webhook URL on a local port where nothing listens: the port stays bound
    # (never listening) until the notice is sent, so that no server of a test running
    # alongside can take it meanwhile
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        store_secret(mock_aws, f"http://127.0.0.1:{port}/services/{TOKEN}")

        # When a notice is sent
        with pytest.raises(NotifyError) as raised:
            SlackChannel(SECRET_NAME, boto3_session=mock_aws).send(notice())

    # Then the error says why, not where
    assert str(raised.value).startswith("Slack webhook unreachable: ConnectionRefusedError")
    assert TOKEN not in shown(raised.value)
    assert f":{port}/" not in shown(raised.value)


def test_the_secret_is_read_once_within_its_cache_time(
    mock_aws: boto3.Session, slack: FakeSlack
) -> None:
    # Given the channel on Powertools' shared provider (no session of its own), and a
    # secret rotated after the first notice
    store_secret(mock_aws, slack.url)
    channel = SlackChannel(SECRET_NAME)
    channel.send(notice())
    mock_aws.client("secretsmanager").put_secret_value(
        SecretId=SECRET_NAME, SecretString=slack.url.replace(TOKEN, "rotated")
    )

    # When two more notices are sent, the second after the cache is cleared
    channel.send(notice())
    parameters.clear_caches()
    SlackChannel(SECRET_NAME).send(notice())

    # Then the cached URL served until the cache was cleared; then the rotated one
    assert [request["path"] for request in slack.requests] == [
        f"/services/{TOKEN}",
        f"/services/{TOKEN}",
        "/services/rotated",
    ]
