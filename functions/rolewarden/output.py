"""The human-readable scan report."""

from __future__ import annotations

from rolewarden.rules.model import Finding, Severity
from rolewarden.scan import ScanResult


def render_table(result: ScanResult) -> str:
    lines: list[str] = []
    rule_width = max((len(f.rule) for f in result.findings), default=0)
    for severity in Severity:
        findings = [f for f in result.findings if f.severity is severity]
        if not findings:
            continue
        lines.append(f"{severity.value.upper()} ({len(findings)})")
        for finding in findings:
            rule = f"{finding.rule:<{rule_width}}"
            title = finding.title + _exemption_note(finding)
            lines.append(f"  {finding.finding_id}  {rule}  {finding.region:<14} {title}")
        lines.append("")
    summary = result.summary()
    counts = ", ".join(f"{level} {n}" for level, n in summary["findings_by_severity"].items())
    lines.append(
        f"{summary['findings']} findings ({counts}) in account {result.account}, "
        f"regions {', '.join(result.regions)}"
    )
    examined = ", ".join(f"{kind} {n}" for kind, n in summary["resources_examined"].items())
    lines.append(f"Resources examined: {examined or 'none'}")
    if result.exempt:
        lines.append("Exempt (accepted risk):")
        lines += [
            f"  {item.resource_arn} [{item.rule}] until {item.until}: {item.reason}"
            for item in result.exempt
        ]
    if result.errors:
        lines.append(f"Scan errors ({len(result.errors)}): these resources were not evaluated")
        lines += [f"  {e.region} {e.operation} {e.resource}: {e.message}" for e in result.errors]
    calls = ", ".join(f"{service} {n}" for service, n in summary["api_calls"].items())
    lines.append(f"AWS API calls: {summary['api_calls_total']} ({calls})")
    if result.findings:
        lines.append("Details: rolewarden scan --output json")
    return "\n".join(lines)


def _exemption_note(finding: Finding) -> str:
    """An exemption that does not count is worth a glance: someone meant to accept the risk."""
    exemption = finding.evidence.get("exemption")
    if not exemption:
        return ""
    return f" [exemption {exemption['status']}: {exemption['problem']}]"
