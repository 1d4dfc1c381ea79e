"""`rolewarden scan` run in-process (`cli.main`) in moto: what a person reads in the table.

Scenarios:
  1. Tags are text anyone with ec2:CreateTags chooses. A Name tag and an exemption reason
     holding newlines, a terminal control sequence (C1 CSI) and other controls print as
     one escaped line each: no line the scan did not write (a forged "CRITICAL ..."
     finding), no control reaching the terminal. The JSON report keeps the tags as they are.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from functional.accounts import REGION, expected_finding_id, instance_arn
from rolewarden.cli.main import main
from rolewarden.demo.builders import launch_instance
from rolewarden.observability import logger
from rolewarden.rules import ids
from rolewarden.rules.exemptions import EXEMPT_REASON_TAG, EXEMPT_UNTIL_TAG

HEADER = re.compile(r"(CRITICAL|HIGH|MEDIUM|LOW) \(\d+\)")
FINDING_LINE = re.compile(r"  [0-9a-f]{16}  ")
FORGED_LINE = "CRITICAL (1)\n  0123456789abcdef  instance-role-app-permissions  us-east-1 pwned"
NAME = "web\nCRITICAL fake-finding"
# EC2 answers in XML, which cannot carry ESC (tests/unit/test_output.py has it): the C1
# CSI (\x9b, ESC [ to a terminal), NEL and the line separator are what it can carry.
REASON = "vendor box\n" + FORGED_LINE + "\x9b2K\x9b31mred\x9b0m\x85\u2028\tend"
REASON_PRINTED = (
    "vendor box\\nCRITICAL (1)\\n  0123456789abcdef  instance-role-app-permissions  "
    "us-east-1 pwned\\x9b2K\\x9b31mred\\x9b0m\\x85\\u2028\\tend"
)


def scan(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    level = logger.log_level
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["scan", "--rules", ids.EC2_INSTANCE_WITHOUT_PROFILE, *args])
    finally:
        logger.setLevel(level)
    assert err.getvalue() == "", err.getvalue()
    return code, out.getvalue()


@pytest.fixture(scope="module")
def tagged(moto_account: Any) -> Iterator[SimpleNamespace]:
    """An instance without a profile named with a newline, and one exempt for a reason
    that forges a finding line and paints the terminal."""
    with moto_account() as session, pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_REGION", REGION)
        ec2 = session.client("ec2")
        until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
        named = launch_instance(ec2, tags={"Name": NAME})
        exempt = launch_instance(
            ec2, tags={"Name": NAME, EXEMPT_UNTIL_TAG: until, EXEMPT_REASON_TAG: REASON}
        )
        yield SimpleNamespace(
            named=named, exempt=exempt, until=until, table=scan(), json=scan("--output", "json")
        )


def test_tags_with_controls_print_as_one_escaped_line_each(tagged: SimpleNamespace) -> None:
    # Given the instances tagged above / When a person reads the table
    code, table = tagged.table
    lines = table.splitlines()

    # Then one finding, under its own header, and no other (none forged)
    assert code == 1
    assert [line for line in lines if HEADER.fullmatch(line)] == ["MEDIUM (1)"]
    findings = [line for line in lines if FINDING_LINE.match(line)]
    assert [line.split()[0] for line in findings] == [
        expected_finding_id(ids.EC2_INSTANCE_WITHOUT_PROFILE, instance_arn(tagged.named))
    ]
    # And the exemption's reason is one line, its controls shown as escapes
    assert (
        f"  {instance_arn(tagged.exempt)} [{ids.EC2_INSTANCE_WITHOUT_PROFILE}] "
        f"until {tagged.until}: {REASON_PRINTED}"
    ) in lines
    # And nothing that a terminal or a line reader would act on is printed as it is
    assert not any(char in table for char in "\x9b\x85\u2028\t")


def test_json_output_keeps_the_tags_as_they_are(tagged: SimpleNamespace) -> None:
    code, text = tagged.json

    report = json.loads(text)
    assert code == 1
    assert [item["reason"] for item in report["summary"]["exempt"]] == [REASON]
    assert [f["resource_id"] for f in report["findings"]] == [tagged.named]
