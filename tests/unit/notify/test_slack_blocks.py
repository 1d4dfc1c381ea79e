"""The Slack message of each kind of notice: exact Block Kit JSON, within Slack's limits."""

from __future__ import annotations

from typing import Any

from rolewarden.evaluation.cloudtrail import ExemptionChange
from rolewarden.notify.findings_state import Due
from rolewarden.notify.messages import (
    digest_notice,
    exemption_notice,
    finding_notice,
    remediation_notice,
)
from rolewarden.notify.notice import Kind, Notice
from rolewarden.notify.slack_blocks import clip, fit_blocks, section, slack_message
from rolewarden.remediation.change import Change
from rolewarden.remediation.journal import JournalEntry, Status
from rolewarden.remediation.outcome import Outcome, OutcomeStatus, Subject
from rolewarden.rules.model import Blockers, Finding, Remediation, Severity

ACCOUNT = "111122223333"
REGION = "eu-west-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/shop-ecs-host"
INSTANCE_ARN = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0abc"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/shop/0123abcd"
OUTAGE = "outage guard: task 0123abcd (orders-api:1) uses these permissions today"


def host_role_finding(**evidence: Any) -> Finding:
    return Finding(
        rule="instance-role-app-permissions",
        severity=Severity.CRITICAL,
        account=ACCOUNT,
        region=REGION,
        resource_type="AWS::IAM::Role",
        resource_id="shop-ecs-host",
        resource_arn=ROLE_ARN,
        title="ECS host role shop-ecs-host grants application permissions (dynamodb, s3)",
        evidence=evidence
        or {
            "role": {"name": "shop-ecs-host", "arn": ROLE_ARN, "ecs_host_role": True},
            "offending_policies": [
                offending_policy("orders-table", None, ["dynamodb:GetItem", "dynamodb:PutItem"]),
                offending_policy(
                    "AmazonS3FullAccess",
                    "arn:aws:iam::aws:policy/AmazonS3FullAccess",
                    [f"s3:Action{n:03}" for n in range(25)],
                    count=206,
                    resources=["*"],
                ),
            ],
            "instances": ["i-0abc", "i-0def"],
            "boundary": None,
            "root_cause": [{"auto_scaling_group": "shop-asg"}],
            "critical": ["permissions management: s3:PutBucketPolicy (+24 more)"],
        },
        remediation=Remediation(
            action="remove-application-policies",
            automatic=False,
            params={
                "role_name": "shop-ecs-host",
                "steps": [
                    {"action": "delete-inline-policy", "policy_name": "orders-table"},
                    {
                        "action": "detach-managed-policy",
                        "policy_arn": "arn:aws:iam::aws:policy/AmazonS3FullAccess",
                    },
                ],
            },
            blockers=Blockers(force=(OUTAGE,)),
        ),
    )


def offending_policy(
    name: str,
    arn: str | None,
    actions: list[str],
    count: int | None = None,
    resources: tuple[str, ...] | list[str] = (),
) -> dict[str, Any]:
    service = actions[0].split(":")[0]
    return {
        "policy": {
            "name": name,
            "arn": arn,
            "type": "managed" if arn else "inline",
            "owner": "aws" if arn and ":aws:policy/" in arn else "customer",
        },
        "mixed": False,
        "application_action_count": count or len(actions),
        "baseline_action_count": 0,
        "resources": list(resources),
        "critical": [],
        "actions": {service: {"Write": {"count": count or len(actions), "actions": actions}}},
    }


def instance_finding(**evidence: Any) -> Finding:
    return Finding(
        rule="ec2-instance-without-profile",
        severity=Severity.MEDIUM,
        account=ACCOUNT,
        region=REGION,
        resource_type="AWS::EC2::Instance",
        resource_id="i-0abc",
        resource_arn=INSTANCE_ARN,
        title="EC2 instance i-0abc has no instance profile",
        evidence={"state": "running", **evidence},
        remediation=Remediation(
            action="associate-instance-profile",
            automatic=True,
            params={"instance_id": "i-0abc", "instance_profile": "rolewarden-baseline"},
        ),
    )


