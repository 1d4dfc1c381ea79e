"""A delivery handled once: Powertools idempotency on a DynamoDB table.

EventBridge and Lambda deliver at least once, and a repeat must change nothing twice.
Only the functions that act on a delivery need it: the event and remediate functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from rolewarden.triggers.wiring import Wiring

# How long a delivery is remembered: EventBridge and Lambda retry within hours, not days.
IDEMPOTENCY_HOURS = 24


def once(
    wiring: Wiring, key: str, work: Callable[[], dict[str, Any]], context: LambdaContext
) -> dict[str, Any]:
    """Run `work` once per key (Powertools idempotency, DynamoDB); a repeat gets the first
    result. Without ROLEWARDEN_IDEMPOTENCY_TABLE (the CLI, the demo) it just runs."""
    table = wiring.settings.idempotency_table
    if not table:
        return work()

    config = IdempotencyConfig(expires_after_seconds=IDEMPOTENCY_HOURS * 3600)
    config.register_lambda_context(context)  # an invocation that times out may be retried

    # A store per invocation: its client belongs to this invocation's session.
    store = DynamoDBPersistenceLayer(table_name=table, boto3_session=wiring.session)

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="key", persistence_store=store, config=config
    )
    def run(key: dict[str, str]) -> dict[str, Any]:
        return work()

    return dict(run(key={"key": key}))
