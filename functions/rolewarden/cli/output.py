"""The human-readable scan report, and writing what a person reads.

Tags, names and AWS messages are text anyone with tagging rights chooses: a newline in a
tag would print a line of its own ("CRITICAL ..." that RoleWarden never found), and an
escape sequence would drive the terminal. Every line of a table is `printable` before it
is printed; JSON is escaped by the encoder.
"""

from __future__ import annotations

import os
import re
import sys

from rolewarden.evaluation.account import ScanResult
from rolewarden.rules.model import Finding, Severity

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the
# bidirectional overrides and isolates (they reorder what a person reads).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """The text on one line, every control character shown as its escape (`\\n`, `\\x1b`)."""
    return _CONTROLS.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def emit(text: str) -> None:
    """Print to stdout; a reader that has gone (`rolewarden scan | head -1`) is not an error.

    Flushed here, so a closed pipe is met now rather than at exit (where Python reports it
    and exits 120); from then on stdout is /dev/null and the command ends as it would have.
    """
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def printable_lines(lines: list[str]) -> str:
    return "\n".join(printable(line) for line in lines)


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
    return printable_lines(lines)


def _exemption_note(finding: Finding) -> str:
    """An exemption that does not count is worth a glance: someone meant to accept the risk."""
    exemption = finding.evidence.get("exemption")
    if not exemption:
        return ""
    return f" [exemption {exemption['status']}: {exemption['problem']}]"