def task_finding() -> Finding:
    return Finding(
        rule="ecs-task-without-task-role",
        severity=Severity.CRITICAL,
        account=ACCOUNT,
        region=REGION,
        resource_type="AWS::ECS::Task",
        resource_id="0123abcd",
        resource_arn=TASK_ARN,
        title="Task 0123abcd (orders-api:1) has no task role and falls back to host role "
        "shop-ecs-host",
        evidence={
            "cluster": "shop",
            "task_definition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/orders-api:1",
            "launch_type": "EC2",
            "network_mode": "bridge",
            "imds_reachable": True,
            "imds_reason": "bridge: host allows IMDSv1 with hop limit 2",
            "host": {
                "instance_id": "i-0abc",
                "metadata_options": {"http_tokens": "optional", "hop_limit": 2},
                "role": ROLE_ARN,
            },
            "reachable_application_permissions": {
                "application_action_count": 209,
                "services": ["dynamodb", "s3"],
                "critical": [],
                "actions": {},
            },
        },
        remediation=None,
    )


def change(summary: str) -> Change:
    return Change(
        action="associate-instance-profile",
        region=REGION,
        target={"instance_id": "i-0abc"},
        before={"instance_profile": None},
        after={"instance_profile": "rolewarden-baseline"},
        summary=summary,
    )


def journal_entry(journal_id: str, status: Status, error: str | None = None) -> JournalEntry:
    return JournalEntry(
        journal_id=journal_id,
        time="2030-01-01T10:00:00+00:00",
        actor="arn:aws:sts::111122223333:assumed-role/rolewarden/remediate",
        rule="ec2-instance-without-profile",
        finding_id=instance_finding().finding_id,
        resource_arn=INSTANCE_ARN,
        account=ACCOUNT,
        change=change("associate i-0abc with instance profile rolewarden-baseline"),
        status=status,
        error=error,
    )


def subject_of(finding: Finding) -> Subject:
    return Subject(
        finding_id=finding.finding_id, rule=finding.rule, resource_arn=finding.resource_arn
    )


