"""A CloudFormation template written in YAML, its short-form functions (`!Ref`) included."""

from __future__ import annotations

from typing import Any

import yaml

YamlError = yaml.YAMLError


class _CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that reads `!Ref x` as {"Ref": x}, `!GetAtt a.b` as {"Fn::GetAtt": [a, b]},
    and every other `!Name` as {"Fn::Name": ...}."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


def load_yaml(body: str) -> Any:
    return yaml.load(body, Loader=_CloudFormationLoader)  # noqa: S506 (a SafeLoader)
