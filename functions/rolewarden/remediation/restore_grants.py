"""What a restore would grant, judged as RoleWarden judges a role, and what it will do.

A restore puts back a policy document, a policy attachment or an instance profile; even
from a signed entry it must not hand out what RoleWarden would report critical
(AdministratorAccess, `*`, permissions management, privilege escalation) unless a person
forces it. The plan's line is written from the entry's signed state, never from the
summary stored with it.
"""

from __future__ import annotations

import json
from typing import Any

from rolewarden.aws.arn import Arn
from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.inventory.iam import read_roles
from rolewarden.inventory.snapshot import IamInventory, Snapshot
from rolewarden.policy.classify import classify_role
from rolewarden.policy.evaluate import PolicyInput, PolicyRef, evaluate_role
from rolewarden.remediation.change import ActionError, Change, State
from rolewarden.remediation.policy_text import default_version
from rolewarden.rules.context import RuleContext


def critical_grants(clients: AwsClients, change: Change, context: RuleContext) -> list[str]:
    """Why putting `change.before` back would grant something critical (empty: it would not).

    Raises ActionError when what it would grant cannot be read (then nothing is restored)."""
    target, before = change.target, change.before
    if change.action == "delete-inline-policy" and before.get("document") is not None:
        ref = PolicyRef("inline", str(target["policy_name"]))
        return _critical(ref, before["document"], context)
    if change.action == "detach-managed-policy" and before.get("attached"):
        arn = str(target["policy_arn"])
        ref = PolicyRef("managed", Arn.parse(arn).name, arn)
        if context.baseline.is_baseline_policy(ref):
            return []
        return _critical(ref, default_version(clients, arn)["Document"], context)
    if change.action == "associate-instance-profile" and before.get("instance_profile_arn"):
        return _profile_critical(clients, str(before["instance_profile_arn"]), context)
    return []


def undo_summary(change: Change, current: State) -> str:
    """What restoring `change` does, from its state alone."""
    target, before = change.target, change.before
    if change.action == "detach-managed-policy":
        return f"attach {target['policy_arn']} to role {target['role_name']} again"
    if change.action == "delete-inline-policy":
        document = before.get("document")
        shown = document if isinstance(document, str) else json.dumps(document, sort_keys=True)
        return (
            f"put inline policy {target['policy_name']} back on role {target['role_name']}, "
            f"with the document {shown}"
        )
    if change.action == "associate-instance-profile":
        old, now = before.get("instance_profile_arn"), current.get("instance_profile_arn")
        if old is None:
            return f"remove instance profile {now} from {target['instance_id']}"
        return f"give {target['instance_id']} instance profile {old} again (now {now})"
    if change.action == "enforce-imdsv2":
        options = ", ".join(f"{name}={value}" for name, value in sorted(before.items()))
        return f"set the metadata options of {target['instance_id']} back to {options}"
    if change.action == "create-task-role":
        return f"delete task role {target['role_name']} and the policies it holds"
    shown = json.dumps(before, sort_keys=True, default=str)
    return f"{change.action}: put {json.dumps(dict(target), default=str)} back to {shown}"


def _critical(ref: PolicyRef, document: Any, context: RuleContext) -> list[str]:
    evaluation = evaluate_role([PolicyInput(ref, document)], context.catalogue)
    if evaluation.errors:
        return [f"{ref.key}: cannot tell what it grants ({evaluation.errors[0].reason})"]
    verdict = classify_role(evaluation, [ref], context.baseline, context.catalogue)
    return [f"{ref.key}: {reason}" for reason in verdict.critical]


def _profile_critical(clients: AwsClients, profile_arn: str, context: RuleContext) -> list[str]:
    """The profile's roles, judged as the rule judges an instance role."""
    iam = clients.client("iam")
    name = Arn.parse(profile_arn).name
    profile = call(
        ActionError, "iam:GetInstanceProfile", iam.get_instance_profile, InstanceProfileName=name
    )
    inventory = IamInventory()
    role_names = [role["RoleName"] for role in profile["InstanceProfile"].get("Roles", [])]
    read_roles(
        clients,
        inventory,
        role_names,
        lambda arn: context.baseline.is_baseline_policy(PolicyRef("managed", "", arn)),
    )
    if inventory.errors:
        raise ActionError(f"reading the roles of {profile_arn}: {inventory.errors[0].message}")
    snapshot = Snapshot(account="", region="", partition="", iam=inventory)
    reasons = []
    for role in inventory.roles.values():
        verdict = context.roles.verdict(snapshot, role)
        reasons += [f"instance profile {name}'s role {role.name}: {r}" for r in verdict.critical]
        reasons += [
            f"instance profile {name}'s role {role.name}: cannot tell what {e.policy.key} "
            f"grants ({e.reason})"
            for e in verdict.evaluation.errors
        ]
    return reasons
