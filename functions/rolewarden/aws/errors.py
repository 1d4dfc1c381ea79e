"""AWS errors, mapped in one place: every adapter's error is an AwsError.

An adapter makes its calls with `call` (or reads every page with `pages`), naming the
error it raises: `call(ActionError, "iam:GetRole", iam.get_role, RoleName=name)`. A
botocore failure then becomes that error, its message "<operation>: <code>: <message>"
and its `code` AWS's error code, which is what a caller looks at to judge a failure it
expects (NoSuchEntity, ConditionalCheckFailedException). Throttling is retried before
this by botocore (clients.RETRY_CONFIG).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import ParamSpec, Self, TypeAlias, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

BotoError: TypeAlias = ClientError | BotoCoreError
THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})


class AwsError(Exception):
    """An AWS call failed. `operation` names it as the message does ("iam:GetRole", or with
    what it was called on: "journal table <name>: PutItem"); `code` is AWS's error code
    ("" when AWS sent none, or the failure was not AWS's answer)."""

    def __init__(self, message: str, *, operation: str = "", code: str = "") -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code

    @classmethod
    def from_boto(cls, operation: str, error: BotoError) -> Self:
        return cls(f"{operation}: {reason(error)}", operation=operation, code=error_code(error))


class InventoryError(AwsError):
    """An AWS read failed; the message names the operation and the error code."""


def call(
    error: type[AwsError], operation: str, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
) -> R:
    """`fn(*args, **kwargs)`; a botocore failure becomes `error`, naming `operation`."""
    try:
        return fn(*args, **kwargs)
    except (ClientError, BotoCoreError) as failure:
        raise error.from_boto(operation, failure) from failure


def pages(
    error: type[AwsError],
    operation: str,
    paginate: Callable[P, Iterable[T]],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> Iterator[T]:
    """Every page of a paginator's `paginate`, as they come; a failure on any page
    becomes `error`, naming `operation`."""
    try:
        yield from paginate(*args, **kwargs)
    except (ClientError, BotoCoreError) as failure:
        raise error.from_boto(operation, failure) from failure


def reason(error: BotoError) -> str:
    """What AWS answered: "<code>: <message>"; for a 5xx without an AWS error (a proxy's
    page, say) its status; without an answer, what botocore says."""
    if not isinstance(error, ClientError):
        return str(error)
    details = error.response.get("Error", {})
    if not details.get("Code") and not details.get("Message"):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return f"HTTP {status} without an AWS error in the answer"
    return f"{error_code(error)}: {details.get('Message', '')}".strip()


def error_code(error: BaseException) -> str:
    """AWS's error code ("" for a failure that is not AWS's answer)."""
    if not isinstance(error, ClientError):
        return ""
    return str(error.response.get("Error", {}).get("Code", ""))


def throttled(error: BaseException) -> bool:
    """AWS turned the call away for its rate: nothing was done."""
    return error_code(error) in THROTTLED


def reply_lost(error: BaseException) -> bool:
    """The call may have been made all the same: no reply came (the connection failed or
    timed out, before or after AWS took it), or a 5xx (AWS or a proxy failed partway)."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        return int(status) >= 500
    return isinstance(error, HTTPClientError | AwsConnectionError)
