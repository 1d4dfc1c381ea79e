"""Whole scans in moto: scan errors from refused calls, and an empty account."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functional.accounts import (
    ACCOUNT,
    APP_INLINE,
    REGION,
    Scan,
    ecs_user_data,
    finding,
    make_host,
    make_role,
)
from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    S3_READ_ONLY_POLICY_ARN,
    create_cluster,
    default_security_group,
    default_subnet,
    register_task_definition,
    run_task,
)
from rolewarden.inventory import iam as iam_reader
from rolewarden.inventory.build import build_snapshot, read_account_iam
from rolewarden.rules import ids
from rolewarden.rules.engine import run_rules
from rolewarden.rules.model import Compliance
from rolewarden.settings import Settings

RULE_APP = ids.INSTANCE_ROLE_APP_PERMISSIONS
RULE_TASK = ids.ECS_TASK_WITHOUT_TASK_ROLE
RULE_IMDS = ids.ECS_HOST_IMDS_EXPOSED


# --- scan errors -------------------------------------------------------------------------


def deny(operation: str) -> Callable[..., None]:
    def handler(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": f"not authorized to {operation}"}},
            operation,
        )

    return handler


def denying_session(operation: str) -> boto3.Session:
    """A Session (inside moto) whose clients are refused one operation, e.g. 'iam.GetPolicy'."""
    session = boto3.Session(region_name=REGION)
    session.events.register(f"before-call.{operation}", deny(operation.split(".")[1]))
    return session


class TestScanErrors:
    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, moto_account: Any) -> Iterator[SimpleNamespace]:
        with moto_account() as session:
            ec2, ecs = session.client("ec2"), session.client("ecs")
            subnet = default_subnet(ec2)
            create_cluster(ecs, "vpc")
            host = make_host(
                session,
                "vpc-host",
                cluster="vpc",
                inline=APP_INLINE,
                user_data=ecs_user_data("vpc", block_imds_for_awsvpc=True),
            )
            td = register_task_definition(ecs, "worker", network_mode="awsvpc")
            task = run_task(
                ecs,
                "vpc",
                td,
                container_instance_arn=host.container_instance_arn,
                subnet_id=subnet,
                security_group_ids=[default_security_group(ec2, subnet)],
            )
            reader_arn, _id, _profile = make_role(
                session, "reader-host", managed=(ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN)
            )
            yield SimpleNamespace(session=session, host=host, task=task, reader_arn=reader_arn)

    def test_unreadable_user_data_is_a_scan_error_and_imds_is_assumed_reachable(
        self, world: SimpleNamespace, scan: Scan
    ) -> None:
        # Given an awsvpc task on a host that blocks IMDS, and ec2:DescribeInstanceAttribute
        # refused
        session = denying_session("ec2.DescribeInstanceAttribute")

        # When scanned
        result = scan(session)

        # Then the summary names the operation and the host, and the task is not let off:
        # IMDS is assumed reachable (critical), and the evidence says so
        errors = result.as_json()["summary"]["scan_errors"]
        assert [(e["operation"], e["resource"]) for e in errors] == [
            ("ec2:DescribeInstanceAttribute", world.host.instance_id)
        ]
        assert "AccessDenied" in errors[0]["message"]
        found = finding(result, RULE_TASK, world.task)
        assert found is not None
        assert found["severity"] == "critical"
        assert found["evidence"]["imds_reachable"] is True
        assert "could not be read" in found["evidence"]["imds_reason"]
        # ... and its host (IMDSv2, hop limit 1) is not called compliant either: the host
        # rule makes the same assumption, and says so
        host = finding(result, RULE_IMDS, world.host.instance_arn)
        assert host is not None
        assert host["title"] == f"ECS host {world.host.instance_id} may let awsvpc tasks reach IMDS"
        assert [e["reason"] for e in host["evidence"]["exposures"]] == [
            "awsvpc: the host's ECS agent settings could not be read; assuming reachable"
        ]

    def test_twin_with_readable_user_data_is_high(self, world: SimpleNamespace, scan: Scan) -> None:
        # Given the same account without the refusal / When scanned
        result = scan(world.session)

        # Then no scan error, the task is high (IMDS blocked), and its host is compliant
        assert result.as_json()["summary"]["scan_errors"] == []
        found = finding(result, RULE_TASK, world.task)
        assert found is not None
        assert found["severity"] == "high"
        assert finding(result, RULE_IMDS, world.host.instance_arn) is None

    @pytest.mark.parametrize(
        ("refused", "error"),
        [
            ("iam.ListPolicies", ("global", "iam:ListPolicies", "account")),
            ("iam.GetPolicyVersion", ("global", "iam:GetPolicyVersion", S3_READ_ONLY_POLICY_ARN)),
        ],
    )
    def test_unreadable_policy_is_a_scan_error_and_the_role_is_not_called_compliant(
        self,
        world: SimpleNamespace,
        scan: Scan,
        refused: str,
        error: tuple[str, str, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # Given an ECS host role with AmazonS3ReadOnlyAccess, no policy version cached from
        # earlier reads, and the listing of default versions or the document refused
        monkeypatch.setattr(iam_reader, "_AWS_POLICY_VERSIONS", {})
        session = denying_session(refused)

        # When scanned
        result = scan(session)

        # Then the summary names the operation and the policy
        errors = result.as_json()["summary"]["scan_errors"]
        assert {(e["region"], e["operation"], e["resource"]) for e in errors} == {error}
        # ... and the role is neither reported nor evaluated COMPLIANT (scenario 7)
        assert finding(result, RULE_APP, world.reader_arn) is None
        clients = AwsClients(session)
        context = Settings().rule_context()
        iam = read_account_iam(clients, context.skip_document)
        snapshot = build_snapshot(clients, REGION, ACCOUNT, "aws", iam, context.skip_document)
        verdicts = [
            e.compliance
            for e in run_rules(snapshot, context, [RULE_APP]).evaluations
            if e.resource.arn == world.reader_arn
        ]
        assert Compliance.COMPLIANT not in verdicts

    def test_twin_with_readable_policy_reports_the_role(
        self, world: SimpleNamespace, scan: Scan
    ) -> None:
        # Given the same role, nothing refused / When scanned / Then it is reported (S3 reads)
        found = finding(scan(world.session), RULE_APP, world.reader_arn)

        assert found is not None
        assert json.dumps(found["evidence"]["offending_policies"]).count("AmazonS3ReadOnlyAccess")


# --- an empty account ----------------------------------------------------------------------


def test_empty_account_has_no_findings_and_no_errors(mock_aws: boto3.Session, scan: Scan) -> None:
    # Given a fresh account with nothing in it / When scanned with every rule
    summary = scan(mock_aws).as_json()["summary"]

    # Then nothing is reported, nothing failed, and the account is named
    assert summary["findings"] == 0
    assert summary["scan_errors"] == []
    assert summary["account"] == ACCOUNT
    assert summary["rules"] == list(ids.RULE_IDS)
