"""An embedded AWS emulator: moto's server on 127.0.0.1, for `rolewarden demo` and e2e tests.

Needs moto (the package's `demo` extra); nothing in the Lambda functions imports it.

    with Emulator() as emulator:
        emulator.pin_ecs_tasks_running()
        session = emulator.session()
        session.client("ec2").describe_instances()

How clients reach the emulator. `Emulator.session()` returns a boto3 Session whose
botocore config store carries the endpoint URL as an override, so every client made
from it talks to the emulator without touching `os.environ` (and a stray
`AWS_ENDPOINT_URL` in the environment cannot send it elsewhere). Code that builds
its own Session from the standard AWS settings (the CLI, a handler, a subprocess)
gets them from `environment()`: pass it to a subprocess, or apply it in-process
for a while with `export_environment()`, which restores the previous values.

Process-wide state. `ThreadedMotoServer` runs in this process and uses moto's
process-global backends and state manager, the same ones `mock_aws` uses. The
emulator therefore resets moto's backends when it starts and when it stops (each
emulator starts with an empty account), and undoes its ECS task pin when it stops.
Do not run it while a `mock_aws` context is active in the same process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

import boto3
import botocore.session
from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler
from moto.ec2 import utils as moto_ec2_utils
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.moto_api import state_manager
from moto.server import ThreadedMotoServer

DEFAULT_REGION = "us-east-1"
FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"  # noqa: S105 - moto accepts any credentials

_LOAD_MANAGED_POLICIES = "MOTO_IAM_LOAD_MANAGED_POLICIES"
_REQUEST_LOG = logging.getLogger("werkzeug")
_ECS_TASK_MODEL = "ecs::task"
# moto advances an ECS task one state towards STOPPED each time DescribeTasks returns it
# (state manager default: manual progression, times=1). A manual progression that needs a
# million DescribeTasks calls per step keeps tasks RUNNING for any demo or test.
_ECS_TASK_PINNED = {"progression": "manual", "times": 1_000_000}


def support_missing_moto_filters() -> None:
    """Teach moto the filters AWS has and moto 5.2 lacks, which RoleWarden uses.

    DescribeRegions answers the emulated account's regions (EMULATED_REGIONS), not all
    38 moto knows. `iam-instance-profile.arn` on DescribeInstances (the instances behind a role's
    profiles): without it moto fails the call instead of filtering. `ec2InstanceId in
    [...]` on ListContainerInstances (the cluster query language): without it moto lists
    every container instance of the cluster, and the benchmarks would count describing
    them all.
    """
    moto_ec2_utils.filter_dict_attribute_mapping.setdefault(
        "iam-instance-profile.arn", "iam_instance_profile.Arn"
    )
    EC2ContainerServiceResponse.list_container_instances = _list_container_instances  # type: ignore[method-assign]
    RegionsAndZonesBackend.describe_regions = _describe_enabled_regions  # type: ignore[method-assign]


# The regions the emulated account has enabled. moto answers DescribeRegions with every
# region it knows (38), and each region's EC2 takes seconds to start: guards that look at
# every region of the account (IAM is global) would make each remediation take minutes.
EMULATED_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
_MOTO_DESCRIBE_REGIONS: Callable[..., Any] = RegionsAndZonesBackend.describe_regions


def _describe_enabled_regions(self: Any, region_names: list[str] | None = None) -> Any:
    regions = _MOTO_DESCRIBE_REGIONS(self, region_names)
    return [region for region in regions if region_names or region.name in EMULATED_REGIONS]


def serialise_moto_dynamodb() -> None:
    """Make each DynamoDB request atomic, as DynamoDB is and moto 5.2 is not.

    DynamoDB applies a conditional write as one step; moto checks the condition, then
    writes, without a lock, so two threads (the emulator's server, or a test's racers) can
    both pass the check. RoleWarden's hourly cap and resource locks rely on the real
    behaviour: one lock around moto's DynamoDB requests gives it back. Idempotent.
    """
    if getattr(DynamoHandler.call_action, "serialised", False):
        return
    unlocked = DynamoHandler.call_action
    lock = threading.Lock()

    def call_action(self: Any) -> Any:
        with lock:
            return unlocked(self)

    call_action.serialised = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


_EC2_INSTANCE_QUERY = re.compile(r"^\s*ec2InstanceId\s+in\s+\[(?P<ids>[^\]]*)\]\s*$")
_MOTO_LIST_CONTAINER_INSTANCES: Callable[[Any], Any] = (
    EC2ContainerServiceResponse.list_container_instances
)


def _list_container_instances(self: Any) -> Any:
    """moto's ListContainerInstances, honouring an `ec2InstanceId in [...]` filter."""
    query = _EC2_INSTANCE_QUERY.match(self._get_param("filter") or "")
    if query is None:
        return _MOTO_LIST_CONTAINER_INSTANCES(self)
    wanted = {part.strip().strip("'\"") for part in query["ids"].split(",")}
    cluster = str(self._get_param("cluster", "default")).split("/")[-1]
    status = self._get_param("status")
    arns = sorted(
        container.container_instance_arn
        for container in self.ecs_backend.container_instances.get(cluster, {}).values()
        if container.ec2_instance_id in wanted and status in (None, container.status)
    )
    return ActionResult({"containerInstanceArns": arns})


