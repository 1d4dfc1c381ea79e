"""The template as CloudFormation receives it: SAM's translator (the SAM CLI's, in the
tools' venv) turns Globals and each function's properties into Lambda functions. What
the template says once (Globals) every function must still have."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from cfn_template import ROOT, load_template

TOOLS_PYTHON = ROOT / ".venv-tools" / "bin" / "python"

# Runs in the tools' venv. CodeUri and ContentUri stand for what `sam package` uploads.
TRANSLATE = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:  # the functions name their roles: SAM attaches no policy by name
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
template["Globals"]["Function"]["CodeUri"] = "s3://packaged/functions.zip"
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::Serverless::LayerVersion":
        resource["Properties"]["ContentUri"] = "s3://packaged/layer.zip"
print(json.dumps(transform(template, {}, NoManagedPolicies())))
"""

FUNCTIONS = {
    "ConfigRuleFunction": "rolewarden-config-rule",
    "EventFunction": "rolewarden-events",
    "SweepFunction": "rolewarden-sweep",
    "RemediateFunction": "rolewarden-remediate",
}


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    if not TOOLS_PYTHON.exists():
        pytest.skip("the SAM translator is not installed (make lint installs it in .venv-tools)")
    completed = subprocess.run(
        [str(TOOLS_PYTHON), "-c", TRANSLATE, str(ROOT / "template.yaml")],
        env={"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    resources: dict[str, Any] = json.loads(completed.stdout)["Resources"]
    return resources


@pytest.mark.parametrize(("function", "service"), FUNCTIONS.items())
def test_each_function_logs_json_to_its_own_group_at_the_templates_level(
    translated: dict[str, Any], function: str, service: str
) -> None:
    properties = translated[function]["Properties"]
    assert properties["LoggingConfig"] == {
        "LogGroup": {"Ref": f"{function}Logs"},
        "LogFormat": "JSON",
        "ApplicationLogLevel": {"Ref": "LogLevel"},
        "SystemLogLevel": "WARN",
    }
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Runtime"] == "python3.13"


@pytest.mark.parametrize(("function", "service"), FUNCTIONS.items())
def test_each_function_has_every_shared_setting_and_its_own_service_name(
    translated: dict[str, Any], function: str, service: str
) -> None:
    shared = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    variables = translated[function]["Properties"]["Environment"]["Variables"]
    assert variables == {**shared, "POWERTOOLS_SERVICE_NAME": service}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_functions_role_reports_through_the_shared_policy(
    translated: dict[str, Any], function: str
) -> None:
    role = translated[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert translated[role]["Properties"]["ManagedPolicyArns"] == [{"Ref": "ReportingPolicy"}]
    reporting = translated["ReportingPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    sids = [statement["Fn::If"][1]["Sid"] if "Fn::If" in statement else statement["Sid"]
            for statement in reporting]  # fmt: skip
    assert sids == ["Alert", "AlertEncrypted", "SlackWebhook", "SlackWebhookKey", "Trace"]
