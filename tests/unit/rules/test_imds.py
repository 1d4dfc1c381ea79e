"""imds_reachability: can a task reach its host's instance metadata service?"""

from __future__ import annotations

import pytest
from snapshots import add_instance, empty_snapshot

from rolewarden.inventory.snapshot import Instance
from rolewarden.rules.imds import Reachability, imds_reachability


def host(**options: object) -> Instance:
    return add_instance(empty_snapshot(), "i-0host", **options)  # type: ignore[arg-type]


def test_fargate_task_has_no_host_to_reach() -> None:
    # Given a Fargate task (no EC2 host) / When / Then there are no host credentials to reach
    assert imds_reachability("awsvpc", None, on_ec2=False) == Reachability(
        False, "Fargate: there is no host whose credentials it could use"
    )


def test_unread_host_is_assumed_reachable() -> None:
    # Given a task on a container instance whose EC2 instance could not be read
    # When / Then it is assumed to reach the host's credentials, and says so
    assert imds_reachability("bridge", None, on_ec2=True) == Reachability(
        True, "the task's EC2 host could not be read; assuming reachable"
    )


@pytest.mark.parametrize("mode", ["host", "bridge", "awsvpc", None])
def test_disabled_endpoint_is_never_reachable(mode: str | None) -> None:
    # Given a host with the metadata endpoint disabled, even allowing IMDSv1 in config
    instance = host(endpoint="disabled", http_tokens="optional", hop_limit=2)

    # When / Then no network mode reaches it
    assert imds_reachability(mode, instance, on_ec2=True) == Reachability(
        False, "the host's metadata endpoint is disabled"
    )


def test_host_network_mode_is_always_reachable() -> None:
    # Given the strictest metadata options / When host network mode / Then reachable
    instance = host(http_tokens="required", hop_limit=1)
    assert imds_reachability("host", instance, on_ec2=True) == Reachability(
        True, "host network mode shares the host's network"
    )


def test_network_mode_none_is_not_reachable() -> None:
    instance = host(http_tokens="optional", hop_limit=2)
    assert imds_reachability("none", instance, on_ec2=True) == Reachability(
        False, "network mode none has no network"
    )


def test_awsvpc_with_unreadable_agent_settings_assumes_reachable() -> None:
    # Given the host's ECS agent settings could not be read
    instance = host(ecs_agent_settings=None)

    # When / Then reachable is assumed, and the reason says so
    assert imds_reachability("awsvpc", instance, on_ec2=True) == Reachability(
        True, "awsvpc: the host's ECS agent settings could not be read; assuming reachable"
    )


def test_awsvpc_with_block_imds_is_not_reachable() -> None:
    instance = host(ecs_agent_settings={"ECS_AWSVPC_BLOCK_IMDS": "true"})
    assert imds_reachability("awsvpc", instance, on_ec2=True) == Reachability(
        False, "awsvpc with ECS_AWSVPC_BLOCK_IMDS=true on the host"
    )


@pytest.mark.parametrize("settings", [{}, {"ECS_AWSVPC_BLOCK_IMDS": "false"}])
def test_awsvpc_without_block_imds_is_reachable(settings: dict[str, str]) -> None:
    # Given agent settings that were read but do not block IMDS, even on a strict host
    instance = host(http_tokens="required", hop_limit=1, ecs_agent_settings=settings)
    assert imds_reachability("awsvpc", instance, on_ec2=True) == Reachability(
        True, "awsvpc without ECS_AWSVPC_BLOCK_IMDS=true on the host"
    )


@pytest.mark.parametrize("mode", ["bridge", None], ids=["bridge", "default"])
def test_bridge_with_imdsv2_and_hop_limit_1_is_not_reachable(mode: str | None) -> None:
    instance = host(http_tokens="required", hop_limit=1)
    assert imds_reachability(mode, instance, on_ec2=True) == Reachability(
        False, "bridge: host requires IMDSv2 with hop limit 1"
    )


@pytest.mark.parametrize(
    ("http_tokens", "hop_limit", "reason"),
    [
        ("optional", 1, "bridge: host allows IMDSv1 with hop limit 1"),
        ("required", 2, "bridge: host allows IMDSv2 with hop limit 2"),
        ("optional", 2, "bridge: host allows IMDSv1 with hop limit 2"),
    ],
)
def test_bridge_with_imdsv1_or_hop_limit_above_1_is_reachable(
    http_tokens: str, hop_limit: int, reason: str
) -> None:
    instance = host(http_tokens=http_tokens, hop_limit=hop_limit)
    assert imds_reachability("bridge", instance, on_ec2=True) == Reachability(True, reason)
