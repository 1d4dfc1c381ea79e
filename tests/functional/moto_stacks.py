"""Teach moto what CloudFormation answers.

- DescribeStackResources by PhysicalResourceId: moto reads only StackName (it ignores
  PhysicalResourceId and answers "Stack with id None does not exist", as if no stack
  owned anything). AWS finds the stack that owns the resource and returns that stack's
  resources; so does this, per region, from moto's stacks.
- DescribeStacks hides a NoEcho parameter's value (****): moto compares each value with
  the NoEcho parameters' names, so it shows the value unless it equals a name.
- AWS::IAM::RolePolicy puts an inline policy on its RoleName: moto skips the type (it
  knows AWS::IAM::Policy, the same policy with Roles, which this one becomes), and its
  physical id is "policy|role", as CloudFormation's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Stack
from moto.cloudformation.responses import CloudFormationResponse, StackResourceDTO
from moto.core.responses import ActionResult
from moto.iam.models import InlinePolicy


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


class _RolePolicy(InlinePolicy):  # not a direct CloudFormationModel: moto's map is unchanged
    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        properties["Roles"] = [properties.pop("RoleName")]
        as_policy = {**cloudformation_json, "Properties": properties}
        created = InlinePolicy.create_from_cloudformation_json(
            resource_name, as_policy, *args, **kwargs
        )
        created.__class__ = _RolePolicyIdentified
        return created


class _RolePolicyIdentified(InlinePolicy):
    @property
    def physical_resource_id(self) -> str:
        return f"{self.policy_name}|{self.role_names[0]}"


@contextmanager
def role_policies_created() -> Iterator[None]:
    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        return _RolePolicy if resource_type == "AWS::IAM::RolePolicy" else original(resource_type)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parsing, "resource_class_from_type", resource_class_from_type)
        yield
