"""Can a task reach its host's instance metadata service (and so the host role)?

A task role does not block IMDS. Host network mode: always. Bridge (default):
unless the host requires IMDSv2 with hop limit 1 (the extra hop out of the
container drops the token response). awsvpc on EC2: unless the ECS agent is
configured with ECS_AWSVPC_BLOCK_IMDS=true. When unsure (host or its settings not
read), assume reachable and say so.
"""

from __future__ import annotations

from dataclasses import dataclass

from rolewarden.inventory.snapshot import Instance


@dataclass(frozen=True)
class Reachability:
    reachable: bool
    reason: str


def imds_reachability(
    network_mode: str | None, host: Instance | None, *, on_ec2: bool
) -> Reachability:
    """`on_ec2`: the task runs on a container instance (not Fargate), read or not."""
    if host is None:
        if on_ec2:
            return Reachability(True, "the task's EC2 host could not be read; assuming reachable")
        return Reachability(False, "Fargate: there is no host whose credentials it could use")
    if host.metadata.endpoint == "disabled":
        return Reachability(False, "the host's metadata endpoint is disabled")
    mode = network_mode or "bridge"
    if mode == "host":
        return Reachability(True, "host network mode shares the host's network")
    if mode == "none":
        return Reachability(False, "network mode none has no network")
    if mode == "awsvpc":
        settings = host.ecs_agent_settings
        if settings is None:
            return Reachability(
                True, "awsvpc: the host's ECS agent settings could not be read; assuming reachable"
            )
        if settings.get("ECS_AWSVPC_BLOCK_IMDS") == "true":
            return Reachability(False, "awsvpc with ECS_AWSVPC_BLOCK_IMDS=true on the host")
        return Reachability(True, "awsvpc without ECS_AWSVPC_BLOCK_IMDS=true on the host")
    if host.metadata.http_tokens == "required" and host.metadata.hop_limit <= 1:
        return Reachability(False, f"{mode}: host requires IMDSv2 with hop limit 1")
    return Reachability(
        True,
        f"{mode}: host allows "
        + ("IMDSv1" if host.metadata.http_tokens != "required" else "IMDSv2")
        + f" with hop limit {host.metadata.hop_limit}",
    )
