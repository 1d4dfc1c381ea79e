"""Teach moto what CloudFormation answers.

- DescribeStackResources by PhysicalResourceId: moto reads only StackName (it ignores
  PhysicalResourceId and answers "Stack with id None does not exist", as if no stack
  owned anything). AWS finds the stack that owns the resource and returns that stack's
  resources; so does this, per region, from moto's stacks.
- DescribeStacks hides a NoEcho parameter's value (****): moto compares each value with
  the NoEcho parameters' names, so it shows the value unless it equals a name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Stack
from moto.cloudformation.responses import CloudFormationResponse, StackResourceDTO
from moto.core.responses import ActionResult


@contextmanager
def stacks_found_by_physical_id() -> Iterator[None]:
    original = CloudFormationResponse.describe_stack_resources

    def describe_stack_resources(self: Any) -> Any:
        physical = self._get_param("PhysicalResourceId")
        if not physical or self._get_param("StackName"):
            return original(self)
        for stack in self.cloudformation_backend.stacks.values():
            resources = list(stack.stack_resources)
            if any(getattr(r, "physical_resource_id", None) == physical for r in resources):
                return ActionResult(
                    {"StackResources": [StackResourceDTO(stack, r) for r in resources]}
                )
        raise ValidationError(message=f"Stack for {physical} does not exist")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CloudFormationResponse, "describe_stack_resources", describe_stack_resources)
        yield


@contextmanager
def no_echo_parameters_hidden() -> Iterator[None]:
    def parameter_list(self: Any) -> list[dict[str, Any]]:
        hidden = self.resource_map.no_echo_parameter_keys
        return [
            {"ParameterKey": key, "ParameterValue": "****" if key in hidden else value}
            for key, value in self.resource_map.resolved_parameters.items()
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Stack, "parameter_list", property(parameter_list))
        yield
