"""One alert, whatever channel carries it: what happened, as JSON, and how to route it.

`message` is the JSON body SNS subscribers receive; the Slack message is built from it.
The routing fields become SNS message attributes, so subscribers can filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# SNS: a Subject is at most 100 printable ASCII characters, on one line.
SUBJECT_LIMIT = 100


class Kind(StrEnum):
    FINDING = "finding"
    REMEDIATION = "remediation"
    DIGEST = "digest"
    EXEMPTION = "exemption"


@dataclass(frozen=True)
class Notice:
    kind: Kind
    subject: str
    message: dict[str, Any] = field(default_factory=dict)
    rule: str | None = None
    severity: str | None = None
    account: str | None = None
    region: str | None = None
    action: str | None = None  # what was done: applied, failed, restored, added, removed...

    def attributes(self) -> dict[str, str]:
        """The routing fields that are set, by attribute name."""
        fields = {
            "kind": self.kind.value,
            "rule": self.rule,
            "severity": self.severity,
            "account": self.account,
            "region": self.region,
            "action": self.action,
        }
        return {name: value for name, value in fields.items() if value}


def subject_line(text: str) -> str:
    """A subject SNS accepts: printable ASCII on one line, at most 100 characters."""
    flat = " ".join(text.split())
    ascii_only = "".join(char if 32 <= ord(char) < 127 else "?" for char in flat)
    if len(ascii_only) <= SUBJECT_LIMIT:
        return ascii_only
    return ascii_only[: SUBJECT_LIMIT - 3].rstrip() + "..."
