"""Journal integrity: only what RoleWarden journaled and signed is restored, and a restore
never grants what RoleWarden would report critical unless a person forces it.

(moto 5.2 implements KMS GenerateMac and VerifyMac: the MACs here are real HMAC-SHA-256.)

Scenarios:
  1. An entry RoleWarden wrote is signed; restoring it works, and the restore is signed.
  2. A forged, unsigned entry (AdministratorAccess, an Allow `*` document, an admin
     instance profile, disabled IMDS) -> refused, even forced; nothing changed.
  3. A signed entry altered afterwards, or signed with another key, or copied under
     another id -> refused, even forced; nothing changed.
  4. Without a journal key nothing is changed, and no entry is restored.
  5. A signed entry whose restore would grant something critical (a `*` document, an
     instance profile whose role has AdministratorAccess) -> refused naming why; forced,
     restored and journaled as forced.
  6. The restore plan says what restore does, from the signed state, not from the
     summary stored with the entry.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functional.accounts import ACCOUNT, ORDERS_TABLE_POLICY, REGION, live_profile_arns
from functional.remediation.support import APPLY, attached, host_role, remediate
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    create_instance_profile,
    create_role,
    launch_instance,
)
from rolewarden.remediation import journal as journal_module
from rolewarden.remediation.change import Change
from rolewarden.remediation.journal import Journal, JournalEntry, Status, new_journal_id
from rolewarden.remediation.outcome import OutcomeStatus
from rolewarden.remediation.request import NO_JOURNAL_KEY, Request
from rolewarden.remediation.signing import JournalSigner, canonical

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
FORCE = Request(actor="mallory", apply=True, force=True)
NOON = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def entry_of(change: Change, resource_arn: str, status: Status = Status.VERIFIED) -> JournalEntry:
    return JournalEntry(
        journal_id=new_journal_id(NOON),
        time=NOON.isoformat(),
        actor="alice",
        rule="instance-role-app-permissions",
        finding_id="0123456789abcdef",
        resource_arn=resource_arn,
        account=ACCOUNT,
        change=change,
        status=status,
    )


def write_unsigned(journal: Journal, entry: JournalEntry) -> None:
    """What anyone allowed to write the table could put there: no RoleWarden signature."""
    journal.dynamodb.put_item(TableName=journal.table, Item=journal_module._item(entry))


def stored(journal: Journal, journal_id: str) -> dict[str, Any]:
    key = {"pk": {"S": f"entry#{journal_id}"}, "sk": {"S": "entry"}}
    item: dict[str, Any] = journal.dynamodb.get_item(TableName=journal.table, Key=key)["Item"]
    return item


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def instance_arn(instance_id: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"


def metadata(session: Any, instance_id: str) -> dict[str, Any]:
    ec2 = session.client("ec2")
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    options: dict[str, Any] = reservations[0]["Instances"][0]["MetadataOptions"]
    return options


def profile_of(session: Any, instance_id: str) -> str | None:
    live = live_profile_arns(session.client("ec2"), instance_id)
    return live[0] if live else None


def inline_names(session: Any, role: str) -> list[str]:
    names: list[str] = session.client("iam").list_role_policies(RoleName=role)["PolicyNames"]
    return names


# --- 1. RoleWarden's own entries ------------------------------------------------------------


def test_an_entry_rolewarden_wrote_is_signed_and_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given RoleWarden deleted an application inline policy (journaled, signed)
    arn = host_role(session, "signed-host", app_policy="inline")
    (entry,) = remediate(rolewarden, arn).journal
    item = stored(rolewarden.journal, entry.journal_id)
    assert item["signature"]["S"]
    # When a person restores it
    outcome = rolewarden.service.restore(entry.journal_id, APPLY)
    # Then the policy is back, and the restore's own entry is signed too
    assert outcome.status is OutcomeStatus.RESTORED, outcome.reasons
    assert inline_names(session, "signed-host") == ["orders-table"]
    (restore,) = outcome.journal
    assert stored(rolewarden.journal, restore.journal_id)["signature"]["S"]


# --- 2. forged entries ------------------------------------------------------------------------


def test_a_forged_entry_attaching_administrator_access_is_never_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given an unsigned entry claiming RoleWarden detached AdministratorAccess from a role
    host_role(session, "forged-admin-host", app_policy="managed")
    change = Change(
        "detach-managed-policy",
        REGION,
        {"role_name": "forged-admin-host", "policy_arn": ADMIN},
        before={"attached": True},
        after={"attached": False},
        summary="detach a harmless policy",
    )
    forged = entry_of(change, role_arn("forged-admin-host"))
    write_unsigned(rolewarden.journal, forged)
    # When it is restored, even forced
    outcome = rolewarden.service.restore(forged.journal_id, FORCE)
    # Then it is refused as unsigned, with no plan, and the role has no AdministratorAccess
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons == [
        f"journal entry {forged.journal_id} is unsigned: RoleWarden signs every entry it "
        "writes, so it was written by someone else; never restored"
    ]
    assert outcome.plan == []
    assert ADMIN not in attached(session, "forged-admin-host")


def test_a_forged_entry_putting_back_an_allow_everything_document_is_never_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    host_role(session, "forged-star-host", app_policy="managed")
    change = Change(
        "delete-inline-policy",
        REGION,
        {"role_name": "forged-star-host", "policy_name": "ops"},
        before={"document": ALLOW_ALL},
        after={"document": None},
    )
    forged = entry_of(change, role_arn("forged-star-host"))
    write_unsigned(rolewarden.journal, forged)
    outcome = rolewarden.service.restore(forged.journal_id, FORCE)
    assert outcome.status is OutcomeStatus.REFUSED
    assert "is unsigned" in outcome.reasons[0]
    assert inline_names(session, "forged-star-host") == []


def test_a_forged_entry_giving_an_instance_an_admin_profile_is_never_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    instance, change = back_to_an_admin_profile(session, "forged-admin", "forged-plain")
    plain_profile = change.after["instance_profile_arn"]
    forged = entry_of(change, instance_arn(instance))
    write_unsigned(rolewarden.journal, forged)
    outcome = rolewarden.service.restore(forged.journal_id, FORCE)
    assert outcome.status is OutcomeStatus.REFUSED
    assert "is unsigned" in outcome.reasons[0]
    assert profile_of(session, instance) == plain_profile


def test_a_forged_entry_disabling_imds_is_never_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    instance = launch_instance(session.client("ec2"))
    now = metadata(session, instance)
    options = {
        name: now[name] for name in ("HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint")
    }
    change = Change(
        "enforce-imdsv2",
        REGION,
        {"instance_id": instance},
        before={**options, "HttpEndpoint": "disabled"},
        after=options,
    )
    forged = entry_of(change, instance_arn(instance))
    write_unsigned(rolewarden.journal, forged)
    outcome = rolewarden.service.restore(forged.journal_id, FORCE)
    assert outcome.status is OutcomeStatus.REFUSED
    assert "is unsigned" in outcome.reasons[0]
    assert metadata(session, instance)["HttpEndpoint"] == "enabled"


# --- 3. altered, foreign-signed and copied entries ------------------------------------------------


def test_a_signed_entry_altered_afterwards_is_never_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given RoleWarden's signed entry of a deleted inline policy, whose document someone
    # then swaps for Allow * (keeping RoleWarden's signature)
    arn = host_role(session, "altered-host", app_policy="inline")
    (entry,) = remediate(rolewarden, arn).journal
    item = stored(rolewarden.journal, entry.journal_id)
    altered = rolewarden.journal.get(entry.journal_id)
    altered.change = Change(
        altered.change.action,
        altered.change.region,
        altered.change.target,
        before={"document": ALLOW_ALL},
        after=altered.change.after,
        summary=altered.change.summary,
    )
    forged_item = journal_module._item(altered) | {"signature": item["signature"]}
    rolewarden.journal.dynamodb.put_item(TableName=rolewarden.table, Item=forged_item)
    # When it is restored, even forced
    outcome = rolewarden.service.restore(entry.journal_id, FORCE)
    # Then it is refused as altered, and the role has no inline policy back
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons[0].startswith(
        f"journal entry {entry.journal_id} was altered since RoleWarden wrote it"
    )
    assert inline_names(session, "altered-host") == []


def test_an_entry_signed_with_another_key_is_never_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given an entry signed with a key of the forger's own (one they may use)
    host_role(session, "other-key-host", app_policy="managed")
    kms = session.client("kms")
    own = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    forger = Journal(rolewarden.journal.dynamodb, rolewarden.table, JournalSigner(kms, own["Arn"]))
    change = Change(
        "detach-managed-policy",
        REGION,
        {"role_name": "other-key-host", "policy_arn": ADMIN},
        before={"attached": True},
        after={"attached": False},
    )
    forged = entry_of(change, role_arn("other-key-host"))
    forger.save(forged)
    outcome = rolewarden.service.restore(forged.journal_id, FORCE)
    assert outcome.status is OutcomeStatus.REFUSED
    assert "was altered since RoleWarden wrote it" in outcome.reasons[0]
    assert ADMIN not in attached(session, "other-key-host")


def test_a_signed_entry_copied_under_another_id_is_never_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    arn = host_role(session, "copied-host", app_policy="inline")
    (entry,) = remediate(rolewarden, arn).journal
    rolewarden.service.restore(entry.journal_id, APPLY)  # restored once
    item = stored(rolewarden.journal, entry.journal_id)
    other_id = new_journal_id(NOON)
    copy = item | {"pk": {"S": f"entry#{other_id}"}, "journal_id": {"S": other_id}}
    rolewarden.journal.dynamodb.put_item(TableName=rolewarden.table, Item=copy)
    outcome = rolewarden.service.restore(other_id, FORCE)
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons == [
        f"journal entry {other_id} holds the signed entry of {entry.journal_id}: copied, not "
        "written there; never restored"
    ]


# --- 4. no key, no change -------------------------------------------------------------------------


def test_without_a_journal_key_nothing_is_changed_or_restored(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given RoleWarden with a journal table but no key
    arn = host_role(session, "keyless-host", app_policy="inline")
    unsigned = Journal(rolewarden.journal.dynamodb, rolewarden.table)
    service = rolewarden.service
    service.remediator.journal = unsigned
    # When a person remediates, then it is refused and the policy stays
    outcome = service.by_resource("instance-role-app-permissions", arn, APPLY)
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons == [NO_JOURNAL_KEY]
    assert inline_names(session, "keyless-host") == ["orders-table"]
    # And an entry (signed earlier) cannot be verified without the key: not restored
    service.remediator.journal = rolewarden.journal
    (entry,) = remediate(rolewarden, arn).journal
    service.remediator.journal = unsigned
    refused = service.restore(entry.journal_id, FORCE)
    assert refused.status is OutcomeStatus.REFUSED
    assert refused.reasons == [
        f"journal entry {entry.journal_id} cannot be verified: no journal key "
        "(ROLEWARDEN_JOURNAL_KEY); an entry that cannot be verified is never restored"
    ]
    assert inline_names(session, "keyless-host") == []


# --- 5. critical grants ---------------------------------------------------------------------


def test_restoring_an_allow_everything_document_needs_force(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a signed entry of an inline policy granting `*`, deleted from a host role
    host_role(session, "star-host", app_policy="managed")
    change = Change(
        "delete-inline-policy",
        REGION,
        {"role_name": "star-host", "policy_name": "ops"},
        before={"document": ALLOW_ALL},
        after={"document": None},
    )
    signed = entry_of(change, role_arn("star-host"))
    rolewarden.journal.save(signed)
    # When a person restores it without --force
    outcome = rolewarden.service.restore(signed.journal_id, APPLY)
    # Then it is refused, the reason naming what it would grant; the plan shows the document
    assert outcome.status is OutcomeStatus.REFUSED
    (reason,) = outcome.reasons
    assert reason.startswith(
        "the restore would grant what RoleWarden reports critical (--force restores it): "
        "inline:ops: grants every action (*); inline:ops: permissions management: "
    )
    assert "inline:ops: privilege escalation: iam:PassRole on any role (*)" in reason
    assert inline_names(session, "star-host") == []
    # And forced, it is restored and the journal says what was forced
    forced = rolewarden.service.restore(signed.journal_id, FORCE)
    assert forced.status is OutcomeStatus.RESTORED, forced.reasons
    assert inline_names(session, "star-host") == ["ops"]
    assert "restored a critical grant: inline:ops: grants every action (*)" in (
        forced.journal[0].forced
    )


def test_restoring_an_instance_profile_whose_role_is_admin_needs_force(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    instance, change = back_to_an_admin_profile(session, "admin-behind", "plain-behind")
    plain_profile = change.after["instance_profile_arn"]
    signed = entry_of(change, instance_arn(instance))
    rolewarden.journal.save(signed)
    outcome = rolewarden.service.restore(signed.journal_id, APPLY)
    assert outcome.status is OutcomeStatus.REFUSED
    (reason,) = outcome.reasons
    assert reason.startswith(
        "the restore would grant what RoleWarden reports critical (--force restores it): "
        "instance profile admin-behind's role admin-behind: grants every action (*); "
    )
    assert profile_of(session, instance) == plain_profile


def test_restoring_a_baseline_attachment_is_not_judged_critical(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given RoleWarden detached an application policy (S3 read-only): not critical
    arn = host_role(session, "plain-host", app_policy="managed")
    (entry,) = remediate(rolewarden, arn).journal
    outcome = rolewarden.service.restore(entry.journal_id, APPLY)
    assert outcome.status is OutcomeStatus.RESTORED, outcome.reasons
    assert outcome.journal[0].forced == []


# --- 6. the plan ----------------------------------------------------------------------------


def test_the_restore_plan_is_written_from_the_signed_state_not_the_stored_summary(
    session: Any, rolewarden: SimpleNamespace
) -> None:
    # Given a signed entry whose summary says something else than its state
    host_role(session, "summary-host", app_policy="managed")
    change = Change(
        "delete-inline-policy",
        REGION,
        {"role_name": "summary-host", "policy_name": "orders-table"},
        before={"document": ORDERS_TABLE_POLICY},
        after={"document": None},
        summary="nothing of note",
    )
    signed = entry_of(change, role_arn("summary-host"))
    rolewarden.journal.save(signed)
    # When a person plans its restore
    outcome = rolewarden.service.restore(signed.journal_id, Request(actor="alice"))
    # Then the plan says what restore will put back, document and all
    assert outcome.status is OutcomeStatus.PLANNED
    (undo,) = outcome.plan
    assert "nothing of note" not in undo.summary
    assert undo.summary.startswith(
        "restore: put inline policy orders-table back on role summary-host, with the document "
    )
    assert '"dynamodb:PutItem"' in undo.summary or "dynamodb:" in undo.summary


# --- the signed form ------------------------------------------------------------------------------


def test_the_signed_form_is_canonical() -> None:
    # Key order and spacing do not change it; any value does
    assert canonical({"b": 1, "a": "Zoë"}) == canonical({"a": "Zoë", "b": 1})
    assert canonical({"a": "Zoë", "b": 1}) != canonical({"a": "Zoe", "b": 1})
    assert "Zoë".encode() in canonical({"a": "Zoë"})


def test_kms_macs_are_real_in_moto(mock_aws: boto3.Session) -> None:
    kms = mock_aws.client("kms")
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    signer = JournalSigner(kms, key["Arn"])
    mac = signer.mac(b"entry")
    signer.verify(b"entry", mac)
    assert len(base64.b64decode(mac)) == 32
    with pytest.raises(Exception, match="does not match"):
        signer.verify(b"entry!", mac)


def back_to_an_admin_profile(session: Any, admin: str, plain: str) -> tuple[str, Change]:
    """An instance with a plain ECS host profile, and the change that gave it that profile in
    place of one whose role has AdministratorAccess (what a restore would put back)."""
    iam, ec2 = session.client("iam"), session.client("ec2")
    create_role(iam, admin, managed_policy_arns=(ADMIN,))
    admin_profile = create_instance_profile(iam, admin, admin)
    create_role(iam, plain, managed_policy_arns=(ECS_AGENT_POLICY_ARN,))
    plain_profile = create_instance_profile(iam, plain, plain)
    instance = launch_instance(ec2, profile_arn=plain_profile)
    change = Change(
        "associate-instance-profile",
        REGION,
        {"instance_id": instance},
        before={"instance_profile_arn": admin_profile},
        after={"instance_profile_arn": plain_profile},
    )
    return instance, change
