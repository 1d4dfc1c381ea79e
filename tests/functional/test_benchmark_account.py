"""The benchmarks' small account, in-process: a scan finds exactly the violations seeded,
and reads the account with the fewest calls AWS's page sizes allow."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from benchmarks.accounts import SIZES, SeededAccount, seed_account
from benchmarks.aws_pages import minimum_sweep_calls
from benchmarks.meter import CallMeter
from functional.conftest import TODAY
from rolewarden.inventory import iam as iam_reader
from rolewarden.scan import ScanResult

READS = ("sts", "iam", "ec2", "ecs")  # a scan's services; the sweep adds its alerts


@pytest.fixture(scope="module")
def small(moto_account: Callable[[], Any]) -> Iterator[tuple[boto3.Session, SeededAccount]]:
    with moto_account() as session:
        yield session, seed_account(session, SIZES["small"], seed=6, today=TODAY)


def test_a_scan_reports_exactly_the_violations_seeded(
    small: tuple[boto3.Session, SeededAccount], scan: Callable[..., ScanResult]
) -> None:
    # Given the small benchmark account / When it is scanned
    session, seeded = small
    result = scan(session)

    # Then the findings are the violations planted, no more, no fewer
    assert result.errors == []
    assert {(finding.rule, finding.resource_arn) for finding in result.findings} == (
        seeded.violations
    )
    assert len(seeded.violations) > 30  # every rule is broken somewhere, several times


def test_a_scan_makes_the_fewest_calls_aws_page_sizes_allow(
    small: tuple[boto3.Session, SeededAccount],
    scan: Callable[..., ScanResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the small account, and no AWS managed policy document cached from earlier reads
    session, seeded = small
    monkeypatch.setattr(iam_reader, "_AWS_POLICY_VERSIONS", {})
    counted = boto3.Session(region_name=session.region_name)
    meter = CallMeter().attach(counted)
    page_sizes: dict[str, Any] = {}

    def remember_page_size(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name.startswith(("List", "GetAccount", "DescribeInstances")):
            size = params.get("MaxItems") or params.get("maxResults") or params.get("MaxResults")
            page_sizes[model.name] = size

    counted.events.register("before-parameter-build", remember_page_size)

    # When it is scanned
    scan(counted)

    # Then each service is asked exactly as often as the minimum that can see the account
    minimum = minimum_sweep_calls(seeded.counts, findings=0, announced=0, table_bytes=0)
    assert meter.per_service() == {service: minimum[service] for service in READS}
    # ... and every listing asks for the largest page its API allows
    assert page_sizes == {
        "GetAccountAuthorizationDetails": 1000,
        "ListPolicies": 1000,
        "ListInstanceProfiles": 1000,
        "DescribeInstances": 1000,
        "ListClusters": 100,
        "ListContainerInstances": 100,
        "ListTasks": 100,
        "ListServices": 100,
        "ListTaskDefinitions": 100,
    }
