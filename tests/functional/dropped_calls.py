"""A call to AWS that fails on the wire once, for the tests of lost calls and lost replies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import BotoCoreError


def request_body(request: AWSPreparedRequest) -> str:
    return request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")


@contextmanager
def first_request_dropped(
    session: boto3.Session,
    matches: Callable[[AWSPreparedRequest], bool],
    error: type[BotoCoreError],
    *,
    before_moto: bool = False,
    then: Callable[[], Any] = lambda: None,
) -> Iterator[list[str]]:
    """The first request that `matches` fails with `error`: before moto sees it
    (`before_moto`: the call never reached AWS), else once moto has answered (the reply is
    lost; `then` runs there too, as AWS would go on). Yields the URLs dropped.

    A `before-send` handler registered after moto's stubber runs once moto has answered;
    one registered first runs before it."""
    dropped: list[str] = []

    def drop(request: AWSPreparedRequest, **_: Any) -> None:
        if not dropped and matches(request):
            dropped.append(request.url)
            then()
            raise error(endpoint_url=request.url)

    register = session.events.register_first if before_moto else session.events.register
    register("before-send", drop)
    try:
        yield dropped
    finally:
        session.events.unregister("before-send", drop)
