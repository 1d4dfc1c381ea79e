"""Which roles a template's inline-policy resources target, from JSON or YAML text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rolewarden.remediation.stack_templates import (
    InlinePolicy,
    TemplateError,
    inline_policies,
    load_template,
)

PSEUDO = {
    "AWS::StackName": "shop",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
}
DOCUMENT = {"Version": "2012-10-17", "Statement": []}


def policies(body: str | dict[str, Any], **parameters: str) -> list[InlinePolicy]:
    return inline_policies(load_template(body), parameters, PSEUDO)


def template(**resources: Any) -> dict[str, Any]:
    return {"Resources": resources}


def policy(roles: Any, name: Any = "orders") -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyName": name, "PolicyDocument": DOCUMENT, "Roles": roles},
    }


class TestJson:
    def test_policy_on_literal_roles(self) -> None:
        body = json.dumps(template(App=policy(["web-host", "batch-host"])))

        assert policies(body) == [InlinePolicy("App", "orders", ("web-host", "batch-host"), False)]

    def test_role_policy_names_one_role(self) -> None:
        resource = {
            "Type": "AWS::IAM::RolePolicy",
            "Properties": {"PolicyName": "orders", "RoleName": "web-host"},
        }

        assert policies(template(App=resource)) == [
            InlinePolicy("App", "orders", ("web-host",), False)
        ]

    def test_policy_for_users_only_targets_no_role(self) -> None:
        resource = {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p", "Users": ["u"]}}

        assert policies(template(App=resource)) == []

    def test_other_resources_are_not_inline_policies(self) -> None:
        managed = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Roles": ["web-host"]}}

        assert policies(template(App=managed)) == []


class TestResolved:
    def test_ref_to_a_parameter_takes_the_stacks_value_else_the_default(self) -> None:
        body = {
            "Parameters": {
                "HostRole": {"Type": "String", "Default": "default-host"},
                "Other": {"Type": "String", "Default": "other-host"},
            },
            **template(App=policy([{"Ref": "HostRole"}, {"Ref": "Other"}])),
        }

        [found] = policies(body, HostRole="web-host")

        assert (found.roles, found.unknown_roles) == (("web-host", "other-host"), False)

    def test_list_parameter_is_split(self) -> None:
        body = {
            "Parameters": {"Hosts": {"Type": "CommaDelimitedList"}},
            **template(App=policy({"Ref": "Hosts"})),
        }

        [found] = policies(body, Hosts="web-host, batch-host")

        assert found.roles == ("web-host", "batch-host")

    def test_sub_with_parameters_pseudo_parameters_and_variables(self) -> None:
        name = {"Fn::Sub": "${AWS::StackName}-${Env}-${AWS::Region}"}
        varied = {"Fn::Sub": ["${Prefix}-${AWS::AccountId}", {"Prefix": {"Ref": "Env"}}]}
        body = {
            "Parameters": {"Env": {"Type": "String"}},
            **template(App=policy([name, varied], name={"Fn::Sub": "${!Literal}-orders"})),
        }

        [found] = policies(body, Env="prod")

        assert found == InlinePolicy(
            "App", "${Literal}-orders", ("shop-prod-eu-west-1", "prod-123456789012"), False
        )

    def test_join_and_both_branches_of_an_if(self) -> None:
        joined = {"Fn::Join": ["-", [{"Ref": "AWS::StackName"}, "host"]]}
        either = {"Fn::If": ["IsProd", "prod-host", {"Ref": "AWS::NoValue"}]}

        [found] = policies(template(App=policy([joined, either])))

        assert (found.roles, found.unknown_roles) == (("shop-host", "prod-host"), False)

    def test_role_arn_is_read_as_its_name(self) -> None:
        [found] = policies(template(App=policy(["arn:aws:iam::123456789012:role/ops/web-host"])))

        assert found.roles == ("web-host",)


class TestTheStacksOwnRoles:
    def test_ref_getatt_or_name_of_a_role_the_template_creates_is_left_out(self) -> None:
        named = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "shop-own"}}
        generated = {"Type": "AWS::IAM::Role", "Properties": {}}
        body = template(
            Named=named,
            Generated=generated,
            App=policy([{"Ref": "Named"}, {"Ref": "Generated"}, "shop-own", "web-host"]),
        )

        [found] = policies(body)

        assert (found.roles, found.unknown_roles) == (("web-host",), False)


class TestUnknown:
    @pytest.mark.parametrize(
        "role",
        [
            {"Fn::ImportValue": "shared-host-role"},
            {"Fn::GetAtt": ["Elsewhere", "RoleName"]},
            {"Ref": "Undeclared"},
            {"Fn::Sub": "${Undeclared}-host"},
            {"Fn::Join": ["-", [{"Fn::ImportValue": "x"}, "host"]]},
        ],
        ids=["import", "getatt", "ref", "sub", "join"],
    )
    def test_unresolvable_role_is_unknown(self, role: Any) -> None:
        [found] = policies(template(App=policy(["web-host", role])))

        assert (found.roles, found.unknown_roles) == (("web-host",), True)

    def test_hidden_parameter_is_unknown_even_with_a_default(self) -> None:
        declared = {"Type": "String", "NoEcho": True, "Default": "default-host"}
        body = {"Parameters": {"HostRole": declared}, **template(App=policy([{"Ref": "HostRole"}]))}

        [found] = inline_policies(load_template(body), {"HostRole": None}, PSEUDO)

        assert (found.roles, found.unknown_roles) == ((), True)

    def test_unresolvable_policy_name_is_labelled_by_its_resource(self) -> None:
        [found] = policies(template(App=policy(["web-host"], name={"Fn::ImportValue": "x"})))

        assert (found.policy_name, found.label()) == (None, "of resource App")


YAML = """
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  HostRole: {Type: String}
Resources:
  Own:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: 2012-10-17, Statement: []}
  App:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: !Sub "${AWS::StackName}-orders"
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: dynamodb:GetItem
            Resource: !GetAtt Table.Arn
      Roles:
        - !Ref HostRole
        - !Ref Own
        - !Join [-, [!Ref "AWS::StackName", batch]]
        - !If [IsProd, !Sub "${HostRole}-prod", !Ref "AWS::NoValue"]
        - !ImportValue shared-role
  Single:
    Type: AWS::IAM::RolePolicy
    Properties:
      PolicyName: single
      RoleName: !Select [0, !Split [",", "a,b"]]
"""


class TestYaml:
    def test_short_forms_resolve_like_their_long_forms(self) -> None:
        found = policies(YAML, HostRole="web-host")

        assert found == [
            InlinePolicy("App", "shop-orders", ("web-host", "shop-batch", "web-host-prod"), True),
            InlinePolicy("Single", "single", (), True),
        ]

    def test_short_forms_load_as_long_forms(self) -> None:
        resources = load_template(YAML)["Resources"]

        assert resources["App"]["Properties"]["PolicyDocument"]["Statement"][0]["Resource"] == {
            "Fn::GetAtt": ["Table", "Arn"]
        }
        assert resources["Single"]["Properties"]["RoleName"] == {
            "Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]
        }

    @pytest.mark.parametrize(
        "body", ["Resources: [unclosed", "just text", "!!python/object:os.system x"]
    )
    def test_body_that_is_not_a_template_is_refused(self, body: str) -> None:
        with pytest.raises(TemplateError):
            load_template(body)
