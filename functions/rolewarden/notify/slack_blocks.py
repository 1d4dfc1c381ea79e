"""A notice as a Slack Block Kit message (pure; no network): the webhook's JSON body.

Read from `notice.message` (the JSON SNS subscribers receive), so both channels say the
same. Slack's limits are honoured by cutting deterministically with "…": a header of
150 characters, a section of 3000, at most 50 blocks, a fallback text of 3000.
Text taken from data is escaped (`&`, `<`, `>`), so it never turns into a link or a
mention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rolewarden.notify.messages import console_url
from rolewarden.notify.notice import Kind, Notice

HEADER_LIMIT = 150
TEXT_LIMIT = 3000  # a section's text, a context element's text, the fallback text
BLOCKS_LIMIT = 50
# Keep a message short: a person reads it on a phone; the JSON on SNS has everything.
EVIDENCE_LINES = 8
REASON_LINES = 5
LINE_LIMIT = 300
CODE_LIMIT = 120  # a name or an id in inline code
NAMES_SHOWN = 6
IDS_SHOWN = 10
ELLIPSIS = "…"

SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":white_circle:",
}
STATUS_EMOJI = {
    "applied": ":white_check_mark:",
    "restored": ":leftwards_arrow_with_hook:",
    "failed": ":x:",
    "refused": ":no_entry:",
}

Block = dict[str, Any]


def slack_message(notice: Notice) -> dict[str, Any]:
    """{"text": <the subject, for notifications>, "blocks": [...]}"""
    builders: dict[Kind, Callable[[Notice], list[Block]]] = {
        Kind.FINDING: _finding,
        Kind.REMEDIATION: _remediation,
        Kind.DIGEST: _digest,
        Kind.EXEMPTION: _exemption,
    }
    return {
        "text": clip(escape(notice.subject), TEXT_LIMIT),
        "blocks": fit_blocks(builders[notice.kind](notice)),
    }


# --- the four kinds ------------------------------------------------------------------------


def _finding(notice: Notice) -> list[Block]:
    message = notice.message
    finding: Mapping[str, Any] = message["finding"]
    severity = str(finding["severity"])
    blocks = [
        header(f"{SEVERITY_EMOJI.get(severity, '')} {severity.upper()} · {finding['rule']}"),
        section(
            [
                f"*{clip(escape(finding['title']), LINE_LIMIT)}*",
                f"*Resource:* {link(finding['resource_arn'], message.get('console_url'))}",
            ]
        ),
    ]
    evidence = evidence_lines(finding.get("evidence") or {})
    if evidence:
        blocks.append(section(["*Evidence*", *bounded(evidence, EVIDENCE_LINES)]))
    blocks.append(section(remediation_lines(finding.get("remediation"))))
    if message.get("command"):
        blocks.append(
            section(
                [
                    f"*Remediate:* {code(message['command'], None)} shows the plan; "
                    "add `--apply` to make the change"
                ]
            )
        )
    if message.get("migrate_command"):
        blocks.append(
            section(
                [
                    f"*Tasks use these permissions:* {code(message['migrate_command'], None)} "
                    "plans a task role of their own per family, to move them first"
                ]
            )
        )
    blocks.append(
        context(
            f"finding {code(finding['finding_id'])}",
            f"account {escape(finding['account'])}",
            escape(finding["region"]),
            f"via {escape(message.get('trigger') or 'scan')}",
        )
    )
    return blocks


def _remediation(notice: Notice) -> list[Block]:
    message = notice.message
    outcome: Mapping[str, Any] = message["outcome"]
    status = str(outcome["status"])
    what = "Restore" if "restore" in outcome else "Remediation"
    done = "done" if what == "Restore" and status == "restored" else status
    title = f"{STATUS_EMOJI.get(status, ':information_source:')} {what} {done}"
    if outcome.get("rule"):
        title += f" · {outcome['rule']}"
    about = []
    if outcome.get("resource_arn"):
        about.append(f"*Resource:* {link(outcome['resource_arn'], message.get('console_url'))}")
    if outcome.get("finding_id"):
        about.append(f"*Finding:* {code(outcome['finding_id'])}")
    if outcome.get("restore"):
        about.append(f"*Restore of:* {code(outcome['restore'])}")
    blocks = [header(title)]
    if about:
        blocks.append(section(about))
    changes = [_journal_line(entry) for entry in outcome.get("journal") or []]
    if changes:
        blocks.append(section(["*Changes*", *bounded(changes, REASON_LINES)]))
    elif outcome.get("plan"):
        planned = [
            f"• {escape(change.get('summary') or change['action'])}" for change in outcome["plan"]
        ]
        blocks.append(section(["*Planned, not made*", *bounded(planned, REASON_LINES)]))
    reasons = [f"• {escape(reason)}" for reason in outcome.get("reasons") or []]
    if reasons:
        blocks.append(section(["*Why*", *bounded(reasons, REASON_LINES)]))
    if message.get("command"):
        blocks.append(section([f"*To undo:* {code(message['command'], None)}"]))
    blocks.append(context(f"account {escape(message['account'])}", escape(message["region"])))
    return blocks


def _digest(notice: Notice) -> list[Block]:
    message = notice.message
    summary: Mapping[str, Any] = message["summary"]
    counts: Mapping[str, int] = summary.get("findings_by_severity") or {}
    by_severity = " · ".join(
        f"{SEVERITY_EMOJI.get(level, '')} {escape(level)} {number}"
        for level, number in counts.items()
    )
    new: list[str] = message.get("new_findings") or []
    resolved: list[str] = message.get("resolved_findings") or []
    lines = [
        f"*{summary.get('findings', sum(counts.values()))} open findings:* {by_severity}",
        f"*New since the last sweep:* {len(new)}{_ids(new)}",
        f"*Resolved:* {len(resolved)}{_ids(resolved)}",
    ]
    if summary.get("exempt"):
        lines.append(f"*Exempt (accepted risk):* {len(summary['exempt'])}")
    if summary.get("scan_errors"):
        lines.append(f"*Scan errors:* {len(summary['scan_errors'])} (`rolewarden scan` lists them)")
    regions = ", ".join(escape(region) for region in summary.get("regions") or [])
    return [
        header(f"RoleWarden sweep of {summary['account']}"),
        section(lines),
        context(f"account {escape(summary['account'])}", regions or "no region"),
    ]


def _exemption(notice: Notice) -> list[Block]:
    message = notice.message
    resource = str(message["resource"])
    lines = [
        f"*Resource:* {link(resource, console_url(resource))}",
        f"*By:* {escape(message['actor'])}",
    ]
    if message.get("until"):
        lines.append(f"*Until:* {escape(message['until'])}")
    if message.get("reason"):
        lines.append(f"*Reason:* {escape(message['reason'])}")
    if message.get("rules"):
        lines.append(f"*Rules:* {_names(_strings(message['rules']), code)}")
    return [
        header(f":memo: Exemption {message.get('description') or message['change']}"),
        section(lines),
        context(
            f"CloudTrail {escape(message.get('event_name') or 'event')}",
            f"account {escape(message['account'])}",
            escape(message["region"]),
        ),
    ]


# --- evidence: the few facts a person acts on -----------------------------------------------


def evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    """One line per fact, most telling first; only the keys the evidence has."""
    lines = [_policy_line(policy) for policy in evidence.get("offending_policies") or []]
    lines += [f"• Critical: {escape(item)}" for item in _strings(evidence.get("critical"))]
    lines += _fallback_lines(evidence)
    if evidence.get("problems"):
        lines.append(f"• IMDS: {escape('; '.join(_strings(evidence['problems'])))}")
    lines += _exposure_lines(evidence.get("exposures") or [])
    causes = _root_causes(evidence.get("root_cause"))
    if causes:
        lines.append(
            f"• Root cause: {', '.join(causes)} (fix it there too, or the next instance "
            "repeats the fault)"
        )
    if evidence.get("instances"):
        lines.append(f"• Instances: {_names(_strings(evidence['instances']), code)}")
    if evidence.get("services"):
        lines.append(f"• Used by services: {_names(_strings(evidence['services']), code)}")
    for split in evidence.get("proposed_split") or []:
        lines.append(
            f"• Proposed split of {code(split['policy'])}: keep a baseline-only document, move "
            f"{len(split.get('move_to_task_role') or [])} actions to a task role"
        )
    errors = _strings(evidence.get("policy_errors"))
    if errors:
        lines.append(f"• Not fully evaluated: {escape('; '.join(errors))}")
    if evidence.get("host_role_evaluation"):
        lines.append(f"• Host role evaluation {escape(evidence['host_role_evaluation'])}")
    exemption = evidence.get("exemption") or {}
    if exemption.get("problem"):
        reason = f" (reason: {escape(exemption['reason'])})" if exemption.get("reason") else ""
        other_rules = exemption.get("status") == "other-rules"
        verdict = "not for this rule" if other_rules else "not honoured"
        lines.append(f"• Exemption {verdict}: {escape(exemption['problem'])}{reason}")
    return lines


def _policy_line(policy: Mapping[str, Any]) -> str:
    ref = policy.get("policy") or {}
    kind = "inline" if ref.get("type") == "inline" else f"{ref.get('owner', 'customer')} managed"
    actions = [
        name
        for levels in (policy.get("actions") or {}).values()
        for level in levels.values()
        for name in level.get("actions") or []
    ]
    total = policy.get("application_action_count") or len(actions)
    line = f"• Policy {code(ref.get('name') or ref.get('arn') or '?')} ({kind}): {total} "
    line += f"application action{'s' if total != 1 else ''}"
    if actions:
        shown = actions[:NAMES_SHOWN]
        rest = f" and {total - len(shown)} more" if total > len(shown) else ""
        line += f": {', '.join(escape(name) for name in shown)}{rest}"
    resources = _strings(policy.get("resources"))
    if resources:
        line += f" on {_names(resources, code, shown=2)}"
    if policy.get("mixed"):
        line += "; mixed with baseline actions"
    return line


def _fallback_lines(evidence: Mapping[str, Any]) -> list[str]:
    """A task without a task role: the host role it falls back to, and what that grants."""
    host = evidence.get("host") or {}
    if not host.get("role"):
        return []
    role = str(host["role"]).rsplit("/", 1)[-1]
    reach = "reachable" if evidence.get("imds_reachable") else "not reachable"
    why = f": {escape(evidence['imds_reason'])}" if evidence.get("imds_reason") else ""
    lines = [
        f"• Falls back to host role {code(role)} of {code(host.get('instance_id') or '?')} "
        f"(IMDS {reach}{why})"
    ]
    reachable = evidence.get("reachable_application_permissions")
    if reachable:
        services = ", ".join(escape(s) for s in _strings(reachable.get("services")))
        lines.append(
            f"• Reachable through it: {reachable.get('application_action_count', 0)} "
            f"application actions ({services})"
        )
        lines += [f"• Critical: {escape(item)}" for item in _strings(reachable.get("critical"))]
    return lines


def _root_causes(value: Any) -> list[str]:
    causes = value if isinstance(value, list) else [value] if value else []
    named = {"auto_scaling_group": "Auto Scaling group", "launch_template": "launch template"}
    return [
        f"{named.get(key, escape(key))} {code(name)}"
        for cause in causes
        if isinstance(cause, Mapping)
        for key, name in cause.items()
    ]


def remediation_lines(remediation: Mapping[str, Any] | None) -> list[str]:
    if not remediation:
        return ["*Remediation:* none proposed; a person fixes this by hand"]
    params = clip(_params(remediation.get("params") or {}), LINE_LIMIT)
    lines = [f"*Remediation:* {code(remediation['action'])}{f' ({params})' if params else ''}"]
    blocked = [f"• {escape(reason)}" for reason in _strings(remediation.get("blocked_by"))]
    if blocked:
        lines += ["Not applied automatically:", *bounded(blocked, REASON_LINES)]
    elif remediation.get("automatic"):
        lines.append("RoleWarden applies it automatically")
    else:
        lines.append("Not applied automatically: the rule is not in remediate mode")
    return lines


def _params(params: Mapping[str, Any]) -> str:
    """Scalars as `key value` (a true flag as its key); steps as `action target`; nested
    states left out."""
    parts = []
    for key, value in params.items():
        if isinstance(value, list):
            parts += [
                " ".join(escape(v) for v in step.values() if isinstance(v, str))
                for step in value
                if isinstance(step, Mapping)
            ]
        elif value is True:
            parts.append(escape(key))
        elif value is not None and value is not False and not isinstance(value, Mapping):
            parts.append(f"{escape(key)} {escape(value)}")
    return "; ".join(part for part in parts if part)


def _journal_line(entry: Mapping[str, Any]) -> str:
    line = f"• {code(entry['journal_id'])} {escape(entry.get('summary') or entry['action'])}"
    line += f" [{escape(entry.get('status', '?'))}]"
    if entry.get("forced"):
        line += f" (forced: {escape('; '.join(_strings(entry['forced'])))})"
    if entry.get("error"):
        line += f" error: {escape(entry['error'])}"
    return line


# --- Slack's building blocks and limits -----------------------------------------------------


def escape(value: Any) -> str:
    """Slack's three control characters as entities: data never becomes markup."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(value: Any, limit: int | None = CODE_LIMIT) -> str:
    """Inline code, short unless `limit` is None (a command is shown whole); a backtick in
    the data would end it early."""
    text = escape(value).replace("`", "'")
    return f"`{clip(text, limit) if limit else text}`"


