"""Remediate or restore on request: find the finding, judge the resource again, then act.

Shared by the remediate function and the CLI. A finding named by id is looked up by
evaluating the account (the id is a hash of rule and resource); one named by rule and
resource ARN is evaluated alone. A finding that no longer holds is reported, not acted on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rolewarden.aws.clients import AwsClients
from rolewarden.evaluation.account import evaluate_account
from rolewarden.evaluation.resource import evaluate_resource, targets_of_arn
from rolewarden.evaluation.scope import Scope
from rolewarden.remediation.journal import Journal
from rolewarden.remediation.outcome import Outcome, OutcomeStatus, Subject
from rolewarden.remediation.payload import RemediatePayload
from rolewarden.remediation.remediator import Remediator
from rolewarden.remediation.request import Request
from rolewarden.remediation.signing import JournalSigner
from rolewarden.rules.model import Finding
from rolewarden.settings import Settings

SELF_DECLARED = " (self-declared: a direct invoke's requested_by, not verified by AWS)"


def journal_of(clients: AwsClients, table: str | None, key: str | None = None) -> Journal | None:
    """The journal, signed with `key` (without one, nothing is changed or restored)."""
    if not table:
        return None
    signer = JournalSigner(clients.client("kms"), key) if key else None
    return Journal(clients.client("dynamodb"), table, signer)


class RemediationService:
    def __init__(
        self,
        clients: AwsClients,
        settings: Settings,
        regions: Sequence[str],
        journal: Journal | None,
        *,
        cli: bool,
    ) -> None:
        self.clients = clients
        self.settings = settings
        self.regions = list(regions)
        self.account, self.partition = clients.account_and_partition()
        self.remediator = Remediator(
            clients, settings, journal, self.account, cli=cli, regions=self.regions
        )

    def by_resource(self, rule: str, resource_arn: str, request: Request) -> Outcome:
        _targets, region = targets_of_arn(resource_arn)
        region = region or self.regions[0]
        scope = Scope(self.account, self.partition, region, tuple(self.regions))
        context = self.settings.rule_context()  # fresh: it caches role verdicts
        verdict = evaluate_resource(self.clients, scope, context, rule, resource_arn)
        if verdict.finding is None:
            subject = Subject(rule=rule, resource_arn=resource_arn)
            return Outcome(OutcomeStatus.NO_LONGER_HOLDS, subject, [verdict.reason])
        return self.remediator.remediate(verdict.finding, request)

    def by_finding_id(self, finding_id: str, request: Request) -> Outcome:
        finding = self._find(finding_id)
        if finding is None:
            return Outcome(
                OutcomeStatus.NO_LONGER_HOLDS,
                Subject(finding_id=finding_id),
                [
                    f"no open finding {finding_id} in {', '.join(self.regions)} "
                    "(fixed, exempt, deleted, or its rule is off)"
                ],
            )
        return self.remediator.remediate(finding, request)

    def restore(self, journal_id: str, request: Request) -> Outcome:
        return self.remediator.restore(journal_id, request)

    def _find(self, finding_id: str) -> Finding | None:
        run = evaluate_account(
            self.clients,
            self.account,
            self.partition,
            self.regions,
            self.settings.rule_context(),
            self.settings.enabled_rules(),
        )
        for rule_run in run.runs:
            for finding in rule_run.findings:
                if finding.finding_id == finding_id:
                    return finding
        return None


def act_on(
    service: RemediationService, payload: RemediatePayload, caller_arn: str | None = None
) -> Outcome:
    """What the remediate function's payload asks for. `caller_arn`: the caller as AWS
    reports it (a Function URL with IAM auth); without it `requested_by` is self-declared."""
    request = Request(
        actor=caller_arn or payload.requested_by,
        actor_self_declared=caller_arn is None,
        caused_by=payload.caused_by if payload.automatic else None,
        apply=not payload.dry_run,
        force=payload.force,
        automatic=payload.automatic,
        action=payload.action,
        task_role_arn=payload.task_role_arn,
        update_service=payload.update_service,
    )
    outcome = _requested(service, payload, request)
    # The alert says who asked, and whether only the request says so.
    outcome.subject = replace(
        outcome.subject,
        requested_by=request.actor + (SELF_DECLARED if request.actor_self_declared else ""),
        caused_by=request.caused_by or None,
    )
    return outcome


def _requested(service: RemediationService, payload: RemediatePayload, request: Request) -> Outcome:
    if payload.restore is not None:
        return service.restore(payload.restore, request)
    if payload.finding_id is not None:
        return service.by_finding_id(payload.finding_id, request)
    assert payload.rule is not None and payload.resource_arn is not None
    return service.by_resource(payload.rule, payload.resource_arn, request)
