"""Is anything on an instance still using IMDSv1? CloudWatch's MetadataNoToken metric says.

EC2 publishes MetadataNoToken (namespace AWS/EC2, dimension InstanceId): the IMDS calls
answered without a token. Any in the lookback window means requiring IMDSv2 would break
whatever made them. One GetMetricData call per instance, hourly sums (CloudWatch keeps
hourly data 455 days, the longest window the setting allows). A metric that cannot be
read, or has no data at all, leaves the answer unknown: only a person may go ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import call
from rolewarden.remediation.change import ActionError

NAMESPACE = "AWS/EC2"
METRIC = "MetadataNoToken"
PERIOD_SECONDS = 3600
# Where the answer would break a workload or is unknown: the reason starts with these.
IN_USE = "IMDSv1 in use"
UNKNOWN = "IMDSv1 use unknown"


@dataclass(frozen=True)
class ImdsV1Use:
    instance_id: str
    days: int
    calls: int | None = None  # None: unknown
    last: datetime | None = None  # the start of the last hour with a call
    unknown_because: str = ""

    def reasons(self) -> list[str]:
        """Why requiring IMDSv2 must wait for a person (empty: nothing uses IMDSv1)."""
        if self.calls is None:
            return [
                f"{UNKNOWN}: {self.unknown_because}; requiring IMDSv2 would break anything on "
                f"{self.instance_id} that still uses IMDSv1"
            ]
        if self.calls == 0:
            return []
        last = self.last.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if self.last else "?"
        return [
            f"{IN_USE}: {self.instance_id} answered {self.calls} IMDSv1 calls (CloudWatch "
            f"{METRIC}) in the last {self.days} days, the last in the hour from {last}; "
            "requiring IMDSv2 would break what makes them: move it to IMDSv2 (a current AWS "
            "SDK or CLI) first"
        ]

    @property
    def summary(self) -> str:
        """One line for the plan, when nothing stands in the way."""
        return f"no IMDSv1 call ({METRIC}) in the last {self.days} days"


def imdsv1_use(
    clients: AwsClients, region: str, instance_id: str, days: int, now: datetime
) -> ImdsV1Use:
    try:
        values = _hourly_sums(clients, region, instance_id, days, now)
    except ActionError as error:
        return ImdsV1Use(instance_id, days, unknown_because=f"{METRIC} could not be read ({error})")
    if values is None:
        return ImdsV1Use(
            instance_id,
            days,
            unknown_because=f"CloudWatch has no {METRIC} data for {instance_id} in the last "
            f"{days} days (a new or stopped instance, or metrics not published)",
        )
    used = [(when, value) for when, value in values if value > 0]
    return ImdsV1Use(
        instance_id,
        days,
        calls=round(sum(value for _when, value in used)),
        last=max((when for when, _value in used), default=None),
    )


def _hourly_sums(
    clients: AwsClients, region: str, instance_id: str, days: int, now: datetime
) -> list[tuple[datetime, float]] | None:
    """(hour, IMDSv1 calls) over the window; None when CloudWatch has no data point."""
    cloudwatch = clients.client("cloudwatch", region)
    query: dict[str, Any] = {
        "MetricDataQueries": [
            {
                "Id": "no_token",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": METRIC,
                        "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                    },
                    "Period": PERIOD_SECONDS,
                    "Stat": "Sum",
                },
            }
        ],
        # Whole hours, as CloudWatch advises: each point is one clock hour, whenever asked.
        "StartTime": _hour_of(now - timedelta(days=days)),
        "EndTime": _hour_of(now) + timedelta(hours=1),
    }
    points: list[tuple[datetime, float]] = []
    while True:  # hourly points over 455 days fit one page: one call
        response = call(
            ActionError, "cloudwatch:GetMetricData", cloudwatch.get_metric_data, **query
        )
        for result in response.get("MetricDataResults", []):
            if result.get("StatusCode") in ("Forbidden", "InternalError"):
                raise ActionError(f"cloudwatch:GetMetricData: {result['StatusCode']}")
            points += zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
        if not response.get("NextToken"):
            return points or None
        query["NextToken"] = response["NextToken"]


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
