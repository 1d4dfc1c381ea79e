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