def texts(message: dict[str, Any]) -> list[str]:
    """Every text a person reads, block by block."""
    found = []
    for block in message["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [element["text"] for element in block.get("elements", [])]
    return found


def mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def header_block(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def context_block(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


ROLE_LINK = f"<https://console.aws.amazon.com/iam/home#/roles/details/shop-ecs-host|{ROLE_ARN}>"
INSTANCE_LINK = (
    f"<https://{REGION}.console.aws.amazon.com/ec2/home?region={REGION}"
    f"#InstanceDetails:instanceId=i-0abc|{INSTANCE_ARN}>"
)


def test_a_host_role_finding_names_policies_actions_root_cause_blockers_and_command() -> None:
    # Given a critical host role finding whose remediation the outage guard holds back
    finding = host_role_finding()

    # When it becomes a Slack message
    message = slack_message(finding_notice(finding, "event"))

    # Then a person reads what, where, why, what stops the fix, and the command to go on
    assert message == {
        "text": "RoleWarden CRITICAL: ECS host role shop-ecs-host grants application "
        "permissions (dynamodb, s3)",
        "blocks": [
            header_block(":red_circle: CRITICAL · instance-role-app-permissions"),
            mrkdwn_section(
                "*ECS host role shop-ecs-host grants application permissions (dynamodb, s3)*\n"
                f"*Resource:* {ROLE_LINK}"
            ),
            mrkdwn_section(
                "*Evidence*\n"
                "• Policy `orders-table` (inline): 2 application actions: dynamodb:GetItem, "
                "dynamodb:PutItem\n"
                "• Policy `AmazonS3FullAccess` (aws managed): 206 application actions: "
                "s3:Action000, s3:Action001, s3:Action002, s3:Action003, s3:Action004, "
                "s3:Action005 and 200 more on `*`\n"
                "• Critical: permissions management: s3:PutBucketPolicy (+24 more)\n"
                "• Root cause: Auto Scaling group `shop-asg` (fix it there too, or the next "
                "instance repeats the fault)\n"
                "• Instances: `i-0abc`, `i-0def`"
            ),
            mrkdwn_section(
                "*Remediation:* `remove-application-policies` (role_name shop-ecs-host; "
                "delete-inline-policy orders-table; detach-managed-policy "
                "arn:aws:iam::aws:policy/AmazonS3FullAccess)\n"
                "Not applied automatically:\n"
                f"• {OUTAGE}"
            ),
            mrkdwn_section(
                f"*Remediate:* `rolewarden remediate {finding.finding_id} --region eu-west-1` "
                "shows the plan; add `--apply` to make the change"
            ),
            context_block(
                f"finding `{finding.finding_id}` · account {ACCOUNT} · {REGION} · via event"
            ),
        ],
    }


def test_a_task_finding_names_the_host_role_it_falls_back_to() -> None:
    # Given a task without a task role on a host whose role it reaches through IMDS
    finding = task_finding()

    # When it becomes a Slack message
    message = slack_message(finding_notice(finding, "sweep"))

    # Then the fallback role and what it grants are the evidence; no command without a fix
    assert message == {
        "text": "RoleWarden CRITICAL: Task 0123abcd (orders-api:1) has no task role and falls "
        "back to host role sh...",
        "blocks": [
            header_block(":red_circle: CRITICAL · ecs-task-without-task-role"),
            mrkdwn_section(
                f"*{finding.title}*\n"
                f"*Resource:* <https://{REGION}.console.aws.amazon.com/ecs/v2/clusters/shop/"
                f"tasks/0123abcd?region={REGION}|{TASK_ARN}>"
            ),
            mrkdwn_section(
                "*Evidence*\n"
                "• Falls back to host role `shop-ecs-host` of `i-0abc` (IMDS reachable: "
                "bridge: host allows IMDSv1 with hop limit 2)\n"
                "• Reachable through it: 209 application actions (dynamodb, s3)"
            ),
            mrkdwn_section("*Remediation:* none proposed; a person fixes this by hand"),
            context_block(
                f"finding `{finding.finding_id}` · account {ACCOUNT} · {REGION} · via sweep"
            ),
        ],
    }


def test_an_exemption_that_does_not_count_is_evidence_and_an_automatic_fix_says_so() -> None:
    # Given an instance finding whose exemption expired, fixed automatically
    finding = instance_finding(
        exemption={
            "status": "expired",
            "until": "2029-12-01",
            "reason": "vendor appliance",
            "problem": "expired on 2029-12-01",
        }
    )

    # When it becomes a Slack message
    blocks = slack_message(finding_notice(finding, "config"))["blocks"]

    # Then the exemption's problem is shown, and the fix is announced as automatic
    assert blocks[1:4] == [
        mrkdwn_section(f"*{finding.title}*\n*Resource:* {INSTANCE_LINK}"),
        mrkdwn_section(
            "*Evidence*\n• Exemption not honoured: expired on 2029-12-01 (reason: vendor appliance)"
        ),
        mrkdwn_section(
            "*Remediation:* `associate-instance-profile` (instance_id i-0abc; "
            "instance_profile rolewarden-baseline)\n"
            "RoleWarden applies it automatically"
        ),
    ]


def test_an_applied_remediation_names_the_journal_entry_and_the_restore_command() -> None:
    # Given a remediation applied and verified
    finding = instance_finding()
    outcome = Outcome(
        OutcomeStatus.APPLIED,
        subject_of(finding),
        journal=[journal_entry("20300101T100000Z-0a1b2c3d", Status.VERIFIED)],
    )

    # When it becomes a Slack message
    message = slack_message(remediation_notice(outcome, ACCOUNT, REGION))

    # Then it says what changed, and how to undo it
    assert message == {
        "text": f"RoleWarden remediation applied: {INSTANCE_ARN}",
        "blocks": [
            header_block(":white_check_mark: Remediation applied · ec2-instance-without-profile"),
            mrkdwn_section(f"*Resource:* {INSTANCE_LINK}\n*Finding:* `{finding.finding_id}`"),
            mrkdwn_section(
                "*Changes*\n• `20300101T100000Z-0a1b2c3d` associate i-0abc with instance "
                "profile rolewarden-baseline [verified]"
            ),
            mrkdwn_section("*To undo:* `rolewarden restore 20300101T100000Z-0a1b2c3d --apply`"),
            context_block(f"account {ACCOUNT} · {REGION}"),
        ],
    }


def test_a_refused_remediation_shows_the_plan_and_why() -> None:
    # Given a remediation the outage guard refused
    finding = host_role_finding()
    outcome = Outcome(
        OutcomeStatus.REFUSED,
        subject_of(finding),
        reasons=[f"blocked unless forced (--force): {OUTAGE}"],
        plan=[change("detach arn:aws:iam::aws:policy/AmazonS3FullAccess from role shop-ecs-host")],
    )

    # When it becomes a Slack message
    message = slack_message(remediation_notice(outcome, ACCOUNT, REGION))

    # Then the plan is shown as not made, with the reason, and no restore command
    assert message == {
        "text": f"RoleWarden remediation refused: {ROLE_ARN}",
        "blocks": [
            header_block(":no_entry: Remediation refused · instance-role-app-permissions"),
            mrkdwn_section(f"*Resource:* {ROLE_LINK}\n*Finding:* `{finding.finding_id}`"),
            mrkdwn_section(
                "*Planned, not made*\n"
                "• detach arn:aws:iam::aws:policy/AmazonS3FullAccess from role shop-ecs-host"
            ),
            mrkdwn_section(f"*Why*\n• blocked unless forced (--force): {OUTAGE}"),
            context_block(f"account {ACCOUNT} · {REGION}"),
        ],
    }


def test_a_failed_remediation_shows_the_error_and_a_restore_names_what_it_undid() -> None:
    # Given a failed remediation and a restore
    finding = instance_finding()
    failed = Outcome(
        OutcomeStatus.FAILED,
        subject_of(finding),
        journal=[
            journal_entry(
                "20300101T100000Z-0a1b2c3d",
                Status.FAILED,
                error="ec2:AssociateIamInstanceProfile: UnauthorizedOperation",
            )
        ],
    )
    restored = Outcome(
        OutcomeStatus.RESTORED,
        Subject(restore="20300101T100000Z-0a1b2c3d", rule=finding.rule, resource_arn=INSTANCE_ARN),
        journal=[journal_entry("20300101T110000Z-9f8e7d6c", Status.VERIFIED)],
    )

    # When they become Slack messages
    failed_blocks = slack_message(remediation_notice(failed, ACCOUNT, REGION))["blocks"]
    restored_blocks = slack_message(remediation_notice(restored, ACCOUNT, REGION))["blocks"]

    # Then the failure carries AWS's error, and the restore the journal id it undid
    assert failed_blocks[0] == header_block(":x: Remediation failed · ec2-instance-without-profile")
    assert failed_blocks[2] == mrkdwn_section(
        "*Changes*\n• `20300101T100000Z-0a1b2c3d` associate i-0abc with instance profile "
        "rolewarden-baseline [failed] error: ec2:AssociateIamInstanceProfile: "
        "UnauthorizedOperation"
    )
    assert restored_blocks[:2] == [
        header_block(":leftwards_arrow_with_hook: Restore done · ec2-instance-without-profile"),
        mrkdwn_section(f"*Resource:* {INSTANCE_LINK}\n*Restore of:* `20300101T100000Z-0a1b2c3d`"),
    ]
    assert "To undo" not in " ".join(texts({"blocks": restored_blocks}))


def test_a_digest_counts_findings_by_severity_new_and_resolved() -> None:
    # Given a sweep with 5 findings, 2 of them new, and 1 resolved since the last one
    summary = {
        "account": ACCOUNT,
        "regions": ["eu-west-1", "us-east-1"],
        "findings": 5,
        "findings_by_severity": {"critical": 1, "high": 0, "medium": 4, "low": 0},
        "exempt": [{"resource_arn": INSTANCE_ARN}],
        "scan_errors": [{"error": "AccessDenied"}],
    }
    new = [host_role_finding(), instance_finding()]

    # When the digest becomes a Slack message
    message = slack_message(digest_notice(summary, Due(new=new), ["0123456789abcdef"]))

    # Then it gives the counts and names the new and resolved findings
    assert message == {
        "text": f"RoleWarden sweep of {ACCOUNT}: 5 findings (1 critical, 4 medium), 2 new, "
        "1 resolved",
        "blocks": [
            header_block(f"RoleWarden sweep of {ACCOUNT}"),
            mrkdwn_section(
                "*5 open findings:* :red_circle: critical 1 · :large_orange_circle: high 0 · "
                ":large_yellow_circle: medium 4 · :white_circle: low 0\n"
                f"*New since the last sweep:* 2 (`{new[0].finding_id}`, `{new[1].finding_id}`)\n"
                "*Resolved:* 1 (`0123456789abcdef`)\n"
                "*Exempt (accepted risk):* 1\n"
                "*Scan errors:* 1 (`rolewarden scan` lists them)"
            ),
            context_block(f"account {ACCOUNT} · eu-west-1, us-east-1"),
        ],
    }


def test_an_exemption_change_says_who_what_until_and_why() -> None:
    # Given someone tagged an instance as an accepted risk
    change = ExemptionChange(
        "CreateTags",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/alice",
        INSTANCE_ARN,
        "added",
        until="2030-03-31",
        reason="vendor appliance, ticket SEC-142",
    )

    # When it becomes a Slack message
    message = slack_message(exemption_notice(change, ACCOUNT, REGION))

    # Then it names the resource, the person, the date and the reason
    assert message["blocks"] == [
        header_block(":memo: Exemption added"),
        mrkdwn_section(
            f"*Resource:* {INSTANCE_LINK}\n"
            f"*By:* arn:aws:sts::{ACCOUNT}:assumed-role/admin/alice\n"
            "*Until:* 2030-03-31\n"
            "*Reason:* vendor appliance, ticket SEC-142"
        ),
        context_block(f"CloudTrail CreateTags · account {ACCOUNT} · {REGION}"),
    ]


def test_an_exemption_limited_to_rules_names_them() -> None:
    # Given someone tagged an instance as an accepted risk for ecs-host-imds-exposed only
    change = ExemptionChange(
        "CreateTags",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/alice",
        INSTANCE_ARN,
        "added",
        until="2030-03-31",
        reason="vendor appliance, ticket SEC-142",
        rules=("ecs-host-imds-exposed",),
        tags=("rolewarden:exempt-until", "rolewarden:exempt-reason", "rolewarden:exempt-rules"),
    )

    # When it becomes a Slack message
    message = slack_message(exemption_notice(change, ACCOUNT, REGION))

    # Then it names the rule the accepted risk is limited to
    assert message["blocks"][:2] == [
        header_block(":memo: Exemption added"),
        mrkdwn_section(
            f"*Resource:* {INSTANCE_LINK}\n"
            f"*By:* arn:aws:sts::{ACCOUNT}:assumed-role/admin/alice\n"
            "*Until:* 2030-03-31\n"
            "*Reason:* vendor appliance, ticket SEC-142\n"
            "*Rules:* `ecs-host-imds-exposed`"
        ),
    ]


def test_removing_the_rules_tag_alone_is_announced_as_widening() -> None:
    # Given someone removed rolewarden:exempt-rules only: the exemption now covers every rule
    change = ExemptionChange(
        "DeleteTags",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/alice",
        INSTANCE_ARN,
        "removed",
        tags=("rolewarden:exempt-rules",),
    )

    # When it becomes a Slack message / Then its header says what that does
    message = slack_message(exemption_notice(change, ACCOUNT, REGION))
    assert message["blocks"][0] == header_block(":memo: Exemption widened to every rule")


def test_an_exemption_of_other_rules_is_shown_as_not_for_this_rule() -> None:
    # Given an instance finding whose exemption covers ecs-host-imds-exposed only
    finding = instance_finding(
        exemption={
            "status": "other-rules",
            "until": "2030-03-31",
            "reason": "vendor appliance",
            "problem": "covers only ecs-host-imds-exposed (rolewarden:exempt-rules)",
            "rules": ["ecs-host-imds-exposed"],
        }
    )

    # When it becomes a Slack message
    blocks = slack_message(finding_notice(finding, "config"))["blocks"]

    # Then the evidence says the exemption is for another rule
    assert blocks[2] == mrkdwn_section(
        "*Evidence*\n• Exemption not for this rule: covers only ecs-host-imds-exposed "
        "(rolewarden:exempt-rules) (reason: vendor appliance)"
    )


def test_text_from_data_cannot_become_a_mention_or_a_link() -> None:
    # Given a title, a tag reason and a policy name that hold Slack markup
    finding = instance_finding(
        exemption={
            "status": "malformed",
            "reason": "<!channel> see <https://evil.example|here> & `rm -rf`",
            "problem": "rolewarden:exempt-until must be a date YYYY-MM-DD, got 'soon'",
        },
        offending_policies=[offending_policy("a`b<c>", None, ["s3:GetObject"])],
    )
    notice = finding_notice(
        Finding(**{**vars(finding), "title": "Role <x> & <!here> has no profile"}), "event"
    )

    # When it becomes a Slack message
    message = slack_message(notice)

    # Then every `<`, `>` and `&` from the data is an entity, and a backtick ends no code
    body = "\n".join(texts(message))
    assert "*Role &lt;x&gt; &amp; &lt;!here&gt; has no profile*" in body
    assert "(reason: &lt;!channel&gt; see &lt;https://evil.example|here&gt; &amp; `rm -rf`)" in body
    assert "• Policy `a'b&lt;c&gt;` (inline)" in body
    assert "<!" not in body
    assert message["text"] == "RoleWarden MEDIUM: Role &lt;x&gt; &amp; &lt;!here&gt; has no profile"


def test_huge_evidence_is_cut_to_a_few_lines_within_slack_limits() -> None:
    # Given a role with 300 offending policies of 500 long-named actions each
    policies = [
        offending_policy(
            f"policy-{n:03}-{'x' * 300}", None, [f"s3:{'Get' * 100}{i}" for i in range(500)]
        )
        for n in range(300)
    ]
    finding = host_role_finding(
        offending_policies=policies, instances=[f"i-{n:017}" for n in range(1000)]
    )

    # When it becomes a Slack message
    message = slack_message(finding_notice(finding, "sweep"))

    # Then the evidence shows 8 lines and says how many more, every text within Slack's limits
    evidence = message["blocks"][2]["text"]["text"]
    lines = evidence.split("\n")
    assert lines[0] == "*Evidence*"
    assert lines[1].startswith(f"• Policy `policy-000-{'x' * 100}")
    assert len(lines) == 10
    assert lines[-1] == "… and 293 more"
    assert all(len(line) <= 300 and line.endswith("…") for line in lines[1:9])
    assert all(len(text) <= 3000 for text in texts(message))
    assert len(message["blocks"]) <= 50
    assert len(message["text"]) <= 3000


def test_a_long_header_section_and_fallback_text_are_cut_with_an_ellipsis() -> None:
    # Given a notice whose rule, subject and title run far beyond Slack's limits
    finding = host_role_finding()
    long_rule = Finding(**{**vars(finding), "rule": "r" * 500, "title": "t" * 5000})
    notice = finding_notice(long_rule, "sweep")
    notice = Notice(kind=Kind.FINDING, subject="s" * 5000, message=notice.message)

    # When it becomes a Slack message
    message = slack_message(notice)

    # Then each is cut to its limit, ending with "…"; the title to a line, not the resource
    header = message["blocks"][0]["text"]["text"]
    assert len(header) == 150 and header.endswith("r…")
    assert message["blocks"][1] == mrkdwn_section(f"*{'t' * 299}…*\n*Resource:* {ROLE_LINK}")
    assert message["text"] == "s" * 2999 + "…"


def test_a_cut_never_splits_an_entity_a_link_or_inline_code() -> None:
    assert clip("abc &amp; def", 8) == "abc…"
    assert clip("see <https://example.com|x> now", 12) == "see…"
    assert clip("run `rolewarden scan` now", 12) == "run…"
    assert clip("short", 5) == "short"
    assert clip("a b c d e f", 6) == "a b c…"


def test_more_than_50_blocks_keep_49_and_say_how_many_were_left_out() -> None:
    blocks = fit_blocks([section([f"line {n}"]) for n in range(60)])

    assert len(blocks) == 50
    assert blocks[48] == mrkdwn_section("line 48")
    assert blocks[49] == context_block("… and 11 more blocks")


def test_a_host_exposed_by_awsvpc_tasks_says_which_and_what_closes_it() -> None:
    # Given a host finding whose only exposure is an awsvpc task and service (no remediation)
    finding = Finding(
        rule="ecs-host-imds-exposed",
        severity=Severity.MEDIUM,
        account=ACCOUNT,
        region=REGION,
        resource_type="AWS::EC2::Instance",
        resource_id="i-0abc",
        resource_arn=INSTANCE_ARN,
        title="ECS host i-0abc lets awsvpc tasks reach IMDS",
        evidence={
            "problems": ["lets awsvpc tasks reach IMDS"],
            "exposures": [
                {
                    "network_mode": "awsvpc",
                    "reason": "awsvpc without ECS_AWSVPC_BLOCK_IMDS=true on the host",
                    "tasks": ["task 0123abcd (api:2)"],
                    "services": ["service api (api:2)"],
                    "closed_by": "ECS_AWSVPC_BLOCK_IMDS=true in the ECS agent's config",
                }
            ],
        },
        remediation=None,
    )

    # When it becomes a Slack message
    blocks = slack_message(finding_notice(finding, "sweep"))["blocks"]

    # Then the evidence names what reaches IMDS and the setting that closes it
    assert blocks[2] == mrkdwn_section(
        "*Evidence*\n"
        "• IMDS: lets awsvpc tasks reach IMDS\n"
        "• awsvpc (task 0123abcd (api:2), service api (api:2)): ECS_AWSVPC_BLOCK_IMDS=true in "
        "the ECS agent's config"
    )
    assert blocks[3] == mrkdwn_section("*Remediation:* none proposed; a person fixes this by hand")
