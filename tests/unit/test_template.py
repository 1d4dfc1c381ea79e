"""template.yaml says what the code does: the same rules, events, settings and guards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.artifact import RUNTIME
from cfn_template import (
    ROOT,
    actions,
    granted_to_role,
    load_template,
    principal_roles,
    resource_policies,
    role_policies,
    statements,
)
from rolewarden.evaluation.cloudtrail import EXTRACTORS, HANDLED_EVENT_NAMES
from rolewarden.remediation.registry import ACTIONS, CLI_ONLY
from rolewarden.rules.registry import REGISTRY
from rolewarden.settings import PREFIX, Settings

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in RESOURCES.items() if body["Type"] == kind}


def test_one_config_rule_per_rule_config_can_see() -> None:
    # Given the Config rules of the template
    rules = of_type("AWS::Config::ConfigRule")
    # When their rule parameters and scopes are read
    scoped = {
        body["Properties"]["InputParameters"]["rule"]: body["Properties"]["Scope"][
            "ComplianceResourceTypes"
        ]
        for body in rules.values()
    }
    # Then each Config-visible rule has one, scoped to its type (roles also on policies)
    expected = {
        rule.id: [rule.resource_type] for rule in REGISTRY.values() if rule.visible_to_config
    }
    expected["instance-role-app-permissions"] = ["AWS::IAM::Role", "AWS::IAM::Policy"]
    assert scoped == expected
    # And each is change-triggered (inline and oversized) and periodic, served by one function
    for body in rules.values():
        source = body["Properties"]["Source"]
        assert source["Owner"] == "CUSTOM_LAMBDA"
        assert source["SourceIdentifier"] == {"Fn::GetAtt": ["ConfigRuleFunction", "Arn"]}
        assert [detail["MessageType"] for detail in source["SourceDetails"]] == [
            "ConfigurationItemChangeNotification",
            "OversizedConfigurationItemChangeNotification",
            "ScheduledNotification",
        ]


def test_eventbridge_patterns_match_the_calls_the_code_handles() -> None:
    # Given the event evaluator's CloudTrail rules
    events = RESOURCES["EventFunction"]["Properties"]["Events"]
    changes = events["CredentialChanges"]["Properties"]["Pattern"]["detail"]
    tags = events["InstanceTagChanges"]["Properties"]["Pattern"]["detail"]
    # Then together they ask for exactly the calls the code extracts targets from
    assert sorted(changes["eventName"] + tags["eventName"]) == HANDLED_EVENT_NAMES
    assert sorted(changes["eventSource"]) == sorted({s for s, _ in EXTRACTORS})
    # And only for calls that succeeded, and tag calls only on instances
    assert changes["errorCode"] == tags["errorCode"] == [{"exists": False}]
    assert tags["requestParameters"] == {
        "resourcesSet": {"items": {"resourceId": [{"prefix": "i-"}]}}
    }
    # And task state changes only when RUNNING
    task = events["TaskStarted"]["Properties"]["Pattern"]
    assert task["detail"] == {"lastStatus": ["RUNNING"]}


def test_the_forwarder_forwards_every_iam_call_the_code_handles() -> None:
    forwarder = load_template("docs/iam-event-forwarder.yaml")
    pattern = forwarder["Resources"]["ForwardIamCalls"]["Properties"]["EventPattern"]
    iam_calls = sorted(name for source, name in EXTRACTORS if source == "iam.amazonaws.com")
    assert sorted(pattern["detail"]["eventName"]) == iam_calls


def test_every_setting_reaches_every_function() -> None:
    # Given the functions' shared environment
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    # Then every setting of the model is there, under its ROLEWARDEN_ name
    expected = {PREFIX + name.upper() for name in Settings.model_fields}
    assert expected <= set(variables)
    assert variables["ROLEWARDEN_CONFIG_TEST_MODE"] == "false"


def test_journal_outlives_the_stack_and_every_table_can_be_recovered() -> None:
    tables = of_type("AWS::DynamoDB::Table")
    assert RESOURCES["JournalTable"]["DeletionPolicy"] == "Retain"
    assert RESOURCES["JournalTable"]["UpdateReplacePolicy"] == "Retain"
    for body in tables.values():
        assert body["Properties"]["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }


@pytest.mark.parametrize(
    "function", ["ConfigRuleFunction", "EventFunction", "SweepFunction", "RemediateFunction"]
)
def test_each_function_has_its_own_bounded_tagged_role(function: str) -> None:
    # Given a function's role
    role_ref = RESOURCES[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = RESOURCES[role_ref]["Properties"]
    # Then it is under the boundary and tagged as RoleWarden's own (never remediated)
    assert role["PermissionsBoundary"] == {"Ref": "RoleWardenBoundary"}
    assert "rolewarden:component" in {tag["Key"] for tag in role["Tags"]}
    # And no other function uses it
    users = [
        name
        for name, body in of_type("AWS::Serverless::Function").items()
        if body["Properties"]["Role"]["Fn::GetAtt"][0] == role_ref
    ]
    assert users == [function]


def test_topic_is_encrypted_with_a_key_alarms_may_use() -> None:
    topic = RESOURCES["AlertTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlertKey"}
    key_statements = RESOURCES["AlertKey"]["Properties"]["KeyPolicy"]["Statement"]
    alarms = [
        s for s in key_statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert alarms and set(alarms[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_the_boundary_allows_everything_a_role_is_granted() -> None:
    # Given the permissions boundary and every RoleWarden function role
    boundary = statements(RESOURCES["RoleWardenBoundary"]["Properties"]["PolicyDocument"])
    ceiling = {
        action
        for statement in boundary
        if statement["Effect"] == "Allow"
        for action in actions(statement)
    }
    roles = {
        body["Properties"]["Role"]["Fn::GetAtt"][0]
        for body in of_type("AWS::Serverless::Function").values()
    }
    # Then no role is granted an action the boundary would silently cut off
    for role in roles:
        for document in role_policies(RESOURCES, role):
            for statement in statements(document):
                assert actions(statement) <= ceiling, (role, actions(statement) - ceiling)


def test_each_architecture_gets_a_layer_built_for_it() -> None:
    # Given the two dependency layers
    arm = RESOURCES["DependenciesLayerArm64"]
    x86 = RESOURCES["DependenciesLayerX86"]
    # Then each is built for, and only deployed with, its own architecture
    assert (arm["Condition"], arm["Metadata"]["BuildArchitecture"]) == ("OnArm64", "arm64")
    assert (x86["Condition"], x86["Metadata"]["BuildArchitecture"]) == ("OnX86", "x86_64")
    assert TEMPLATE["Globals"]["Function"]["Layers"] == [
        {"Fn::If": ["OnArm64", {"Ref": "DependenciesLayerArm64"}, {"Ref": "DependenciesLayerX86"}]}
    ]


def test_every_async_invocation_has_a_dead_letter_queue_its_sender_may_use() -> None:
    # Config, EventBridge and Scheduler invoke asynchronously: each function has a DLQ
    for function in ("ConfigRuleFunction", "EventFunction", "SweepFunction", "RemediateFunction"):
        assert RESOURCES[function]["Properties"]["DeadLetterQueue"]["Type"] == "SQS"
    # And the services that deliver undeliverable events there are allowed to (Lambda
    # itself, with the function's role, for the remediate function's async invokes)
    senders = {
        body["Properties"]["Queues"][0]["Ref"]: body["Properties"]["PolicyDocument"]["Statement"][
            0
        ]["Principal"]["Service"]
        for body in of_type("AWS::SQS::QueuePolicy").values()
    }
    assert senders == {
        "EventFunctionDeadLetters": "events.amazonaws.com",
        "SweepFunctionDeadLetters": "scheduler.amazonaws.com",
    }


def test_names_carry_the_stack_name_so_two_stacks_can_share_an_account() -> None:
    for body in of_type("AWS::Config::ConfigRule").values():
        assert body["Properties"]["ConfigRuleName"]["Fn::Sub"].startswith("${AWS::StackName}-")
    schedule = RESOURCES["SweepFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
    assert schedule["Name"] == {"Fn::Sub": "${AWS::StackName}-sweep"}


def test_heartbeat_alarm_waits_two_sweep_periods() -> None:
    # Given each allowed schedule
    schedules = TEMPLATE["Mappings"]["SweepSchedule"]
    allowed = TEMPLATE["Parameters"]["SweepScheduleHours"]["AllowedValues"]
    assert sorted(schedules, key=int) == allowed
    for hours, row in schedules.items():
        # Then the heartbeat period is one sweep interval and the expression names it
        assert row["HeartbeatSeconds"] == int(hours) * 3600
        unit = "hour" if hours == "1" else "hours"
        assert row["Expression"] == f"rate({hours} {unit})"
    alarm = RESOURCES["SweepHeartbeatMissing"]["Properties"]
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 2)
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "rolewarden-sweep"}]


def test_the_schedule_sends_the_sample_sweep_event() -> None:
    schedule = RESOURCES["SweepFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
    sample = (ROOT / "events" / "schedule-sweep.json").read_text()
    assert json.loads(schedule["Input"]) == json.loads(sample)


def _granted(role: str) -> set[str]:
    return granted_to_role(RESOURCES, role)


WRITES = ("Detach", "Attach", "Delete", "Put", "Associate", "Replace", "Disassociate", "Modify")


def test_the_remediate_role_grants_what_its_actions_declare() -> None:
    # Given the actions the remediate function may run (not the CLI-only one)
    declared = {
        permission
        for name, action in ACTIONS.items()
        if name not in CLI_ONLY
        for permission in action.permissions
    }
    granted = _granted("RemediateFunctionRole")
    # Then its role grants each permission they declare
    assert declared - granted == set()
    # And every IAM or EC2 change it may make is one an action declares
    changes = {
        action
        for action in granted
        if action.split(":")[0] in ("iam", "ec2") and action.split(":")[1].startswith(WRITES)
    }
    assert changes - declared == set()


def test_only_the_remediate_role_changes_anything() -> None:
    for function in ("ConfigRuleFunction", "EventFunction", "SweepFunction"):
        role = RESOURCES[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        changes = {
            action
            for action in _granted(role)
            if action.split(":")[0] in ("iam", "ec2", "ecs")
            and action.split(":")[1].startswith(WRITES)
        }
        assert changes == set(), function
        journal = [
            statement
            for document in role_policies(RESOURCES, role)
            for statement in statements(document)
            if "JournalTable" in json.dumps(statement.get("Resource"))
        ]
        assert journal == [], function


def test_the_only_role_ever_passed_is_the_baseline_profiles_role_and_only_to_ec2() -> None:
    documents = [RESOURCES["RoleWardenBoundary"]["Properties"]["PolicyDocument"]] + [
        document
        for role in of_type("AWS::IAM::Role")
        for document in role_policies(RESOURCES, role)
    ]
    passing = [
        statement
        for document in documents
        for statement in statements(document)
        if "iam:PassRole" in actions(statement)
    ]
    assert len(passing) == 2  # the boundary and the remediate role
    instances = {
        "iam:AssociatedResourceARN": {
            "Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"
        }
    }
    for statement in passing:
        assert statement["Resource"] == {"Ref": "BaselineInstanceProfileRoleArn"}
        condition = dict(statement["Condition"])
        # The remediate role narrows it further, to the account's instances.
        assert condition.pop("ArnLike", instances) == instances
        assert condition == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_automatic_remediations_go_to_the_stacks_remediate_function() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    name = RESOURCES["RemediateFunction"]["Properties"]["FunctionName"]
    assert variables["ROLEWARDEN_REMEDIATE_FUNCTION"] == name
    assert variables["ROLEWARDEN_IDEMPOTENCY_TABLE"] == {"Ref": "IdempotencyTable"}


WRITE_ITEMS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}
FUNCTION_ROLES = {"ConfigRuleFunctionRole", "EventFunctionRole", "SweepFunctionRole"}


def _writers(table: str) -> set[str]:
    """The roles whose unique ids a table's Deny of item writes lets through."""
    policy = RESOURCES[table]["Properties"]["ResourcePolicy"]["PolicyDocument"]
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert set(deny["Action"]) == WRITE_ITEMS
    assert list(deny["Condition"]) == ["StringNotLike"]
    ids = deny["Condition"]["StringNotLike"]["aws:userid"]
    ids = ids if isinstance(ids, list) else [ids]
    roles = set()
    for item in ids:
        text = item["Fn::Sub"]
        assert text.startswith("${") and text.endswith(".RoleId}:*"), text
        roles.add(text[2 : -len(".RoleId}:*")])
    return roles


