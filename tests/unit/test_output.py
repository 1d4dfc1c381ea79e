"""The table a person reads and the exit code a pipeline reads."""

from __future__ import annotations

from collections import Counter

import pytest

from rolewarden.cli.main import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, exit_code, main
from rolewarden.cli.output import render_table
from rolewarden.evaluation.account import ScanResult
from rolewarden.inventory.snapshot import ScanError
from rolewarden.rules.engine import ExemptResource
from rolewarden.rules.model import Finding, Severity

ACCOUNT = "111122223333"


def finding(rule: str, severity: Severity, arn: str, title: str, **evidence: object) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        account=ACCOUNT,
        region="eu-west-1",
        resource_type="AWS::EC2::Instance",
        resource_id=arn.rsplit("/", 1)[-1],
        resource_arn=arn,
        title=title,
        evidence=evidence,
        remediation=None,
    )


def result(*findings: Finding) -> ScanResult:
    return ScanResult(
        account=ACCOUNT,
        regions=["eu-west-1"],
        rules=["ec2-instance-without-profile"],
        findings=list(findings),
        exempt=[
            ExemptResource(
                "ec2-instance-without-profile",
                "AWS::EC2::Instance",
                f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0vendor",
                "2026-12-31",
                "vendor appliance",
            )
        ],
        errors=[ScanError("eu-west-1", "ec2:DescribeInstanceAttribute", "i-0abc", "AccessDenied")],
        examined=Counter({"AWS::EC2::Instance": 3}),
        api_calls={"ec2": 2, "sts": 1},
    )


INSTANCE_ARN = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0abc"
MEDIUM = finding(
    "ec2-instance-without-profile",
    Severity.MEDIUM,
    INSTANCE_ARN,
    "EC2 instance i-0abc has no instance profile",
    exemption={"status": "expired", "problem": "expired on 2026-01-01"},
)


def test_table_groups_by_severity_and_summarises() -> None:
    # Given a scan with one medium finding whose exemption expired
    # When it is rendered
    table = render_table(result(MEDIUM))
    lines = table.splitlines()
    # Then the group header, the finding line with its id, and the summary are there
    assert lines[0] == "MEDIUM (1)"
    assert lines[1].split()[:3] == [MEDIUM.finding_id, "ec2-instance-without-profile", "eu-west-1"]
    assert lines[1].endswith(
        "EC2 instance i-0abc has no instance profile [exemption expired: expired on 2026-01-01]"
    )
    assert (
        "1 findings (critical 0, high 0, medium 1, low 0) in account 111122223333, "
        "regions eu-west-1" in lines
    )
    assert "Resources examined: AWS::EC2::Instance 3" in lines
    assert (
        f"  arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0vendor [ec2-instance-without-profile] "
        "until 2026-12-31: vendor appliance" in lines
    )
    assert "  eu-west-1 ec2:DescribeInstanceAttribute i-0abc: AccessDenied" in lines
    assert "AWS API calls: 3 (ec2 2, sts 1)" in lines


def test_exit_code_follows_fail_on() -> None:
    # Given a complete scan whose worst finding is medium
    scan = result(MEDIUM)
    scan.errors = []
    # Then it fails at low and medium, passes at high and critical
    assert exit_code(scan, Severity.LOW) == EXIT_FINDINGS
    assert exit_code(scan, Severity.MEDIUM) == EXIT_FINDINGS
    assert exit_code(scan, Severity.HIGH) == EXIT_OK


def test_incomplete_scan_without_failing_finding_is_an_error() -> None:
    # Given scans with read errors: one with a medium finding, one with none
    # Then a failing finding still says 1; otherwise the scan cannot pass as clean: 2
    assert exit_code(result(MEDIUM), Severity.LOW) == EXIT_FINDINGS
    assert exit_code(result(MEDIUM), Severity.HIGH) == EXIT_ERROR
    assert exit_code(result(), Severity.LOW) == EXIT_ERROR


def test_json_summary_has_what_design_promises() -> None:
    # Given a scan
    document = result(MEDIUM).as_json()
    # Then findings carry the design's fields and the summary its counts
    assert list(document["findings"][0]) == [
        "finding_id", "rule", "severity", "status", "account", "region", "resource_type",
        "resource_id", "resource_arn", "title", "evidence", "remediation",
    ]  # fmt: skip
    summary = document["summary"]
    assert summary["findings_by_severity"] == {"critical": 0, "high": 0, "medium": 1, "low": 0}
    assert summary["exempt"][0]["reason"] == "vendor appliance"
    assert summary["scan_errors"][0]["operation"] == "ec2:DescribeInstanceAttribute"
    assert summary["api_calls_total"] == 3


def test_cli_refuses_a_region_that_is_not_a_region(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a typo'd region on the command line (no AWS call is made)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # When the scan is started
    code = main(["scan", "--region", "Ireland"])
    # Then it stops with exit 2 and one line saying why
    assert code == EXIT_ERROR
    assert capsys.readouterr().err == "rolewarden: not a region name: Ireland\n"
