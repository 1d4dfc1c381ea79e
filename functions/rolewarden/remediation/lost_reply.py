"""Create something once, though the reply to the call that creates it may be lost.

RegisterTaskDefinition and CreatePolicyVersion take no client token: retried after a
reply that never came, they create a second revision or version, and the journal names
neither. So the caller journals what it takes to recognise what the call creates (a tag,
the versions there were and the document's digest) before the call, and makes the call
with a client without botocore's retries (`AwsClients.single_attempt`). After a failure
that may hide a success (`reply_lost`), `create_once` waits, looks for what the call
would have created and adopts it; only when nothing is found does it call again, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from rolewarden.aws.errors import reply_lost, throttled
from rolewarden.remediation.change import ActionError

T = TypeVar("T")

ATTEMPTS = 2  # the call, and one more once nothing was found
FIRST_WAIT = 2.0  # seconds, doubled after each attempt: what was created shows late (IAM)


def create_once(
    operation: str,
    create: Callable[[], T],
    find: Callable[[], T | None] | None,
    *,
    looked_for: str,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """What `create` returns, or after a lost reply what `find` found it created.

    `find` None: there is nothing to recognise it by, so a lost reply is never retried.
    `looked_for` says what `find` searched, in the error when it found nothing."""
    pause = sleep or wait
    looked = False
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return create()
        except (ClientError, BotoCoreError) as error:
            failure = error
            if not throttled(error) and not reply_lost(error):  # refused: nothing created
                raise ActionError.from_boto(operation, error) from error
        if reply_lost(failure):
            if find is None:
                break
            pause(FIRST_WAIT * 2 ** (attempt - 1))
            found, looked = find(), True
            if found is not None:
                return found
        elif attempt < ATTEMPTS:  # throttled: turned away, nothing to look for
            pause(FIRST_WAIT * 2 ** (attempt - 1))
    reported = ActionError.from_boto(operation, failure)
    if looked:
        raise ActionError(
            f"{reported}; {looked_for}: found none", operation=operation, code=reported.code
        ) from failure
    if find is None and reply_lost(failure):
        why = "nothing tells what it created: not retried"
        raise ActionError(
            f"{reported}; {why}", operation=operation, code=reported.code
        ) from failure
    raise reported from failure


def wait(seconds: float) -> None:
    """The pause before looking or calling again (tests replace it)."""
    time.sleep(seconds)
