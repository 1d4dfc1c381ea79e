"""What a warm container remembers of the context it read for earlier events.

An IAM role event reads every task and service of its hosts' clusters for the outage
guard; task starts and instance events read their hosts' workloads. Two of those reads
repeat from one event to the next and can be remembered safely:

- Task definition revisions read as context (a task's or a service's): only their
  `RevisionFacts` (task role, network mode, compatibilities), which never change. A
  revision's tags and status do change; they are not kept, and the revision an event is
  about is always read afresh (`EcsReader.read_task_definitions`).
- The cluster each ECS host is registered in: only a hint. Before it is used, the
  container instance is described again, and the hint counts only if it is still
  registered with its agent connected (one ECS agent, one cluster); otherwise every
  cluster is listed, as without it.

Entries are keyed by account (organization mode will share containers between accounts)
and the least recently used are dropped beyond `capacity`. A failed read is never kept.
The handler's container holds one cache (`triggers.wiring.Container`); a sweep or a CLI scan
reads everything afresh and needs none.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

from rolewarden.inventory.snapshot import ContainerInstance, RevisionFacts

DEFAULT_CAPACITY = 4096
K = TypeVar("K")
V = TypeVar("V")


class _LeastRecentlyUsed(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity {capacity}: at least 1")
        self.capacity = capacity
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class ContextCache:
    """Revision facts and host registrations, per account, for the life of a container."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._revisions: _LeastRecentlyUsed[tuple[str, str], RevisionFacts] = _LeastRecentlyUsed(
            capacity
        )
        self._registrations: _LeastRecentlyUsed[tuple[str, str, str], ContainerInstance] = (
            _LeastRecentlyUsed(capacity)
        )

    def revision(self, account: str, arn: str) -> RevisionFacts | None:
        return self._revisions.get((account, arn))

    def remember_revision(self, account: str, facts: RevisionFacts) -> None:
        # Facts alone, never a TaskDefinition (a subclass): its tags would come along.
        if type(facts) is not RevisionFacts:
            raise TypeError(f"{type(facts).__name__}: only RevisionFacts are remembered")
        self._revisions.put((account, facts.arn), facts)

    def registration(self, account: str, region: str, instance_id: str) -> ContainerInstance | None:
        """Where this EC2 instance was last seen registered (a hint: confirm it)."""
        return self._registrations.get((account, region, instance_id))

    def remember_registration(
        self, account: str, region: str, container: ContainerInstance
    ) -> None:
        if container.ec2_instance_id:
            self._registrations.put((account, region, container.ec2_instance_id), container)

    def forget_registration(self, account: str, region: str, instance_id: str) -> None:
        self._registrations.pop((account, region, instance_id))

    @property
    def sizes(self) -> tuple[int, int]:
        """(revisions, registrations) remembered."""
        return len(self._revisions), len(self._registrations)
