"""Findings to feed the alert paths with, for unit and functional tests alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rolewarden.rules.model import Finding, Remediation, Severity

ACCOUNT = "123456789012"
HOST_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/shop-ecs-host"


def a_finding(
    instance: str,
    severity: Severity = Severity.MEDIUM,
    region: str = "us-east-1",
    *,
    account: str = ACCOUNT,
    title: str | None = None,
    evidence: Mapping[str, Any] | None = None,
    remediation: Remediation | None = None,
) -> Finding:
    """An `ec2-instance-without-profile` finding about `instance`, by default without evidence
    or a remediation."""
    return Finding(
        rule="ec2-instance-without-profile",
        severity=severity,
        account=account,
        region=region,
        resource_type="AWS::EC2::Instance",
        resource_id=instance,
        resource_arn=f"arn:aws:ec2:{region}:{account}:instance/{instance}",
        title=title or f"EC2 instance {instance} has no instance profile",
        evidence=evidence or {},
        remediation=remediation,
    )


def a_host_role_finding(
    severity: Severity,
    title: str,
    *,
    evidence: Mapping[str, Any] | None = None,
    remediation: Remediation | None = None,
) -> Finding:
    """An `instance-role-app-permissions` finding about the ECS host role `shop-ecs-host`."""
    return Finding(
        rule="instance-role-app-permissions",
        severity=severity,
        account=ACCOUNT,
        region="us-east-1",
        resource_type="AWS::IAM::Role",
        resource_id="AROAEXAMPLE",
        resource_arn=HOST_ROLE_ARN,
        title=title,
        evidence=evidence or {},
        remediation=remediation,
    )