def link(arn: str, url: str | None) -> str:
    if not url:
        return code(arn)
    return f"<{escape(url).replace('|', '%7C')}|{escape(arn)}>"


def clip(text: str, limit: int, *, markup: bool = True) -> str:
    """At most `limit` characters, ending with "…" when cut; mrkdwn is never cut inside an
    entity, a link or inline code (a cut there would show as broken markup)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    if not markup:
        return cut.rstrip() + ELLIPSIS
    amp = cut.rfind("&")
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    opened = cut.rfind("<")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    if cut.count("`") % 2:
        cut = cut[: cut.rfind("`")]
    return cut.rstrip() + ELLIPSIS


def bounded(lines: list[str], shown: int, budget: int = TEXT_LIMIT - 200) -> list[str]:
    """The first `shown` lines (each clipped) that fit in `budget` characters, and how many
    more there are: the count survives however long the lines."""
    kept: list[str] = []
    used = 0
    for line in (clip(line, LINE_LIMIT) for line in lines[:shown]):
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    if len(lines) > len(kept):
        kept.append(f"{ELLIPSIS} and {len(lines) - len(kept)} more")
    return kept


def header(text: str) -> Block:
    return {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": clip(" ".join(text.split()), HEADER_LIMIT, markup=False),
        },
    }


def section(lines: Iterable[str]) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _text(lines)}}


def context(*parts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _text([" · ".join(parts)])}]}


def fit_blocks(blocks: list[Block]) -> list[Block]:
    """At most 50 blocks: the last kept one says how many were left out."""
    if len(blocks) <= BLOCKS_LIMIT:
        return blocks
    left_out = len(blocks) - (BLOCKS_LIMIT - 1)
    return [*blocks[: BLOCKS_LIMIT - 1], context(f"{ELLIPSIS} and {left_out} more blocks")]


def _text(lines: Iterable[str]) -> str:
    return clip("\n".join(lines), TEXT_LIMIT) or " "


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value or []]


def _exposure_lines(exposures: list[Mapping[str, Any]]) -> list[str]:
    """What reaches IMDS in awsvpc and host network mode, and what closes it (the proposed
    remediation closes bridge mode's, or none is proposed)."""
    lines = []
    for exposure in exposures:
        if exposure.get("network_mode") == "bridge":
            continue
        reaching = [*_strings(exposure.get("tasks")), *_strings(exposure.get("services"))]
        lines.append(
            f"• {escape(exposure.get('network_mode'))} ({_names(reaching, escape)}): "
            f"{escape(exposure.get('closed_by'))}"
        )
    return lines


def _names(names: list[str], show: Callable[[str], str], shown: int = NAMES_SHOWN) -> str:
    listed = ", ".join(show(name) for name in names[:shown])
    return listed if len(names) <= shown else f"{listed} and {len(names) - shown} more"


def _ids(ids: list[str]) -> str:
    return f" ({_names(ids, code, shown=IDS_SHOWN)})" if ids else ""
