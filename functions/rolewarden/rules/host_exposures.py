"""What can reach an ECS host's IMDS, by network mode, and the setting that would close it.

What runs on a host, or may: its running tasks, and the services of its clusters that ECS
may place there (`Snapshot.workloads_of_instance`). Whether a network mode reaches IMDS
is `imds_reachability`, the verdict ecs-task-without-task-role gives each task, so the
host rule and the task rule cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rolewarden.inventory.snapshot import Instance, Service, Snapshot, Task
from rolewarden.rules.imds import Reachability, imds_reachability
from rolewarden.rules.resources import short_name

BRIDGE, AWSVPC, HOST = "bridge", "awsvpc", "host"
NO_NETWORK = "none"

CLOSED_BY = {
    BRIDGE: "HttpTokens=required with hop limit 1 on the host (enforce-imdsv2)",
    AWSVPC: (
        "ECS_AWSVPC_BLOCK_IMDS=true in the ECS agent's /etc/ecs/ecs.config (the launch "
        "template's user data), then restart the agent; IMDSv2 and the hop limit do not "
        "stop awsvpc tasks"
    ),
    HOST: (
        "no setting of the host: host-network tasks share its network, where the ECS agent "
        "needs IMDS (ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST only gives them their task "
        "role); move these task definitions to awsvpc mode (with ECS_AWSVPC_BLOCK_IMDS=true) "
        "or bridge mode (with IMDSv2 and hop limit 1)"
    ),
}


@dataclass(frozen=True)
class Exposure:
    """One network mode whose containers reach the host's IMDS."""

    network_mode: str
    reason: str
    tasks: tuple[str, ...] = ()
    services: tuple[str, ...] = ()

    @property
    def closed_by(self) -> str:
        return CLOSED_BY[self.network_mode]

    @property
    def closed_by_metadata_options(self) -> bool:
        return self.network_mode == BRIDGE

    def as_json(self) -> dict[str, Any]:
        return {
            "network_mode": self.network_mode,
            "reason": self.reason,
            "tasks": list(self.tasks),
            "services": list(self.services),
            "closed_by": self.closed_by,
        }


@dataclass
class HostExposures:
    exposures: list[Exposure] = field(default_factory=list)
    # Tasks and services whose task definition was not read: their network mode is unknown.
    not_read: list[str] = field(default_factory=list)


def host_exposures(snapshot: Snapshot, host: Instance) -> HostExposures:
    """Bridge containers reach IMDS through the host's options alone, whatever runs there
    now; awsvpc and host-network ones count where such tasks run or may run."""
    grouped: dict[str, list[Task | Service]] = {BRIDGE: [], AWSVPC: [], HOST: []}
    result = HostExposures()
    for workload in snapshot.workloads_of_instance(host.instance_id):
        mode = snapshot.network_mode_of(workload)
        if mode is None:
            result.not_read.append(f"{label(workload)}: task definition not read")
        elif mode != NO_NETWORK:
            grouped[_group(mode)].append(workload)
    for mode, workloads in grouped.items():
        reach = _reach(mode, host)
        if reach.reachable and (workloads or mode == BRIDGE):
            result.exposures.append(
                Exposure(
                    network_mode=mode,
                    reason=reach.reason,
                    tasks=tuple(sorted(label(w) for w in workloads if isinstance(w, Task))),
                    services=tuple(sorted(label(w) for w in workloads if isinstance(w, Service))),
                )
            )
    return result


def label(workload: Task | Service) -> str:
    definition = short_name(workload.task_definition_arn or "unknown")
    if isinstance(workload, Task):
        return f"task {short_name(workload.arn)} ({definition})"
    return f"service {workload.name} ({definition})"


def _group(network_mode: str) -> str:
    """ECS's other modes (Windows' default) reach IMDS as bridge mode does."""
    return network_mode if network_mode in (AWSVPC, HOST) else BRIDGE


def _reach(network_mode: str, host: Instance) -> Reachability:
    # Every task here runs on this container instance (EC2 or external), never Fargate.
    return imds_reachability(network_mode, host, on_ec2=True)
