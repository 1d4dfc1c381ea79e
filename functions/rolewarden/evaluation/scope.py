"""Where one evaluation runs: an account, a region, and every region RoleWarden covers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    account: str
    partition: str
    region: str  # where the regional resources a trigger names live
    regions: tuple[str, ...]  # every region covered: IAM resources are judged in all of them

    @property
    def all_regions(self) -> list[str]:
        """`region` first, then the other covered regions."""
        return [self.region, *(other for other in self.regions if other != self.region)]
