"""create_once: a call that is not idempotent is made once; after a lost reply what it
created is looked for and adopted, and only when nothing is found is it made again, once.

Scenarios:
  1. The reply is lost after AWS created it -> found and adopted, not created again.
  2. The reply is lost before AWS took the call -> nothing found, created on the retry.
  3. Lost twice, nothing found -> fails, saying what it looked for.
  4. Refused (a 4xx, a request botocore never sent) -> fails at once: nothing to look for.
  5. Throttled -> called again without looking: nothing was created.
  6. Nothing to recognise it by -> a lost reply is never retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from rolewarden.remediation.change import ActionError
from rolewarden.remediation.lost_reply import create_once

URL = "https://iam.amazonaws.com/"
LOOKED_FOR = "a version besides v1 with sha256 abc"


def client_error(status: int, code: str) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "CreatePolicyVersion")


class Account:
    """What AWS holds, and a call whose outcomes are scripted: created (or not) then lost."""

    def __init__(self, *outcomes: tuple[bool, Exception | None]) -> None:
        self.outcomes: Iterator[tuple[bool, Exception | None]] = iter(outcomes)
        self.versions: list[str] = []
        self.calls = 0
        self.looks = 0

    def create(self) -> str:
        self.calls += 1
        created, error = next(self.outcomes)
        if created:
            self.versions.append(f"v{len(self.versions) + 2}")
        if error is not None:
            raise error
        return self.versions[-1]

    def find(self) -> str | None:
        self.looks += 1
        return self.versions[-1] if self.versions else None


def run(account: Account, find: Callable[[], str | None] | None = None) -> tuple[str, list[float]]:
    waits: list[float] = []
    created = create_once(
        "iam:CreatePolicyVersion",
        account.create,
        find or account.find,
        looked_for=LOOKED_FOR,
        sleep=waits.append,
    )
    return created, waits


def test_a_reply_that_comes_is_the_answer() -> None:
    account = Account((True, None))
    assert run(account) == ("v2", [])
    assert (account.calls, account.looks) == (1, 0)


@pytest.mark.parametrize(
    "lost",
    [
        ReadTimeoutError(endpoint_url=URL),
        ConnectionClosedError(endpoint_url=URL),
        client_error(500, "ServiceFailure"),
        client_error(503, "ServiceUnavailable"),
    ],
    ids=["read-timeout", "connection-closed", "500", "503"],
)
def test_scenario_1_a_reply_lost_after_aws_created_it_is_adopted(lost: Exception) -> None:
    # Given a call AWS carries out, whose reply is lost
    account = Account((True, lost))
    # When it is made once / Then what it created is found after a wait, not created again
    created, waits = run(account)
    assert created == "v2"
    assert account.versions == ["v2"]
    assert (account.calls, account.looks) == (1, 1)
    assert len(waits) == 1 and waits[0] > 0


def test_scenario_2_a_call_lost_before_aws_took_it_is_made_again_once() -> None:
    # Given a call that never reaches AWS, then one that does
    account = Account((False, EndpointConnectionError(endpoint_url=URL)), (True, None))
    # When it is made / Then nothing is found, so it is made again: one version
    created, _waits = run(account)
    assert created == "v2"
    assert account.versions == ["v2"]
    assert (account.calls, account.looks) == (2, 1)


def test_scenario_3_lost_twice_and_nothing_found_fails_saying_what_it_looked_for() -> None:
    lost = ReadTimeoutError(endpoint_url=URL)
    account = Account((False, lost), (False, lost), (True, None))
    with pytest.raises(ActionError) as raised:
        run(account)
    assert str(raised.value) == (
        f'iam:CreatePolicyVersion: Read timeout on endpoint URL: "{URL}"; {LOOKED_FOR}: found none'
    )
    assert (account.calls, account.looks) == (2, 2)  # the call and one retry, never a third
    assert account.versions == []


@pytest.mark.parametrize(
    "refusal",
    [client_error(409, "LimitExceeded"), ParamValidationError(report="PolicyArn is missing")],
    ids=["4xx", "never-sent"],
)
def test_scenario_4_a_refusal_fails_at_once(refusal: Exception) -> None:
    account = Account((False, refusal), (True, None))
    with pytest.raises(ActionError, match=r"^iam:CreatePolicyVersion: ") as raised:
        run(account)
    assert (account.calls, account.looks) == (1, 0)
    if isinstance(refusal, ClientError):
        assert raised.value.code == "LimitExceeded"


def test_scenario_5_a_throttled_call_is_made_again_without_looking() -> None:
    account = Account((False, client_error(400, "Throttling")), (True, None))
    created, waits = run(account)
    assert created == "v2"
    assert (account.calls, account.looks) == (2, 0)
    assert len(waits) == 1


def test_scenario_6_without_a_way_to_find_it_a_lost_reply_is_not_retried() -> None:
    account = Account((True, ReadTimeoutError(endpoint_url=URL)), (True, None))
    waits: list[float] = []
    with pytest.raises(ActionError, match="nothing tells what it created: not retried"):
        create_once(
            "iam:CreatePolicyVersion",
            account.create,
            None,
            looked_for=LOOKED_FOR,
            sleep=waits.append,
        )
    assert account.calls == 1
    assert account.versions == ["v2"]  # made once: better than twice, and the error says so
