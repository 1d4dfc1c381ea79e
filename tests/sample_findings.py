"""A finding to feed the alert paths with, for unit and functional tests alike."""

from __future__ import annotations

from rolewarden.rules.model import Finding, Severity


def a_finding(
    instance: str, severity: Severity = Severity.MEDIUM, region: str = "us-east-1"
) -> Finding:
    """An `ec2-instance-without-profile` finding about `instance`, without a remediation."""
    return Finding(
        rule="ec2-instance-without-profile",
        severity=severity,
        account="123456789012",
        region=region,
        resource_type="AWS::EC2::Instance",
        resource_id=instance,
        resource_arn=f"arn:aws:ec2:{region}:123456789012:instance/{instance}",
        title=f"EC2 instance {instance} has no instance profile",
        evidence={},
        remediation=None,
    )
