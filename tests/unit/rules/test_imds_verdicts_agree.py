"""ecs-task-without-task-role and ecs-host-imds-exposed never contradict each other.

For every network mode, host metadata options and state of the host's user data: a task
the task rule says reaches its host's IMDS is named by the host rule's finding on that
host (and so is a task of the same mode that has a task role: a task role does not block
IMDS); a host the host rule calls compliant has no task that reaches it.
"""

from __future__ import annotations

import itertools

import pytest
from snapshots import (
    ACCOUNT,
    S3_READ,
    add_ecs_host,
    add_role,
    add_task,
    add_task_definition,
    context,
    empty_snapshot,
)

from rolewarden.rules import ids
from rolewarden.rules.engine import run_rules
from rolewarden.rules.model import Compliance

MODES = ("bridge", "awsvpc", "host")
HOST_OPTIONS = {
    "imdsv1-hop-1": {"http_tokens": "optional", "hop_limit": 1},
    "imdsv1-hop-2": {"http_tokens": "optional", "hop_limit": 2},
    "imdsv2-hop-2": {"http_tokens": "required", "hop_limit": 2},
    "imdsv2-hop-1": {"http_tokens": "required", "hop_limit": 1},
    "endpoint-disabled": {"http_tokens": "optional", "hop_limit": 2, "endpoint": "disabled"},
}
USER_DATA = {
    "unread": None,
    "without-setting": {},
    "block-imds-true": {"ECS_AWSVPC_BLOCK_IMDS": "true"},
    "block-imds-false": {"ECS_AWSVPC_BLOCK_IMDS": "false"},
}
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/api-task"


@pytest.mark.parametrize(
    ("mode", "options", "user_data"),
    list(itertools.product(MODES, HOST_OPTIONS, USER_DATA)),
)
def test_the_task_rule_and_the_host_rule_agree_on_reaching_imds(
    mode: str, options: str, user_data: str
) -> None:
    # Given a host with these options and user data, running two tasks in this network
    # mode: one without a task role (the task rule judges it), one with a task role
    snapshot = empty_snapshot()
    role = add_role(snapshot, "ecs-host", inline={"app": S3_READ})
    host, container = add_ecs_host(
        snapshot, role, ecs_agent_settings=USER_DATA[user_data], **HOST_OPTIONS[options]
    )
    bare = add_task_definition(snapshot, "bare", 1, network_mode=mode)
    roled = add_task_definition(snapshot, "roled", 1, network_mode=mode, task_role_arn=TASK_ROLE)
    add_task(snapshot, bare, container, "task-bare")
    add_task(snapshot, roled, container, "task-roled")

    # When both rules run
    run = run_rules(
        snapshot, context(), [ids.ECS_TASK_WITHOUT_TASK_ROLE, ids.ECS_HOST_IMDS_EXPOSED]
    )

    # Then the host rule names both tasks exactly when the task rule says they reach IMDS
    task_finding = next(f for f in run.findings if f.rule == ids.ECS_TASK_WITHOUT_TASK_ROLE)
    reaches = task_finding.evidence["imds_reachable"]
    host_verdict = next(
        e
        for e in run.evaluations
        if e.rule == ids.ECS_HOST_IMDS_EXPOSED and e.resource.arn == host.arn
    )
    named = set()
    if host_verdict.violation is not None:
        named = {
            task
            for exposure in host_verdict.violation.evidence["exposures"]
            for task in exposure["tasks"]
        }
    both = {"task task-bare (bare:1)", "task task-roled (roled:1)"}
    assert (named == both) is reaches
    if reaches:
        assert host_verdict.compliance is Compliance.NON_COMPLIANT
    if host_verdict.compliance is Compliance.COMPLIANT:
        assert not reaches
