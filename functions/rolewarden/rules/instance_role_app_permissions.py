"""instance-role-app-permissions: host roles hold only infrastructure permissions.

Scenarios:
  1. A role behind an instance profile in scope grants application actions
     -> NON_COMPLIANT, high; critical when one is critical (`*` or a grant that leaves
     almost every action, write-capable permissions management, iam:PassRole or
     sts:AssumeRole on any role, a published privilege-escalation action; see
     policy/critical.py). iam:PassRole on named roles, and reads the catalogue labels
     permissions management (SecurityAudit, ReadOnlyAccess), stay high. Evidence: each
     offending policy with its actions by service and access level, its critical
     reasons, the roles it may pass or assume (with iam:PassedToService), and the
     instances using the role.
  2. A role grants only baseline actions -> COMPLIANT.
  3. Scope `ecs-hosts` and the role is not an ECS host role -> NOT_APPLICABLE.
  4. A role not behind any instance profile -> NOT_APPLICABLE.
  5. An offending policy also grants baseline actions (mixed) -> removing it would stop
     the ECS agent: the evidence proposes a baseline-only split, and for an inline or
     customer managed policy the step is that split (split-mixed-policy: the baseline
     statements kept, the application ones removed). An AWS managed one cannot be
     edited: detaching it stays the step, blocked unless forced.
  6. Tasks on the role's hosts that run without a task role and can reach IMDS, or EC2
     services on their clusters without a task role (they use these permissions today)
     -> blocked unless forced (outage guard).
  7. A host role that instances which are not registered container instances use too
     (a "generic EC2 role" carrying the ECS agent policy on an application server) ->
     their application may rely on it: a person decides, naming them.
  8. A policy that cannot be parsed -> reported as an error on that policy; the role is
     never called compliant on the strength of the others.
  9. A policy other than the three baseline ones grants a host's parameter reads
     (ssm:GetParameter) beyond what a host needs (the CloudWatch agent's parameters,
     AWS public parameters): on an application's path or on `*` they are application
     permissions, even beside AmazonSSMManagedInstanceCore; the evidence says why. On
     what a host needs they are baseline.
 10. An instance using the role is tagged `rolewarden:protected`, or with a near miss of
     it (stray space, look-alike letters) -> not automatic, naming the instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rolewarden.inventory.snapshot import Role, Snapshot, Task
from rolewarden.policy.classify import (
    PolicyVerdict,
    RoleVerdict,
    baseline_only_document,
)
from rolewarden.policy.digest import document_digest
from rolewarden.policy.evaluate import PolicyRef
from rolewarden.rules.context import RuleContext
from rolewarden.rules.evidence import policy_evidence, services_of
from rolewarden.rules.guards import Guards, protected_behind, role_guards
from rolewarden.rules.host_roles import is_ecs_host_role
from rolewarden.rules.ids import INSTANCE_ROLE_APP_PERMISSIONS as RULE_ID
from rolewarden.rules.imds import imds_reachability
from rolewarden.rules.model import Evaluation, Remediation, Rule, Severity, Violation
from rolewarden.rules.modes import InstanceRoleScope
from rolewarden.rules.resources import IAM_ROLE, role_resource, short_name

ACTION = "remove-application-policies"
SPLIT = "split-mixed-policy"


def evaluate(snapshot: Snapshot, context: RuleContext) -> Iterator[Evaluation]:
    for role in snapshot.iam.roles.values():
        resource = role_resource(role)
        if not role.instance_profile_arns:
            yield Evaluation.not_applicable(RULE_ID, resource, "not behind an instance profile")
            continue
        ecs_host = is_ecs_host_role(snapshot, role)
        if context.scope is InstanceRoleScope.ECS_HOSTS and not ecs_host:
            if not snapshot.ecs_membership_known:
                continue  # an ECS read failed (a scan error says so): it may be a host role
            yield Evaluation.not_applicable(
                RULE_ID, resource, "not an ECS host role (scope ecs-hosts)"
            )
            continue
        verdict = context.roles.verdict(snapshot, role)
        errors = [f"{e.policy.name}: {e.reason}" for e in verdict.evaluation.errors]
        if not verdict.offending:
            if errors:
                continue  # cannot vouch for it; the scan summary lists the policy errors
            yield Evaluation.compliant(
                RULE_ID, resource, "grants only infrastructure baseline actions"
            )
            continue
        yield Evaluation.non_compliant(
            RULE_ID, resource, _violation(snapshot, context, role, verdict, ecs_host, errors)
        )


def _violation(
    snapshot: Snapshot,
    context: RuleContext,
    role: Role,
    verdict: RoleVerdict,
    ecs_host: bool,
    errors: list[str],
) -> Violation:
    offending = verdict.offending
    steps = [_step(snapshot, context, role, verdict, policy) for policy in offending]
    unsplit = [
        policy.policy.name
        for policy, step in zip(offending, steps, strict=True)
        if policy.mixed and step["action"] != SPLIT
    ]
    guards = _guards(snapshot, role, unsplit, ecs_host)
    return Violation(
        severity=Severity.CRITICAL if verdict.critical else Severity.HIGH,
        title=f"{'ECS host' if ecs_host else 'Instance'} role {role.name} grants application "
        f"permissions ({_some_services(services_of(verdict))})",
        evidence=_evidence(snapshot, context, role, verdict, ecs_host, errors),
        remediation=Remediation(
            action=ACTION,
            automatic=guards.allow_automatic and context.remediates(RULE_ID),
            params={"role_name": role.name, "steps": steps},
            blockers=guards.freeze(),
        ),
    )


def _guards(snapshot: Snapshot, role: Role, unsplit: list[str], ecs_host: bool) -> Guards:
    """`unsplit`: the mixed policies whose step removes them (AWS managed: not editable)."""
    guards = role_guards(role)
    if not ecs_host:
        guards.manual.append("not an ECS host role: these may be the application's own permissions")
    if unsplit:
        guards.force.append(
            "mixed policy grants baseline and application actions (removing it would stop the "
            f"ECS agent): {', '.join(unsplit)}; split it as proposed (an AWS managed policy "
            "cannot be edited: attach the baseline-only document as a policy of your own)"
        )
    hosts = host_guards(snapshot, role, ecs_host)
    guards.force += hosts.force
    guards.manual += hosts.manual
    return guards


def host_guards(snapshot: Snapshot, role: Role, ecs_host: bool = True) -> Guards:
    """What the instances using the role say about changing it: application servers among
    them, tasks that use it through IMDS, protection put on a host. Also asked of the
    regions outside ROLEWARDEN_REGIONS before an automatic change (IAM is global)."""
    guards = Guards()
    plain = plain_instances_using(snapshot, role) if ecs_host else []
    if plain:
        guards.manual.append(
            f"also the role of instances that are not ECS hosts ({', '.join(plain)}): "
            "their applications may need these permissions"
        )
    guards.manual += protected_behind({}, snapshot.instances_using_role(role))
    _outage_guard(snapshot, role, guards)
    return guards


def _evidence(
    snapshot: Snapshot,
    context: RuleContext,
    role: Role,
    verdict: RoleVerdict,
    ecs_host: bool,
    errors: list[str],
) -> dict[str, Any]:
    instances = snapshot.instances_using_role(role)
    evidence: dict[str, Any] = {
        "role": {"name": role.name, "arn": role.arn, "ecs_host_role": ecs_host},
        "offending_policies": [policy_evidence(policy) for policy in verdict.offending],
        "instances": sorted(instance.instance_id for instance in instances),
        "boundary": role.boundary_arn,
    }
    root_causes = {
        tuple(sorted(instance.root_cause.items())) for instance in instances if instance.root_cause
    }
    if root_causes:
        evidence["root_cause"] = [dict(cause) for cause in sorted(root_causes)]
    splits = _proposed_splits(context, verdict, verdict.offending)
    if splits:
        evidence["proposed_split"] = splits
    if errors:
        evidence["policy_errors"] = errors
    if verdict.critical:
        evidence["critical"] = verdict.critical
    using = on_its_credentials(snapshot, role) if ecs_host else []
    if using:
        evidence["on_its_credentials"] = using
    return evidence


def plain_instances_using(snapshot: Snapshot, role: Role) -> list[str]:
    """Instances with this role that are not registered ECS container instances.

    Carrying the ECS agent's policy does not make an instance a host: a "generic EC2
    role" on an application server carries it too. Only one still booting (pending) is
    taken for a host whose agent has not registered yet; a running or stopped instance
    that never registered may be an application server, and a person tells them apart.
    """
    hosts = snapshot.ecs_host_instance_ids()
    return sorted(
        instance.instance_id
        for instance in snapshot.instances_using_role(role)
        if instance.instance_id not in hosts and instance.state != "pending"
    )


def _some_services(services: list[str], shown: int = 5) -> str:
    """A title names a few services; the evidence names them all (`*` grants hundreds)."""
    listed = ", ".join(services[:shown])
    return listed if len(services) <= shown else f"{listed} and {len(services) - shown} more"


def _step(
    snapshot: Snapshot,
    context: RuleContext,
    role: Role,
    verdict: RoleVerdict,
    policy: PolicyVerdict,
) -> dict[str, Any]:
    split = _split_step(snapshot, context, role, verdict, policy)
    if split is not None:
        return split
    if policy.policy.kind == "inline":
        return {"action": "delete-inline-policy", "policy_name": policy.policy.name}
    return {"action": "detach-managed-policy", "policy_arn": policy.policy.arn or ""}


def _split_step(
    snapshot: Snapshot,
    context: RuleContext,
    role: Role,
    verdict: RoleVerdict,
    policy: PolicyVerdict,
) -> dict[str, Any] | None:
    """A mixed policy RoleWarden may edit keeps its baseline statements; `source` is the
    reading the split was made from (the action refuses a policy changed since)."""
    ref = policy.policy
    document = verdict.evaluation.documents.get(ref.key)
    if not policy.mixed or document is None or ref.aws_managed:
        return None
    source = _source(snapshot, role, ref)
    if source is None:
        return None
    target = {"policy_name": ref.name} if ref.kind == "inline" else {"policy_arn": ref.arn or ""}
    return {
        "action": SPLIT,
        **target,
        "document": baseline_only_document(document, context.baseline, context.catalogue),
        "source": source,
    }


def _source(snapshot: Snapshot, role: Role, ref: PolicyRef) -> dict[str, str] | None:
    if ref.kind == "inline":
        inline = next((p for p in role.inline_policies if p.name == ref.name), None)
        return {"sha256": document_digest(inline.document)} if inline else None
    managed = snapshot.iam.managed_policies.get(ref.arn or "")
    if managed is None or managed.default_version_id is None:
        return None
    return {"version_id": managed.default_version_id}


def _proposed_splits(
    context: RuleContext, verdict: RoleVerdict, offending: list[PolicyVerdict]
) -> list[dict[str, Any]]:
    splits = []
    for policy in offending:
        document = verdict.evaluation.documents.get(policy.policy.key)
        if policy.mixed and document is not None:
            splits.append(
                {
                    "policy": policy.policy.name,
                    "baseline_only_document": baseline_only_document(
                        document, context.baseline, context.catalogue
                    ),
                    "move_to_task_role": sorted(info.name for info in policy.application.infos())[
                        :50
                    ],
                }
            )
    return splits


def _outage_guard(snapshot: Snapshot, role: Role, guards: Guards) -> None:
    """Tasks that use this role through IMDS today would lose their permissions."""
    hosts = [instance.instance_id for instance in snapshot.instances_using_role(role)]
    clusters = {cluster for host in hosts for cluster in snapshot.clusters_of_instance(host)}
    unreadable = snapshot.unreadable_workloads(clusters)
    if unreadable:
        guards.force.append(
            "outage guard: tasks or services could not be read ("
            + ", ".join(unreadable)
            + "), so who uses this role through IMDS is unknown"
        )
    using = on_its_credentials(snapshot, role)
    if using:
        guards.force.append(
            "outage guard: these run without a task role on this role's hosts and use its "
            "permissions today: " + ", ".join(using) + "; give their task definitions "
            "a task role first"
        )


def on_its_credentials(snapshot: Snapshot, role: Role) -> list[str]:
    """The tasks and services without a task role on the role's hosts that reach IMDS:
    they use its permissions (the migration moves them to roles of their own)."""
    hosts = [instance.instance_id for instance in snapshot.instances_using_role(role)]
    tasks = sorted(
        f"task {short_name(task.arn)} ({short_name(task.task_definition_arn)})"
        for host in hosts
        for task in snapshot.tasks_on_instance(host)
        if not snapshot.effective_task_role(task) and _reaches_host_credentials(snapshot, task)
    )
    clusters = {cluster for host in hosts for cluster in snapshot.clusters_of_instance(host)}
    services = sorted(
        f"service {service.name} ({short_name(service.task_definition_arn or '?')})"
        for service in snapshot.services.values()
        if service.cluster_arn in clusters
        and service.launch_type != "FARGATE"
        and not _definition_has_role(snapshot, service.task_definition_arn)
    )
    return [*tasks, *services]


def _reaches_host_credentials(snapshot: Snapshot, task: Task) -> bool:
    """A task that cannot reach IMDS does not use the host role; when unsure, it does."""
    definition = snapshot.revision(task.task_definition_arn)
    if definition is None:
        return True
    return imds_reachability(
        definition.network_mode, snapshot.host_of(task), on_ec2=task.on_ec2
    ).reachable


def _definition_has_role(snapshot: Snapshot, arn: str | None) -> bool:
    definition = snapshot.revision(arn)
    return definition is not None and definition.task_role_arn is not None


RULE = Rule(RULE_ID, IAM_ROLE, Severity.HIGH, evaluate, global_resource=True)
