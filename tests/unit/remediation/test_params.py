"""An action's params are parsed once, from the proposal, before anything is read.

Scenarios:
  1. A proposal's params become the action's typed params; keys it does not read are left out.
  2. A missing field, or one of the wrong JSON type, is a ParamsError naming the action
     and the field: nothing is planned.
  3. The hop limit keeps its own words: a whole number from 1 to 64.
  4. A split names the policy it splits, managed or inline.
  5. A remediation whose proposal is malformed is refused before anything is read: one
     action's params, or a proposal of several steps (no role, no steps, a step without
     an action or with one RoleWarden does not have, a step's own params malformed).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest

from rolewarden.aws.clients import AwsClients
from rolewarden.remediation.actions.enforce_imdsv2 import EnforceImdsV2Params
from rolewarden.remediation.actions.split_mixed_policy import SplitMixedPolicyParams, SplitSource
from rolewarden.remediation.outcome import OutcomeStatus
from rolewarden.remediation.params import ParamsError
from rolewarden.remediation.registry import ACTIONS
from rolewarden.remediation.remediator import Remediator
from rolewarden.remediation.request import Request
from rolewarden.rules.model import Remediation
from rolewarden.settings import Settings
from sample_findings import a_finding

ROLE_POLICY = {
    "role_name": "shop-ecs-host",
    "policy_arn": "arn:aws:iam::aws:policy/AmazonS3FullAccess",
}


def test_1_a_proposal_becomes_typed_params_without_the_keys_the_action_does_not_read() -> None:
    # Given the params of an enforce-imdsv2 proposal, with what it shows a person
    proposal = {
        "instance_id": "i-0abc",
        "http_tokens": "required",
        "hop_limit": 2,
        "hop_limit_reason": "a bridge-mode task uses the host's credentials",
        "previous": {"HttpTokens": "optional"},
        "update_service": False,
    }

    # When the action parses them / Then it reads attributes
    params = ACTIONS["enforce-imdsv2"].parse(proposal)
    assert params == EnforceImdsV2Params(
        instance_id="i-0abc",
        hop_limit=2,
        hop_limit_reason="a bridge-mode task uses the host's credentials",
    )


@pytest.mark.parametrize(
    ("action", "raw", "problem"),
    [
        ("detach-managed-policy", {"role_name": "shop-ecs-host"}, "policy_arn: Field required"),
        (
            "delete-inline-policy",
            {"role_name": "shop-ecs-host", "policy_name": 7},
            "policy_name: Input should be a valid string",
        ),
        (
            "associate-instance-profile",
            {"instance_id": "i-0abc", "instance_profile": "baseline", "replace": "false"},
            "replace: Input should be a valid boolean",
        ),
        (
            "register-task-definition-with-task-role",
            {"task_role_arn": None},
            "task_definition_arn: Field required",
        ),
    ],
)
def test_2_a_missing_or_malformed_field_is_an_error_naming_it(
    action: str, raw: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ParamsError) as error:
        ACTIONS[action].parse(raw)
    assert str(error.value) == f"{action}: malformed params ({problem}): nothing is changed"


@pytest.mark.parametrize(
    ("hop_limit", "problem"),
    [
        (True, "hop limit must be a whole number, got True"),
        ("2", "hop limit must be a whole number, got '2'"),
        (65, "hop limit must be 1 to 64, got 65"),
        (0, "hop limit must be 1 to 64, got 0"),
    ],
)
def test_3_the_hop_limit_is_a_whole_number_from_1_to_64(hop_limit: Any, problem: str) -> None:
    with pytest.raises(ParamsError) as error:
        ACTIONS["enforce-imdsv2"].parse({"instance_id": "i-0abc", "hop_limit": hop_limit})
    assert str(error.value) == (
        f"enforce-imdsv2: malformed params (hop_limit: {problem}): nothing is changed"
    )


def test_4_a_split_names_its_policy() -> None:
    document = {"Version": "2012-10-17", "Statement": []}
    managed = ACTIONS["split-mixed-policy"].parse(
        {**ROLE_POLICY, "document": document, "source": {"version_id": "v1"}}
    )
    assert managed == SplitMixedPolicyParams(
        role_name="shop-ecs-host",
        document=document,
        policy_arn=ROLE_POLICY["policy_arn"],
        source=SplitSource(version_id="v1"),
    )
    with pytest.raises(ParamsError, match="names neither a policy_arn nor a policy_name"):
        ACTIONS["split-mixed-policy"].parse({"role_name": "shop-ecs-host", "document": document})


STEPS = "remove-application-policies"
DETACH = {"action": "detach-managed-policy", "policy_arn": ROLE_POLICY["policy_arn"]}


@pytest.mark.parametrize(
    ("proposal", "reason"),
    [
        (
            Remediation("associate-instance-profile", False, {"instance_profile": "baseline"}),
            "associate-instance-profile: malformed params (instance_id: Field required)",
        ),
        (
            Remediation(STEPS, False, {"steps": [DETACH]}),
            f"{STEPS}: malformed params (role_name: Field required)",
        ),
        (
            Remediation(STEPS, False, {"role_name": "shop-ecs-host", "steps": []}),
            f"{STEPS}: malformed params (steps: List should have at least 1 item after "
            "validation, not 0)",
        ),
        (
            Remediation(
                STEPS, False, {"role_name": "shop-ecs-host", "steps": [{"policy_name": "x"}]}
            ),
            f"{STEPS}: malformed params (steps.0.action: Field required)",
        ),
        (
            Remediation(
                STEPS, False, {"role_name": "shop-ecs-host", "steps": [DETACH, {"action": "rm"}]}
            ),
            f"{STEPS}: unknown action rm",
        ),
        (
            Remediation(
                STEPS,
                False,
                {"role_name": "shop-ecs-host", "steps": [{"action": "delete-inline-policy"}]},
            ),
            "delete-inline-policy: malformed params (policy_name: Field required)",
        ),
    ],
)
def test_5_a_malformed_proposal_is_refused_before_anything_is_read(
    proposal: Remediation, reason: str
) -> None:
    # Given a finding with a malformed proposal, and an account that records calls
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    calls: list[str] = []
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    finding = replace(a_finding("i-0abc"), remediation=proposal)
    remediator = Remediator(AwsClients(session, home_region="us-east-1"), Settings(), None, "1")

    # When a person applies it
    outcome = remediator.remediate(finding, Request("alice@example.com", apply=True))

    # Then it is refused, naming the field, and nothing was read or planned
    assert outcome.status is OutcomeStatus.REFUSED
    assert outcome.reasons == [f"{reason}: nothing is changed"]
    assert (outcome.plan, calls) == ([], [])
