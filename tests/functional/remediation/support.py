"""What the remediation tests share: fault injection on RoleWarden's own clients, and
small accounts with a journal of their own.

Faults are a `before-send` handler that answers instead of AWS. moto's own stubber is a
`before-send` handler too and botocore calls every one, so the faulty request is pointed
at a host moto does not serve: moto never sees it.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from functional.accounts import ACCOUNT, ORDERS_TABLE_POLICY, REGION, make_role
from functional.journals import create_table, signed_journal
from rolewarden.aws.clients import AwsClients
from rolewarden.demo.builders import ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN
from rolewarden.remediation.journal import JournalEntry
from rolewarden.remediation.outcome import Outcome
from rolewarden.remediation.request import Request
from rolewarden.remediation.service import RemediationService
from rolewarden.rules import ids
from rolewarden.settings import Settings

RULE_APP = ids.INSTANCE_ROLE_APP_PERMISSIONS
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{{}}"
APPLY = Request(actor="alice", apply=True)
NOT_SERVED_BY_MOTO = "https://fault-injected.invalid/"
tables = itertools.count(1)  # a journal table name per test


# --- faults --------------------------------------------------------------------------


class Body(io.BytesIO):
    """An HTTP body as botocore reads it (`stream()`), like moto's MockRawResponse."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


def error_response(request: AWSPreparedRequest, status: int, code: str, message: str) -> Any:
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
    )
    url = request.url
    request.url = NOT_SERVED_BY_MOTO  # moto's stubber passes it by (see the module docstring)
    return AWSResponse(url, status, {"Content-Type": "text/xml"}, Body(body.encode()))


class Fault:
    """Answers the first `times` attempts of one operation with an error (all if None)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        times: int | None = None,
        respond: Callable[..., Any] | None = None,
    ) -> None:
        self.status, self.code, self.message, self.times = status, code, message, times
        self.respond = respond or error_response
        self.attempts = 0

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> Any:
        self.attempts += 1
        if self.times is not None and self.attempts > self.times:
            return None  # on to moto
        return self.respond(request, self.status, self.code, self.message)


def inject(clients: AwsClients, operation: str, fault: Fault) -> Fault:
    """`operation` like "iam.DetachRolePolicy", on the client RoleWarden uses."""
    service = operation.split(".", maxsplit=1)[0]
    clients.client(service).meta.events.register_first(f"before-send.{operation}", fault)
    return fault


def json_error(request: AWSPreparedRequest, status: int, code: str, message: str) -> Any:
    """An error of a JSON-protocol service (ECS), as error_response is for XML ones."""
    body = json.dumps({"__type": code, "message": message}).encode()
    url = request.url
    request.url = NOT_SERVED_BY_MOTO
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    return AWSResponse(url, status, headers, Body(body))


# --- the account ---------------------------------------------------------------------


def start_rolewarden(session: Any, table: str, *, create: bool = False) -> SimpleNamespace:
    clients = AwsClients(session, home_region=REGION)
    if create:
        create_table(clients.client("dynamodb"), table)
    journal = signed_journal(clients.client("dynamodb"), table)
    service = RemediationService(
        clients, Settings(journal_table=table), [REGION], journal, cli=True
    )
    return SimpleNamespace(clients=clients, journal=journal, service=service, table=table)


def host_role(session: Any, name: str, *, app_policy: str) -> str:
    """A host role with the ECS agent policy and one application policy, managed or inline."""
    if app_policy == "managed":
        make_role(session, name, managed=(ECS_AGENT_POLICY_ARN, S3_READ_ONLY_POLICY_ARN))
    else:
        make_role(session, name, inline={"orders-table": ORDERS_TABLE_POLICY})
    return ROLE_ARN.format(name)


def remediate(rolewarden: SimpleNamespace, role_arn: str) -> Outcome:
    outcome: Outcome = rolewarden.service.by_resource(RULE_APP, role_arn, APPLY)
    return outcome


def only_entry(rolewarden: SimpleNamespace) -> JournalEntry:
    entries = rolewarden.journal.entries()
    assert len(entries) == 1, [entry.as_json() for entry in entries]
    return entries[0]


def attached(session: Any, role: str) -> set[str]:
    policies = session.client("iam").list_attached_role_policies(RoleName=role)
    return {policy["PolicyArn"] for policy in policies["AttachedPolicies"]}


def inline_document(session: Any, role: str) -> Any:
    iam = session.client("iam")
    if "orders-table" not in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        return None
    return iam.get_role_policy(RoleName=role, PolicyName="orders-table")["PolicyDocument"]
