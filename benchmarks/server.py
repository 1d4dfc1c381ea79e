"""The emulator in a process of its own, so that RoleWarden's CPU time is its own.

`python -m benchmarks.server` starts moto's server (`rolewarden.demo.emulator`) with ECS
tasks pinned RUNNING, prints its endpoint URL, and serves until its stdin closes.
"""

from __future__ import annotations

import subprocess
import sys
from types import TracebackType
from typing import Self

import boto3

from rolewarden.demo.emulator import Emulator, emulator_environment, emulator_session

REGION = "us-east-1"


class EmulatorProcess:
    """`with EmulatorProcess() as emulator:` a moto server in a child process."""

    def __init__(self, region: str = REGION) -> None:
        self.region = region
        self.endpoint_url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.endpoint_url = self._process.stdout.readline().strip()
        if not self.endpoint_url.startswith("http://"):
            self.__exit__(None, None, None)
            raise RuntimeError("the emulator process did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is None:
            return
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._process = None

    def session(self) -> boto3.Session:
        return emulator_session(self.endpoint_url, self.region)

    def environment(self) -> dict[str, str]:
        return emulator_environment(self.endpoint_url, self.region)


def main() -> None:
    with Emulator(REGION) as emulator:
        emulator.pin_ecs_tasks_running()
        print(emulator.endpoint_url, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    main()
