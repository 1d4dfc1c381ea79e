"""Which roles a CloudFormation template puts inline policies on, read from its text alone.

An `AWS::IAM::Policy` names its roles in `Roles`, an `AWS::IAM::RolePolicy` in `RoleName`;
both may put a policy on a role the stack does not own, and the next stack update puts it
back. Values are resolved as far as the template and the stack's parameters allow:
literals, `Ref` to a parameter or a pseudo parameter, `Fn::Sub`, `Fn::Join`, and both
branches of `Fn::If`. A role the template creates is the stack's own (the ownership check
by physical id covers it). Anything else (`Fn::ImportValue`, `Fn::GetAtt` of another
resource, a NoEcho parameter) cannot be told: the policy may target any role.

Templates are JSON or YAML; YAML's short forms (`!Ref`, `!Sub` ...) become the long forms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

INLINE_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::RolePolicy")
NO_VALUE = "AWS::NoValue"
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(ValueError):
    """The template body is neither JSON nor YAML, or not a mapping."""


@dataclass(frozen=True)
class InlinePolicy:
    """One inline-policy resource: the roles it names, and whether some cannot be told."""

    logical_id: str
    policy_name: str | None  # None: it cannot be told
    roles: tuple[str, ...]
    unknown_roles: bool

    def label(self) -> str:
        if self.policy_name is None:
            return f"of resource {self.logical_id}"
        return self.policy_name


@dataclass(frozen=True)
class Context:
    """What a `Ref` or `${...}` may name: parameters (the stack's values) and pseudo ones."""

    values: Mapping[str, str]
    lists: frozenset[str]  # parameters of a list type (CommaDelimitedList, List<...>)
    own_roles: frozenset[str]  # logical ids of the template's AWS::IAM::Role resources


def load_template(body: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """The template as a mapping (boto3 already decodes a JSON template returned by AWS)."""
    if isinstance(body, Mapping):
        return body
    try:
        loaded = json.loads(body)
    except ValueError:
        # The YAML parser costs a fifth of the remediate function's cold start: loaded
        # only for a template written in YAML (AWS returns JSON ones already decoded).
        from rolewarden.remediation.template_yaml import YamlError, load_yaml  # noqa: PLC0415

        try:
            loaded = load_yaml(body)
        except YamlError as error:
            raise TemplateError(f"neither JSON nor YAML: {error}") from error
    if not isinstance(loaded, Mapping):
        raise TemplateError("not a mapping")
    return loaded


def inline_policies(
    template: Mapping[str, Any],
    parameters: Mapping[str, str | None],
    pseudo: Mapping[str, str],
) -> list[InlinePolicy]:
    """Each inline-policy resource of the template, on roles the stack does not create.

    `parameters`: the stack's values (DescribeStacks; None: hidden, NoEcho), a missing one
    taking the template's Default; `pseudo`: AWS::StackName, AWS::Region, AWS::AccountId,
    AWS::Partition ..."""
    resources = _mapping(template.get("Resources"))
    context = _context(template, resources, parameters, pseudo)
    own_names = _own_role_names(resources, context)
    found = [_inline_policy(str(name), _mapping(each), context) for name, each in resources.items()]
    return [
        replace(policy, roles=tuple(r for r in dict.fromkeys(policy.roles) if r not in own_names))
        for policy in found
        if policy is not None
    ]


def _inline_policy(
    logical_id: str, resource: Mapping[str, Any], context: Context
) -> InlinePolicy | None:
    if resource.get("Type") not in INLINE_POLICY_TYPES:
        return None
    properties = _mapping(resource.get("Properties"))
    if resource["Type"] == "AWS::IAM::RolePolicy":
        targets = properties.get("RoleName")
    else:
        targets = properties.get("Roles")
    if targets is None:
        return None  # a policy for users or groups only
    roles, unknown = role_names(targets, context)
    return InlinePolicy(
        logical_id, text(properties.get("PolicyName"), context), tuple(roles), unknown
    )


def role_names(value: Any, context: Context) -> tuple[list[str], bool]:
    """The role names a `Roles` list (or one `RoleName`) resolves to, and whether some
    entry cannot be told. The template's own roles are left out."""
    if isinstance(value, list):
        names: list[str] = []
        unknown = False
        for each in value:
            more, each_unknown = role_names(each, context)
            names += more
            unknown = unknown or each_unknown
        return names, unknown
    if isinstance(value, Mapping) and len(value) == 1:
        [(function, argument)] = value.items()
        if function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            return role_names(argument[1:], context)  # either branch: assume both
        if function == "Ref" and argument in context.own_roles | {NO_VALUE}:
            return [], False
        if function == "Fn::GetAtt" and _first(argument) in context.own_roles:
            return [], False
        if function == "Ref" and argument in context.lists and argument in context.values:
            return [item.strip() for item in context.values[argument].split(",")], False
    name = text(value, context)
    if name is None:
        return [], True
    return [name.rsplit("/", 1)[-1] if name.startswith("arn:") else name], False


def text(value: Any, context: Context) -> str | None:
    """A scalar value as a string, or None when the template alone cannot tell it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return str(value)
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    [(function, argument)] = value.items()
    if function == "Ref":
        return context.values.get(str(argument)) if str(argument) not in context.lists else None
    if function == "Fn::Sub":
        return _sub(argument, context)
    if function == "Fn::Join":
        return _join(argument, context)
    return None


def _sub(argument: Any, context: Context) -> str | None:
    if isinstance(argument, list) and len(argument) == 2:
        pattern, variables = argument
    else:
        pattern, variables = argument, {}
    if not isinstance(pattern, str) or not isinstance(variables, Mapping):
        return None
    values: dict[str, str | None] = {key: text(v, context) for key, v in variables.items()}
    unresolved = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"  # ${!Literal} is written as ${Literal}
        value = values[name] if name in values else text({"Ref": name}, context)
        if value is None:
            unresolved = True
            return ""
        return value

    result = _SUB_VARIABLE.sub(substitute, pattern)
    return None if unresolved else result


def _join(argument: Any, context: Context) -> str | None:
    if not isinstance(argument, list) or len(argument) != 2:
        return None
    delimiter, parts = argument
    if not isinstance(delimiter, str) or not isinstance(parts, list):
        return None
    texts = [text(part, context) for part in parts]
    if any(part is None for part in texts):
        return None
    return delimiter.join(part for part in texts if part is not None)


def _context(
    template: Mapping[str, Any],
    resources: Mapping[str, Any],
    parameters: Mapping[str, str | None],
    pseudo: Mapping[str, str],
) -> Context:
    declared = _mapping(template.get("Parameters"))
    values = dict(pseudo)
    lists = set()
    for name, declared_as in declared.items():
        declaration = _mapping(declared_as)
        kind = str(declaration.get("Type", ""))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            lists.add(str(name))
        if name in parameters:
            value = parameters[name]
            if value is not None:  # NoEcho: neither its value nor its Default is known
                values[str(name)] = value
        elif isinstance(declaration.get("Default"), str | int | float):
            values[str(name)] = str(declaration["Default"])
    own = frozenset(
        str(name)
        for name, resource in resources.items()
        if _mapping(resource).get("Type") == "AWS::IAM::Role"
    )
    return Context(values, frozenset(lists), own)


def _own_role_names(resources: Mapping[str, Any], context: Context) -> set[str]:
    """The names the template gives its own roles: a policy on them is the stack's role's."""
    names = set()
    for logical_id in context.own_roles:
        properties = _mapping(_mapping(resources[logical_id]).get("Properties"))
        name = text(properties.get("RoleName"), context)
        if name is not None:
            names.add(name)
    return names


def _first(argument: Any) -> Any:
    """The resource of a `Fn::GetAtt` (a list, or "Resource.Attribute")."""
    if isinstance(argument, str):
        return argument.split(".", 1)[0]
    return argument[0] if isinstance(argument, Sequence) and argument else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
