"""Tell AWS Config: PutEvaluations in batches of at most 100; fetch oversized items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import InventoryError, call
from rolewarden.evaluation.config_events import ConfigurationItem
from rolewarden.evaluation.config_rule import ConfigVerdict
from rolewarden.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_config.literals import ResourceTypeType
    from mypy_boto3_config.type_defs import ResourceKeyTypeDef

PUT_EVALUATIONS_BATCH = 100


def put_evaluations(
    clients: AwsClients, verdicts: Sequence[ConfigVerdict], result_token: str, test_mode: bool
) -> int:
    """Report every verdict; returns the number of PutEvaluations calls made.

    `test_mode` is for the emulator only: Config then validates and stores nothing.
    """
    config = clients.client("config")
    calls = 0
    for start in range(0, len(verdicts), PUT_EVALUATIONS_BATCH):
        batch = verdicts[start : start + PUT_EVALUATIONS_BATCH]
        response = call(
            InventoryError,
            "config:PutEvaluations",
            config.put_evaluations,
            Evaluations=[verdict.as_put_evaluation() for verdict in batch],
            ResultToken=result_token,
            TestMode=test_mode,
        )
        calls += 1
        if response.get("FailedEvaluations"):
            logger.error("Config refused evaluations", failed=response["FailedEvaluations"])
    return calls


def fetch_item(clients: AwsClients, summary: ConfigurationItem) -> ConfigurationItem:
    """The latest configuration item behind an oversized notification.

    The summary already names the resource; the item confirms its status. If Config
    cannot return it (not recorded, or not readable), the summary serves.
    """
    config = clients.client("config")
    # The resource type as the event names it: one of the stubs' Config resource types.
    resource_type = cast("ResourceTypeType", summary.resource_type)
    key: ResourceKeyTypeDef = {"resourceType": resource_type, "resourceId": summary.resource_id}
    try:
        answer = call(
            InventoryError,
            "config:BatchGetResourceConfig",
            config.batch_get_resource_config,
            resourceKeys=[key],
        )
    except InventoryError as error:
        logger.warning("oversized item not fetched; using its summary", error=str(error))
        return summary
    items = answer.get("baseConfigurationItems")
    if not items:
        return summary
    latest = items[0]
    return ConfigurationItem.model_validate(
        {
            "resourceType": latest.get("resourceType", summary.resource_type),
            "resourceId": latest.get("resourceId", summary.resource_id),
            "resourceName": latest.get("resourceName", summary.resource_name),
            "ARN": latest.get("arn", summary.arn),
            "awsRegion": latest.get("awsRegion", summary.aws_region),
            "configurationItemStatus": latest.get("configurationItemStatus", summary.status),
            "configurationItemCaptureTime": latest.get(
                "configurationItemCaptureTime", summary.capture_time
            ),
        }
    )