def test_only_the_remediate_role_may_write_the_journal() -> None:
    # Every item write by anyone but the remediate role (named by its unique id, which no
    # role made later can have) is denied: no forged entry can be "restored"
    assert _writers("JournalTable") == {"RemediateFunctionRole"}
    # And what the table allows, it allows that role only
    policy = resource_policies(RESOURCES)["JournalTable"]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert {role for s in allows for role in principal_roles(s)} == {"RemediateFunctionRole"}


def test_only_rolewarden_may_write_the_findings_state() -> None:
    # Editing it would silence alerts: only the four functions' roles, by unique id
    assert _writers("FindingsTable") == FUNCTION_ROLES | {"RemediateFunctionRole"}


def test_no_policy_trusts_a_path_or_a_role_name_pattern() -> None:
    # Anyone who may create roles can use a path (or a name) that a pattern allows: ARN
    # patterns may only name what is not a principal (the account's instances)
    text = json.dumps(RESOURCES)
    assert "aws:PrincipalArn" not in text
    patterns = [
        (key, json.dumps(value))
        for condition in _conditions(RESOURCES)
        for operator, block in condition.items()
        if operator.startswith(("ArnLike", "ArnNotLike"))
        for key, value in block.items()
    ]
    assert patterns  # the PassRole statement's instances
    for key, value in patterns:
        assert key.lower() == "iam:associatedresourcearn", key
        assert ":iam::" not in value and ":role/" not in value, value


