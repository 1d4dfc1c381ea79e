"""Notices to Slack through an incoming webhook whose URL lives in Secrets Manager.

The webhook URL is a credential (whoever holds it posts to the channel): it is read
through Powertools Parameters, cached a few minutes, checked to be a Slack webhook, and
never written to a log or an error. Slack's 429 and 5xx answers are retried, after
Retry-After when Slack gives one, within a bounded number of attempts and total wait.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import GetParameterError, SecretsProvider

from rolewarden.aws.clients import RETRY_CONFIG
from rolewarden.aws.errors import error_code
from rolewarden.notify.channel import NotifyError
from rolewarden.notify.notice import Notice
from rolewarden.notify.slack_blocks import slack_message
from rolewarden.observability import logger

# A rotated URL is picked up within this time.
SECRET_MAX_AGE_SECONDS = 300
SLACK_HOST = "hooks.slack.com"
# A stand-in for Slack on this machine (the demo, the tests): plain HTTP is fine there.
LOCAL_HOSTS = ("127.0.0.1", "localhost")
FIRST_BACKOFF_SECONDS = 0.5
BODY_SHOWN = 100  # Slack answers a refusal with a short code such as `invalid_payload`


@dataclass(frozen=True)
class _Answer:
    status: int
    body: str
    retry_after: float | None = None


class SlackChannel:
    name = "slack"

    def __init__(
        self,
        secret_name: str,
        *,
        boto3_session: boto3.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 4,
        max_wait_seconds: float = 10.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.secret_name = secret_name
        self.boto3_session = boto3_session
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.max_wait_seconds = max_wait_seconds
        self.timeout_seconds = timeout_seconds
        self._provider: SecretsProvider | None = None

    def send(self, notice: Notice) -> None:
        url = self.webhook_url()
        body = json.dumps(slack_message(notice)).encode()
        self._deliver(url, body)

    def webhook_url(self) -> str:
        url = webhook_url_in(self._secret())
        if url is None:
            raise NotifyError(
                f"Slack secret {self.secret_name} does not hold a webhook URL "
                f"(https://{SLACK_HOST}/...)"
            )
        return url

    def _secret(self) -> object:
        """The secret's value, cached. Without a session of its own, the channel uses
        Powertools' shared provider, whose cache outlives the channel (a warm Lambda)."""
        try:
            if self.boto3_session is None:
                return parameters.get_secret(self.secret_name, max_age=SECRET_MAX_AGE_SECONDS)
            if self._provider is None:
                self._provider = SecretsProvider(
                    boto3_session=self.boto3_session, boto_config=RETRY_CONFIG
                )
            return self._provider.get(self.secret_name, max_age=SECRET_MAX_AGE_SECONDS)
        except GetParameterError as error:
            raise NotifyError(
                f"Slack secret {self.secret_name} cannot be read ({_error_code(error)})"
            ) from error

    def _deliver(self, url: str, body: bytes) -> None:
        """Posts until Slack takes it: at most `max_attempts` posts and `max_wait_seconds`
        of waiting between them, whatever Retry-After asks."""
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            answer = self._post(url, body)
            if 200 <= answer.status < 300:
                return
            if not retryable(answer.status):
                raise NotifyError(f"Slack refused the message: HTTP {answer.status} {answer.body}")
            remaining = self.max_wait_seconds - waited
            if attempt >= self.max_attempts or remaining <= 0:
                break
            wait = min(self._backoff(attempt, answer), remaining)
            logger.warning(
                "Slack asked to retry",
                secret=self.secret_name,
                status=answer.status,
                attempt=attempt,
                wait_seconds=wait,
            )
            self.sleep(wait)
            waited += wait
        raise NotifyError(
            f"Slack did not take the message after {attempt} attempts "
            f"({waited:g}s of waiting): HTTP {answer.status} {answer.body}"
        )

    @staticmethod
    def _backoff(attempt: int, answer: _Answer) -> float:
        if answer.retry_after is not None:
            return answer.retry_after
        return float(FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1))

    def _post(self, url: str, body: bytes) -> _Answer:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked: https, or http to this machine
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with _opener(url).open(request, timeout=self.timeout_seconds) as response:
                return _Answer(response.status, _short(response.read(), url))
        except urllib.error.HTTPError as error:
            with error:
                retry_after = _seconds(error.headers.get("Retry-After"))
                return _Answer(error.code, _short(error.read(), url), retry_after)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            # `from None`: an exception of urllib may carry the URL in its attributes.
            raise NotifyError(
                f"Slack webhook unreachable: {type(reason).__name__}: {_redact(str(reason), url)}"
            ) from None


def webhook_url_in(value: object) -> str | None:
    """The webhook URL held by a secret: the URL itself, or {"webhook_url": "..."}."""
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("{"):
        try:
            data: Any = json.loads(text)
        except ValueError:
            return None
        url = data.get("webhook_url") if isinstance(data, dict) else None
        if not isinstance(url, str):
            return None
        text = url.strip()
    return text if is_webhook_url(text) else None


def is_webhook_url(url: str) -> bool:
    """https://hooks.slack.com/..., or plain HTTP to a stand-in on this machine."""
    if any(char.isspace() or not char.isprintable() for char in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    if parts.scheme == "https":
        return parts.hostname == SLACK_HOST and port is None and len(parts.path) > 1
    # A local stand-in (the demo, tests), never inside Lambda: there 127.0.0.1 is the
    # Runtime API, not Slack.
    in_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    return parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and not in_lambda


def retryable(status: int) -> bool:
    return status == 429 or 500 <= status < 600


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook never redirects: a 3xx is an answer, not a reason to post elsewhere."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def _opener(url: str) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if urlsplit(url).hostname in LOCAL_HOSTS:
        handlers.append(urllib.request.ProxyHandler({}))  # this machine, never a proxy
    return urllib.request.build_opener(*handlers)


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds (Slack sends whole seconds); None when absent or not a number."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _short(body: bytes, url: str) -> str:
    """Slack's answer on one short line (`ok`, `invalid_payload`), never the URL."""
    text = body[: BODY_SHOWN * 4].decode(errors="replace")
    line = " ".join(text.split())
    line = "".join(char for char in line if char.isprintable())
    return _redact(line, url)[:BODY_SHOWN]


def _redact(text: str, url: str) -> str:
    path = urlsplit(url).path
    text = text.replace(url, "<webhook>")
    return text.replace(path, "<webhook>") if len(path) > 1 else text


def _error_code(error: GetParameterError) -> str:
    """AccessDeniedException, ResourceNotFoundException...: what went wrong, not the text."""
    cause = error.__cause__ or error.__context__
    if cause is None:
        return type(error).__name__
    return error_code(cause) or type(cause).__name__
