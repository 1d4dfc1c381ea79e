"""The command line's answers that need no account: bad input, AWS failing, control characters.

Scenarios:
  1. `--rules ""` or only separators is a usage error (exit 2), before any AWS call.
  2. A finding id that is not 16 hex digits is an error (exit 2), before any AWS call.
  3. Whatever botocore raises (no credentials, no endpoint, an AWS error, an answer that
     is not an AWS response) is one line on stderr and exit 2, never a traceback. The
     failure is raised by a botocore `before-call` hook: no endpoint, no retries.
  4. `printable` shows every control character as its escape and keeps the rest; a table
     line holding one stays one line.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.parsers import ResponseParserError

from rolewarden.cli import main as cli
from rolewarden.cli.main import EXIT_ERROR, main
from rolewarden.cli.output import printable, render_table
from rolewarden.evaluation.account import ScanResult
from sample_findings import a_finding

NOT_AN_AWS_ANSWER = (
    "Unable to parse response (not well-formed (invalid token): line 2, column 26), invalid "
    "XML received. Further retries may succeed:\nb'<!DOCTYPE html>\\n<html><body><p>Bad "
    "Gateway<br></body></html>\\n'"
)


class Account:
    """The session the CLI gets: every AWS call is recorded, then answered by `failure`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, failure: Exception | None = None):
        self.calls: list[str] = []
        self.failure = failure or AssertionError("no AWS call expected")
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
        )
        session.events.register("before-call", self._call)
        monkeypatch.setattr(cli, "session_from_environment", lambda: session)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name, raising=False)

    def _call(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        raise self.failure


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


# --- 1. --rules that name no rule ---------------------------------------------------------


@pytest.mark.parametrize("rules", ["", " ", ",", " , ", ",,,"])
def test_rules_naming_no_rule_is_a_usage_error_before_any_aws_call(
    rules: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given `--rules "$RULES"` with RULES empty or only separators
    account = Account(monkeypatch)

    # When a scan is started
    code = main(["scan", "--rules", rules])

    # Then exit 2, one line saying --rules names no rule, and AWS was never called
    assert code == EXIT_ERROR
    line = one_error_line(capsys)
    assert line.startswith(f"rolewarden: --rules {rules!r} names no rule: give comma-separated")
    assert account.calls == []


# --- 2. a finding id that is not one ------------------------------------------------------


@pytest.mark.parametrize(
    "finding_id", ["i-0123456789abcdef0", "63f384f5690dcb3", "63f384f5690dcb3d0", "g" * 16, ""]
)
def test_a_finding_id_that_is_not_one_is_an_error_before_any_aws_call(
    finding_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = Account(monkeypatch)

    code = main(["remediate", finding_id, "--apply"])

    assert code == EXIT_ERROR
    assert one_error_line(capsys) == (
        f"rolewarden: not a finding id: {finding_id!r} (16 hex digits, as `rolewarden scan` "
        "prints them)"
    )
    assert account.calls == []


# --- 3. botocore failing ------------------------------------------------------------------

# What the line says, whichever wrapper names the operation (sts:GetCallerIdentity: ...)
FAILURES: dict[str, tuple[Exception, str]] = {
    "no credentials": (NoCredentialsError(), "Unable to locate credentials"),
    "no endpoint": (
        EndpointConnectionError(endpoint_url="https://sts.eu-west-1.amazonaws.com/"),
        'Could not connect to the endpoint URL: "https://sts.eu-west-1.amazonaws.com/"',
    ),
    "an AWS error": (
        ClientError(
            {"Error": {"Code": "ExpiredToken", "Message": "The security token has expired"}},
            "GetCallerIdentity",
        ),
        "ExpiredToken",
    ),
    "not an AWS answer": (
        ResponseParserError(NOT_AN_AWS_ANSWER),
        "rolewarden: AWS error: an answer that is not an AWS response (a proxy, or "
        "AWS_ENDPOINT_URL?): Unable to parse response (not well-formed (invalid token): "
        "line 2, column 26), invalid XML received. Further retries may succeed",
    ),
}
COMMANDS = {
    "scan": ["scan"],
    "remediate": ["remediate", "63f384f5690dcb3d"],
    "restore": ["restore", "20261128T202752Z-8d0dddf4"],
    "journal": ["journal", "--journal-table", "rolewarden-journal"],
}


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_botocore_failure_is_one_line_and_exit_2(
    failure: str,
    command: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given AWS failing this way on the first call
    error, message = FAILURES[failure]
    account = Account(monkeypatch, error)

    # When the command runs
    code = main(COMMANDS[command])

    # Then exit 2 and one line saying what AWS did (not the body it sent), after the one
    # call that failed
    assert code == EXIT_ERROR
    line = one_error_line(capsys)
    assert line.startswith("rolewarden: ")
    assert message in line
    assert "DOCTYPE" not in line
    assert len(account.calls) == 1


def test_a_5xx_without_an_aws_error_names_the_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a proxy answering 503 with a page botocore reads as XML but holds no AWS error
    failure = ClientError({"ResponseMetadata": {"HTTPStatusCode": 503}}, "GetCallerIdentity")
    Account(monkeypatch, failure)

    # When a scan is run / Then the line names the call and the status, not ": "
    assert main(["scan"]) == EXIT_ERROR
    assert one_error_line(capsys) == (
        "rolewarden: sts:GetCallerIdentity: HTTP 503 without an AWS error in the answer"
    )


# --- 4. control characters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("web\nCRITICAL fake-finding", "web\\nCRITICAL fake-finding"),
        ("a\r\tb", "a\\r\\tb"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("nul\x00 bell\x07 del\x7f", "nul\\x00 bell\\x07 del\\x7f"),
        ("csi\x9b nel\x85", "csi\\x9b nel\\x85"),
        ("line\u2028paragraph\u2029", "line\\u2028paragraph\\u2029"),
        ("\u202eevil\u2066", "\\u202eevil\\u2066"),
        ("café 東京 - a/b:c=d", "café 東京 - a/b:c=d"),
        ("back\\slash", "back\\slash"),
    ],
)
def test_printable_escapes_controls_and_keeps_the_rest(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_a_title_with_controls_stays_one_table_line() -> None:
    # Given a finding whose title carries a newline and an ANSI escape sequence
    title = "EC2 instance i-0abc (web\n\x1b[2KCRITICAL (9)) has no instance profile"
    scan = scan_with(title)

    # When it is rendered
    lines = render_table(scan).splitlines()

    # Then the finding is one line, its controls escaped, and no header is forged
    assert [line for line in lines if line.startswith("CRITICAL")] == []
    assert lines[1].endswith(
        "EC2 instance i-0abc (web\\n\\x1b[2KCRITICAL (9)) has no instance profile"
    )


def scan_with(title: str) -> ScanResult:
    finding = a_finding("i-0abc", region="eu-west-1", account="111122223333", title=title)
    return ScanResult(
        account="111122223333",
        regions=["eu-west-1"],
        rules=["ec2-instance-without-profile"],
        findings=[finding],
        exempt=[],
        errors=[],
        examined=Counter({"AWS::EC2::Instance": 1}),
        api_calls={"ec2": 1},
    )