class EmulatorError(Exception):
    """The emulator did not start, or did not accept a request."""


class Emulator:
    """moto's server on 127.0.0.1 on a free port, as a context manager.

    One at a time per process: moto's state is process-wide.
    """

    _running: Emulator | None = None  # the one running in this process

    def __init__(self, region: str = DEFAULT_REGION, *, log_requests: bool = False) -> None:
        self.region = region
        self.log_requests = log_requests
        self._saved_log_level = logging.NOTSET
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._saved_load_policies: str | None = None
        self._tasks_pinned = False

    # lifecycle

    def start(self) -> None:
        if Emulator._running is not None:
            raise EmulatorError("an emulator is already running in this process")
        Emulator._running = self
        support_missing_moto_filters()
        serialise_moto_dynamodb()
        # moto reads this when it creates an account's IAM backend (lazily, on first use),
        # so it must stay set while the server serves; stop() restores the previous value.
        self._saved_load_policies = os.environ.get(_LOAD_MANAGED_POLICIES)
        os.environ[_LOAD_MANAGED_POLICIES] = "true"
        # verbose=False only silences moto's banner; werkzeug logs every request at INFO.
        self._saved_log_level = _REQUEST_LOG.level
        if not self.log_requests:
            _REQUEST_LOG.setLevel(logging.WARNING)
        try:
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            self._server = server
            host, port = server.get_host_and_port()
            self._endpoint_url = f"http://{host}:{port}"
            # Backends are process-global: start from an empty account whatever ran before.
            self._post("/moto-api/reset", None)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if Emulator._running is not self:
            return
        try:
            if self._tasks_pinned:
                self._post(
                    "/moto-api/state-manager/unset-transition", {"model_name": _ECS_TASK_MODEL}
                )
                self._tasks_pinned = False
            if self._endpoint_url is not None:
                self._post("/moto-api/reset", None)
        finally:
            if self._server is not None:
                self._server.stop()
            self._server = None
            self._endpoint_url = None
            self._tasks_pinned = False
            Emulator._running = None
            _restore_env({_LOAD_MANAGED_POLICIES: self._saved_load_policies})
            _REQUEST_LOG.setLevel(self._saved_log_level)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # how to reach it

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise EmulatorError("the emulator is not running")
        return self._endpoint_url

    def environment(self) -> dict[str, str]:
        """The standard AWS settings that point an SDK or the CLI at the emulator."""
        return emulator_environment(self.endpoint_url, self.region)

    @contextmanager
    def export_environment(self) -> Iterator[dict[str, str]]:
        """Apply `environment()` to os.environ for the block; restore what was there after.

        AWS_PROFILE and AWS_SESSION_TOKEN are removed for the block, so that a named
        profile or a real session token cannot mix with the fake credentials.
        """
        values: dict[str, str | None] = {**self.environment()}
        values |= {"AWS_PROFILE": None, "AWS_SESSION_TOKEN": None}
        saved = {name: os.environ.get(name) for name in values}
        _restore_env(values)
        try:
            yield self.environment()
        finally:
            _restore_env(saved)

    def session(self, region: str | None = None) -> boto3.Session:
        """A boto3.Session with fake credentials whose clients all use the emulator."""
        return emulator_session(self.endpoint_url, region or self.region)

    # emulator controls

    def pin_ecs_tasks_running(self) -> None:
        """Keep ECS tasks RUNNING however often DescribeTasks is called (until stop()).

        Call it before the first DescribeTasks: a task described under moto's default
        has already moved on. The pin is process-wide (moto's state manager).
        """
        self._post(
            "/moto-api/state-manager/set-transition",
            {"model_name": _ECS_TASK_MODEL, "transition": _ECS_TASK_PINNED},
        )
        self._tasks_pinned = True

    def _post(self, path: str, body: Mapping[str, Any] | None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 endpoint
            self.endpoint_url + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
        except OSError as error:
            raise EmulatorError(f"POST {path} failed: {error}") from error
        if status >= 300:
            raise EmulatorError(f"POST {path} answered HTTP {status}")


def emulator_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """The standard AWS settings that point an SDK or the CLI at an emulator's endpoint."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
    }


def emulator_session(endpoint_url: str, region: str) -> boto3.Session:
    """A boto3.Session with fake credentials whose clients all use the endpoint."""
    core = botocore.session.Session()
    # An override in the config store outranks AWS_ENDPOINT_URL and config files;
    # an explicit `endpoint_url=` on a client still wins.
    core.get_component("config_store").set_config_variable("endpoint_url", endpoint_url)
    return boto3.Session(
        aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
        region_name=region,
        botocore_session=core,
    )


def pin_ecs_tasks_running_in_process() -> None:
    """For in-process `mock_aws`: keep ECS tasks RUNNING across DescribeTasks calls.

    moto's state manager is process-global and `mock_aws` does not reset it: call
    `unpin_ecs_tasks_in_process()` when done (a test fixture's teardown).
    """
    state_manager.set_transition(_ECS_TASK_MODEL, dict(_ECS_TASK_PINNED))


def unpin_ecs_tasks_in_process() -> None:
    """Give ECS tasks back moto's default progression (one state per DescribeTasks)."""
    state_manager.unset_transition(_ECS_TASK_MODEL)


def _restore_env(values: Mapping[str, str | None]) -> None:
    """Set each variable to its value, or remove it when the value is None."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