def _conditions(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Condition" and isinstance(value, dict):
                yield value
            else:
                yield from _conditions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _conditions(item)


def test_the_journal_key_signs_for_the_remediate_role_only() -> None:
    key = RESOURCES["JournalKey"]
    properties = key["Properties"]
    assert (properties["KeySpec"], properties["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    assert key["DeletionPolicy"] == "Retain"  # as the journal is
    signing = {"kms:GenerateMac", "kms:VerifyMac"}
    for statement in properties["KeyPolicy"]["Statement"]:
        granted = actions(statement)
        if principal_roles(statement):
            assert principal_roles(statement) == {"RemediateFunctionRole"}
            assert granted == signing
        else:  # the account administers, and cannot sign (no kms:*, no Mac)
            assert statement["Principal"]["AWS"]["Fn::Sub"].endswith(":root")
            assert not any(a == "kms:*" or "Mac" in a for a in granted), granted
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["ROLEWARDEN_JOURNAL_KEY"] == {"Fn::GetAtt": ["JournalKey", "Arn"]}


def test_the_sweeps_schedule_may_invoke_it_under_the_boundary() -> None:
    # SAM puts the schedule's role under the boundary: it must allow invoking the sweep
    boundary = statements(RESOURCES["RoleWardenBoundary"]["Properties"]["PolicyDocument"])
    invoke = next(s for s in boundary if "lambda:InvokeFunction" in actions(s))
    sweep = RESOURCES["SweepFunction"]["Properties"]["FunctionName"]["Fn::Sub"]
    assert any(arn["Fn::Sub"].endswith(f":function:{sweep}") for arn in invoke["Resource"])


def test_every_function_may_alert_and_only_the_sweep_resolves_findings() -> None:
    topic_policy = RESOURCES["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    publishers = next(s for s in topic_policy if s["Sid"] == "RoleWardenFunctionsPublish")
    roles = {
        body["Properties"]["Role"]["Fn::GetAtt"][0]
        for body in of_type("AWS::Serverless::Function").values()
    }
    assert {arn["Fn::GetAtt"][0] for arn in publishers["Principal"]["AWS"]} == roles
    for role in roles:
        granted = _granted(role)
        assert {"sns:Publish", "secretsmanager:GetSecretValue"} <= granted, role
        scans_findings = "dynamodb:Scan" in granted
        assert scans_findings == (role == "SweepFunctionRole"), role


def test_a_slack_secret_on_a_customer_key_is_decrypted_through_secrets_manager_only() -> None:
    # Given the boundary and every function role's policies, as written (conditions kept)
    roles = {
        body["Properties"]["Role"]["Fn::GetAtt"][0]
        for body in of_type("AWS::Serverless::Function").values()
    }
    documents = [RESOURCES["RoleWardenBoundary"]["Properties"]["PolicyDocument"]] + [
        document for role in sorted(roles) for document in role_policies(RESOURCES, role)
    ]
    key_grants = [
        statement["Fn::If"]
        for document in documents
        for statement in document["Statement"]
        if "Fn::If" in statement and statement["Fn::If"][1].get("Sid") == "SlackWebhookKey"
    ]
    # Then the boundary and each role may decrypt with SlackSecretKmsKeyArn, only when
    # Slack is set up with that key, and only for Secrets Manager
    assert len(key_grants) == 1 + len(roles)
    for condition, statement, otherwise in key_grants:
        assert (condition, otherwise) == ("SlackSecretOnOwnKey", {"Ref": "AWS::NoValue"})
        assert statement == {
            "Sid": "SlackWebhookKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": {"Ref": "SlackSecretKmsKeyArn"},
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
                }
            },
        }
    assert TEMPLATE["Conditions"]["SlackSecretOnOwnKey"] == {
        "Fn::And": [
            {"Condition": "HasSlack"},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "SlackSecretKmsKeyArn"}, ""]}]},
        ]
    }


def test_the_bytecode_is_built_by_the_runtimes_own_python() -> None:
    # Given the functions' runtime (bytecode of another minor version is ignored: every
    # cold start would compile from source again, silently)
    runtime = TEMPLATE["Globals"]["Function"]["Runtime"]
    version = runtime.removeprefix("python")
    # Then both Makefiles compile with that Python, the layer installs wheels for it, and
    # the layers and the benchmarks say the same runtime
    functions = (ROOT / "functions" / "Makefile").read_text()
    layer = (ROOT / "layers" / "dependencies" / "Makefile").read_text()
    assert f"RUNTIME_PYTHON ?= {runtime}\n" in functions
    assert f"RUNTIME_PYTHON ?= {runtime}\n" in layer
    assert f"PYTHON_VERSION := {version}\n" in layer
    for name in ("DependenciesLayerArm64", "DependenciesLayerX86"):
        assert RESOURCES[name]["Properties"]["CompatibleRuntimes"] == [runtime]
    assert runtime == RUNTIME
