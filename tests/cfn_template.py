"""Reading CloudFormation/SAM templates in tests (YAML with !Ref, !GetAtt, !Sub ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref x` into {"Ref": x} and `!GetAtt a.b` into
    {"Fn::GetAtt": ["a", "b"]}, like CloudFormation's JSON form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(relative_path: str = "template.yaml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(
        (ROOT / relative_path).read_text(), Loader=_CloudFormationLoader
    )
    return loaded


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy document's statements, with every condition true (a statement under
    `!If [Condition, statement, !Ref AWS::NoValue]` counts as present)."""
    return [
        statement["Fn::If"][1] if "Fn::If" in statement else statement
        for statement in document["Statement"]
    ]


def actions(statement: dict[str, Any]) -> set[str]:
    listed = statement["Action"]
    return {listed} if isinstance(listed, str) else set(listed)


def granted_to_role(resources: dict[str, Any], role: str) -> set[str]:
    """What the template grants a role: its own policies, and the resource policies
    (tables' ResourcePolicy, keys' KeyPolicy) whose Allow names the role's ARN."""
    own = {
        action
        for document in role_policies(resources, role)
        for statement in statements(document)
        for action in actions(statement)
    }
    return own | {
        action
        for document in resource_policies(resources).values()
        for statement in statements(document)
        if statement["Effect"] == "Allow" and role in principal_roles(statement)
        for action in actions(statement)
    }


def role_policies(resources: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The documents of a role's own policies: inline, and the template's managed
    policies it attaches (ManagedPolicyArns: !Ref Policy)."""
    properties = resources[role]["Properties"]
    inline = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    attached = [
        resources[arn["Ref"]]["Properties"]["PolicyDocument"]
        for arn in properties.get("ManagedPolicyArns", [])
        if isinstance(arn, dict) and "Ref" in arn
    ]
    return inline + attached


def resource_policies(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> the resource policy of every table and key that has one."""
    found = {}
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        if "ResourcePolicy" in properties:
            found[name] = properties["ResourcePolicy"]["PolicyDocument"]
        elif "KeyPolicy" in properties:
            found[name] = properties["KeyPolicy"]
    return found


def principal_roles(statement: dict[str, Any]) -> set[str]:
    """The template roles a statement's Principal names by !GetAtt Role.Arn."""
    principal = statement.get("Principal")
    named = principal.get("AWS", []) if isinstance(principal, dict) else []
    named = named if isinstance(named, list) else [named]
    return {
        item["Fn::GetAtt"][0]
        for item in named
        if isinstance(item, dict) and item.get("Fn::GetAtt", [None, None])[1] == "Arn"
    }
