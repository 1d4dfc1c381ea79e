"""evaluate_role: union of Allows, intersected with the boundary, minus unconditional Denies."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from rolewarden.policy.catalogue import ActionCatalogue
from rolewarden.policy.evaluate import (
    DenyNote,
    GrantSource,
    PolicyError,
    PolicyInput,
    PolicyRef,
    evaluate_role,
)

ACCOUNT = "111122223333"
APP_INLINE = PolicyRef(kind="inline", name="app")
APP_MANAGED = PolicyRef(
    kind="managed", name="AppAccess", arn=f"arn:aws:iam::{ACCOUNT}:policy/AppAccess"
)
GUARDRAIL = PolicyRef(
    kind="managed", name="Guardrail", arn=f"arn:aws:iam::{ACCOUNT}:policy/Guardrail"
)
BOUNDARY = PolicyRef(
    kind="managed", name="HostBoundary", arn=f"arn:aws:iam::{ACCOUNT}:policy/HostBoundary"
)
IN_VPC = {"StringEquals": {"aws:SourceVpc": "vpc-0abc"}}


def statement(effect: str, action: str | list[str] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": effect, **fields}
    if action is not None:
        body["Action"] = action
    if "NotResource" not in fields:
        body.setdefault("Resource", "*")
    return body


def allow(action: str | list[str] | None = None, **fields: Any) -> dict[str, Any]:
    return statement("Allow", action, **fields)


def deny(action: str | list[str] | None = None, **fields: Any) -> dict[str, Any]:
    return statement("Deny", action, **fields)


def policy(ref: PolicyRef, *statements: dict[str, Any]) -> PolicyInput:
    return PolicyInput(ref=ref, document={"Version": "2012-10-17", "Statement": list(statements)})


# --- Allows --------------------------------------------------------------------------------


def test_star_grants_every_action(catalogue: ActionCatalogue) -> None:
    # Given an inline policy allowing "*" on "*"
    # When the role is evaluated
    evaluation = evaluate_role([policy(APP_INLINE, allow("*"))], catalogue)
    # Then every action in the catalogue is granted, by that statement, on every resource
    assert evaluation.grants.keys() == catalogue.expand("*")
    grant = evaluation.grants["iam:passrole"]
    assert grant.info.name == "iam:PassRole"
    assert grant.sources == [
        GrantSource(
            policy=APP_INLINE,
            statement="Statement[0]",
            pattern="*",
            resources=("*",),
            conditional=False,
        )
    ]
    assert grant.conditional is False
    assert evaluation.errors == []
    assert evaluation.denied == frozenset()


def test_prefix_wildcard_grants_exactly_the_expanded_actions(catalogue: ActionCatalogue) -> None:
    # Given a policy allowing s3:Get*
    # When the role is evaluated
    evaluation = evaluate_role([policy(APP_INLINE, allow("s3:Get*"))], catalogue)
    # Then exactly the s3 Get actions are granted, with canonical names
    assert evaluation.grants.keys() == catalogue.expand("s3:Get*")
    assert evaluation.grants["s3:getobject"].info.name == "s3:GetObject"
    assert "s3:putobject" not in evaluation.grants


def test_literal_actions_are_granted_whatever_their_case(catalogue: ActionCatalogue) -> None:
    # Given a policy naming actions in odd cases
    evaluation = evaluate_role(
        [policy(APP_INLINE, allow(["S3:getobject", "SQS:SendMessage"]))], catalogue
    )
    # Then they are granted under their canonical names
    assert {key: grant.info.name for key, grant in evaluation.grants.items()} == {
        "s3:getobject": "s3:GetObject",
        "sqs:sendmessage": "sqs:SendMessage",
    }
    assert evaluation.grants["s3:getobject"].sources[0].pattern == "S3:getobject,SQS:SendMessage"


def test_not_action_allow_grants_everything_except_the_listed(catalogue: ActionCatalogue) -> None:
    # Given an Allow with NotAction iam:* and sts:*
    role = [policy(APP_INLINE, allow(NotAction=["iam:*", "sts:*"], Sid="AllButIdentity"))]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then everything but IAM and STS is granted
    expected = catalogue.expand("*") - catalogue.expand("iam:*") - catalogue.expand("sts:*")
    assert evaluation.grants.keys() == expected
    assert "iam:passrole" not in evaluation.grants
    assert "sts:assumerole" not in evaluation.grants
    source = evaluation.grants["s3:getobject"].sources[0]
    assert (source.statement, source.pattern) == ("AllButIdentity", "NotAction:iam:*,sts:*")


def test_policies_are_unioned_and_each_source_recorded(catalogue: ActionCatalogue) -> None:
    # Given an inline and a managed policy both granting s3:GetObject, one also s3:PutObject
    role = [
        policy(APP_INLINE, allow("s3:GetObject", Resource="arn:aws:s3:::orders/*", Sid="Read")),
        policy(APP_MANAGED, allow(["s3:GetObject", "s3:PutObject"], Sid="ReadWrite")),
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then the grant lists both sources, the union of resources, and granted_by splits them
    assert evaluation.grants.keys() == {"s3:getobject", "s3:putobject"}
    get_object = evaluation.grants["s3:getobject"]
    assert [(s.policy, s.statement) for s in get_object.sources] == [
        (APP_INLINE, "Read"),
        (APP_MANAGED, "ReadWrite"),
    ]
    assert get_object.resources == ("*", "arn:aws:s3:::orders/*")
    assert [g.info.name for g in evaluation.granted_by(APP_INLINE).values()] == ["s3:GetObject"]
    assert sorted(g.info.name for g in evaluation.granted_by(APP_MANAGED).values()) == [
        "s3:GetObject",
        "s3:PutObject",
    ]


def test_a_policy_whose_source_a_deny_removed_no_longer_grants_the_action(
    catalogue: ActionCatalogue,
) -> None:
    # Given s3:GetObject allowed by the inline policy on exports/* and by the managed one on
    # reports/*, and a Deny of s3:GetObject on exports/*
    role = [
        policy(APP_INLINE, allow("s3:GetObject", Resource="arn:aws:s3:::exports/*", Sid="Read")),
        policy(APP_MANAGED, allow("s3:GetObject", Resource="arn:aws:s3:::reports/*", Sid="Rep")),
        policy(GUARDRAIL, deny("s3:GetObject", Resource="arn:aws:s3:::exports/*")),
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then the action is still granted, by the managed policy alone, on reports/* only
    assert [(s.policy, s.resources) for s in evaluation.grants["s3:getobject"].sources] == [
        (APP_MANAGED, ("arn:aws:s3:::reports/*",))
    ]
    assert dict(evaluation.granted_by(APP_INLINE)) == {}
    assert list(evaluation.granted_by(APP_MANAGED)) == ["s3:getobject"]


def test_resource_scope_of_a_grant_is_recorded(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on two buckets in two statements, and on all but one bucket
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject", Resource="arn:aws:s3:::orders/*"),
            allow("s3:GetObject", Resource=["arn:aws:s3:::invoices/*"]),
            allow("s3:PutObject", NotResource="arn:aws:s3:::audit/*"),
        )
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then each grant carries its sorted resource scope, NotResource marked as such
    assert evaluation.grants["s3:getobject"].resources == (
        "arn:aws:s3:::invoices/*",
        "arn:aws:s3:::orders/*",
    )
    assert evaluation.grants["s3:putobject"].resources == ("NotResource:arn:aws:s3:::audit/*",)


def test_conditional_allow_still_grants_marked_conditional(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed only from one VPC
    role = [policy(APP_INLINE, allow("s3:GetObject", Condition=IN_VPC))]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then it is granted, and marked conditional
    grant = evaluation.grants["s3:getobject"]
    assert grant.conditional is True
    assert grant.sources[0].conditional is True


def test_action_also_allowed_unconditionally_is_not_conditional(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed conditionally in one policy and unconditionally in another
    role = [
        policy(APP_INLINE, allow("s3:GetObject", Condition=IN_VPC)),
        policy(APP_MANAGED, allow("s3:GetObject")),
    ]
    # When the role is evaluated
    grant = evaluate_role(role, catalogue).grants["s3:getobject"]
    # Then the grant is not conditional (one way in needs no condition)
    assert grant.conditional is False
    assert [source.conditional for source in grant.sources] == [True, False]


def test_unknown_literal_action_is_granted_with_unknown_level(catalogue: ActionCatalogue) -> None:
    # Given an action newer than the catalogue
    role = [policy(APP_INLINE, allow("bedrock:InvokeFutureModel"))]
    # When the role is evaluated
    grant = evaluate_role(role, catalogue).grants["bedrock:invokefuturemodel"]
    # Then it is granted, unknown, level Unknown
    assert grant.info.known is False
    assert grant.info.access_level == "Unknown"


def test_url_encoded_and_json_string_documents_are_evaluated(catalogue: ActionCatalogue) -> None:
    # Given one policy as IAM returns it (URL-encoded) and one as a JSON string
    encoded = json.dumps({"Version": "2012-10-17", "Statement": [allow("sqs:SendMessage")]})
    plain = json.dumps({"Version": "2012-10-17", "Statement": [allow("sns:Publish")]})
    role = [PolicyInput(APP_MANAGED, quote(encoded)), PolicyInput(APP_INLINE, plain)]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then both are read
    assert evaluation.grants.keys() == {"sqs:sendmessage", "sns:publish"}
    assert evaluation.errors == []


def test_evaluate_uses_exactly_the_document_version_it_is_given(catalogue: ActionCatalogue) -> None:
    # Given two versions of the same managed policy: v1 (old) grants s3:*, v2 (default)
    # grants only sqs:SendMessage; the caller passes one PolicyInput per call
    v1 = policy(APP_MANAGED, allow("s3:*"))
    v2 = policy(APP_MANAGED, allow("sqs:SendMessage"))
    # When the role is evaluated with each
    with_v1 = evaluate_role([v1], catalogue)
    with_v2 = evaluate_role([v2], catalogue)
    # Then each reflects only the document it was given
    assert with_v2.grants.keys() == {"sqs:sendmessage"}
    assert with_v1.grants.keys() == catalogue.expand("s3:*")
    assert with_v2.documents[APP_MANAGED.key].statements[0].actions == ("sqs:SendMessage",)


def test_role_without_policies_is_granted_nothing(catalogue: ActionCatalogue) -> None:
    # Given / When a role with no policy is evaluated
    evaluation = evaluate_role([], catalogue)
    # Then nothing is granted and nothing failed
    assert (evaluation.grants, evaluation.errors, evaluation.boundary) == ({}, [], None)


# --- Denies --------------------------------------------------------------------------------


def test_unconditional_deny_on_every_resource_removes_the_action(
    catalogue: ActionCatalogue,
) -> None:
    # Given s3:GetObject and s3:PutObject allowed, s3:PutObject denied on "*"
    role = [policy(APP_INLINE, allow(["s3:GetObject", "s3:PutObject"]), deny("s3:PutObject"))]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then s3:PutObject is denied, s3:GetObject stays untouched
    assert evaluation.grants.keys() == {"s3:getobject"}
    assert evaluation.denied == {"s3:putobject"}
    assert evaluation.grants["s3:getobject"].partial_denies == []


def test_wildcard_deny_in_another_policy_removes_the_grant(catalogue: ActionCatalogue) -> None:
    # Given one policy granting s3:GetObject and sqs:SendMessage, a guardrail denying s3:*
    role = [
        policy(APP_MANAGED, allow(["s3:GetObject", "sqs:SendMessage"])),
        policy(GUARDRAIL, deny("s3:*")),
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then only s3:GetObject is removed; denied lists what was actually granted
    assert evaluation.grants.keys() == {"sqs:sendmessage"}
    assert evaluation.denied == {"s3:getobject"}


def test_deny_with_star_among_resources_covers_every_resource(catalogue: ActionCatalogue) -> None:
    # Given a Deny whose Resource list includes "*" next to an ARN
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject"),
            deny("s3:GetObject", Resource=["arn:aws:s3:::orders/*", "*"]),
        )
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then the action is removed
    assert evaluation.grants == {}
    assert evaluation.denied == {"s3:getobject"}


def test_not_action_deny_removes_everything_else(catalogue: ActionCatalogue) -> None:
    # Given an Allow of "*" and a Deny of everything except s3:GetObject
    role = [policy(APP_INLINE, allow("*"), deny(NotAction="s3:GetObject"))]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then only s3:GetObject is left
    assert evaluation.grants.keys() == {"s3:getobject"}
    assert evaluation.denied == catalogue.expand("*") - {"s3:getobject"}


def test_deny_of_an_action_not_granted_changes_nothing(catalogue: ActionCatalogue) -> None:
    # Given a guardrail denying iam:* on a role that only reads S3
    role = [policy(APP_INLINE, allow("s3:GetObject")), policy(GUARDRAIL, deny("iam:*"))]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then the grant is untouched and nothing is reported denied
    assert evaluation.grants.keys() == {"s3:getobject"}
    assert evaluation.denied == frozenset()


def test_conditional_deny_is_recorded_as_partial_and_the_grant_stays(
    catalogue: ActionCatalogue,
) -> None:
    # Given s3:GetObject allowed and denied outside one VPC (a conditional Deny)
    condition = {"StringNotEquals": {"aws:SourceVpc": "vpc-0abc"}}
    role = [
        policy(APP_INLINE, allow("s3:GetObject")),
        policy(GUARDRAIL, deny("s3:*", Sid="OnlyFromVpc", Condition=condition)),
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then the grant stays, with a note naming the policy and the statement
    grant = evaluation.grants["s3:getobject"]
    assert evaluation.denied == frozenset()
    assert grant.partial_denies == [
        DenyNote(
            policy=GUARDRAIL,
            statement="OnlyFromVpc",
            resources=("*",),
            conditional=True,
            in_boundary=False,
        )
    ]


def test_resource_scoped_deny_is_recorded_as_partial_and_the_grant_stays(
    catalogue: ActionCatalogue,
) -> None:
    # Given s3:GetObject allowed on "*" and denied on the payroll bucket only
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject"),
            deny("s3:GetObject", Resource="arn:aws:s3:::payroll/*"),
        )
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then the grant stays, the note names the statement (by index) and the resource
    assert evaluation.grants["s3:getobject"].partial_denies == [
        DenyNote(
            policy=APP_INLINE,
            statement="Statement[1]",
            resources=("arn:aws:s3:::payroll/*",),
            conditional=False,
        )
    ]
    assert evaluation.denied == frozenset()


def test_not_resource_deny_is_recorded_as_partial(catalogue: ActionCatalogue) -> None:
    # Given a Deny on every resource except one bucket
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject"),
            deny("s3:GetObject", NotResource="arn:aws:s3:::public/*", Sid="OnlyPublic"),
        )
    ]
    # When the role is evaluated
    grant = evaluate_role(role, catalogue).grants["s3:getobject"]
    # Then the grant stays (the public bucket is still readable), noted as partial
    assert [(n.statement, n.resources) for n in grant.partial_denies] == [
        ("OnlyPublic", ("NotResource:arn:aws:s3:::public/*",))
    ]


def test_wildcard_deny_removes_an_unknown_literal_action(catalogue: ActionCatalogue) -> None:
    # Given an action the catalogue does not know, allowed literally, and a guardrail
    # denying s3:* on every resource
    role = [
        policy(APP_INLINE, allow(["s3:PutObjectFutureFeature", "sqs:SendMessage"])),
        policy(GUARDRAIL, deny("s3:*")),
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then the wildcard Deny covers the unknown s3 action too (IAM matches names, not a list)
    assert evaluation.grants.keys() == {"sqs:sendmessage"}
    assert evaluation.denied == {"s3:putobjectfuturefeature"}


# --- permissions boundary ------------------------------------------------------------------


def test_boundary_removes_application_actions(catalogue: ActionCatalogue) -> None:
    # Given a role granting S3, DynamoDB and ECS agent actions, and a boundary allowing
    # only ecs:* and logs:*
    role = [policy(APP_INLINE, allow(["s3:GetObject", "dynamodb:PutItem", "ecs:Poll"]))]
    boundary = policy(BOUNDARY, allow(["ecs:*", "logs:*"]))
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue, boundary)
    # Then only the ECS action remains, the rest is outside the boundary
    assert evaluation.grants.keys() == {"ecs:poll"}
    assert evaluation.outside_boundary == {"s3:getobject", "dynamodb:putitem"}
    assert evaluation.boundary == BOUNDARY
    assert evaluation.grants["ecs:poll"].conditional is False


def test_boundary_allowing_only_conditionally_marks_the_grant_conditional(
    catalogue: ActionCatalogue,
) -> None:
    # Given an unconditional Allow of s3:GetObject and a boundary allowing s3:* only in a VPC
    role = [policy(APP_INLINE, allow("s3:GetObject"))]
    boundary = policy(BOUNDARY, allow("s3:*", Condition=IN_VPC))
    # When the role is evaluated
    grant = evaluate_role(role, catalogue, boundary).grants["s3:getobject"]
    # Then the grant stays, conditional because of the boundary
    assert grant.boundary_conditional is True
    assert grant.conditional is True
    assert grant.sources[0].conditional is False


def test_boundary_allowing_also_unconditionally_is_not_conditional(
    catalogue: ActionCatalogue,
) -> None:
    # Given a boundary allowing s3:* under a condition and s3:GetObject without one
    role = [policy(APP_INLINE, allow(["s3:GetObject", "s3:PutObject"]))]
    boundary = policy(BOUNDARY, allow("s3:*", Condition=IN_VPC), allow("s3:GetObject"))
    # When the role is evaluated
    grants = evaluate_role(role, catalogue, boundary).grants
    # Then only s3:PutObject is boundary-conditional
    assert grants["s3:getobject"].conditional is False
    assert grants["s3:putobject"].conditional is True


def test_boundary_with_only_denies_allows_nothing(catalogue: ActionCatalogue) -> None:
    # Given a boundary without any Allow
    role = [policy(APP_INLINE, allow(["s3:GetObject", "ecs:Poll"]))]
    boundary = policy(BOUNDARY, deny("iam:*"))
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue, boundary)
    # Then nothing is granted: a boundary must allow what the role uses
    assert evaluation.grants == {}
    assert evaluation.outside_boundary == {"s3:getobject", "ecs:poll"}


def test_unconditional_deny_in_the_boundary_removes_the_action(catalogue: ActionCatalogue) -> None:
    # Given a boundary allowing "*" but denying s3:* on every resource
    role = [policy(APP_INLINE, allow(["s3:GetObject", "sqs:SendMessage"]))]
    boundary = policy(BOUNDARY, allow("*"), deny("s3:*"))
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue, boundary)
    # Then the boundary's Deny counts like any other
    assert evaluation.grants.keys() == {"sqs:sendmessage"}
    assert evaluation.denied == {"s3:getobject"}
    assert evaluation.outside_boundary == frozenset()


def test_conditional_deny_in_the_boundary_is_noted_as_from_the_boundary(
    catalogue: ActionCatalogue,
) -> None:
    # Given a boundary allowing "*" and denying s3:* unless over TLS
    insecure = {"Bool": {"aws:SecureTransport": "false"}}
    role = [policy(APP_INLINE, allow("s3:GetObject"))]
    boundary = policy(BOUNDARY, allow("*"), deny("s3:*", Sid="TlsOnly", Condition=insecure))
    # When the role is evaluated
    grant = evaluate_role(role, catalogue, boundary).grants["s3:getobject"]
    # Then the grant stays with a partial note flagged as the boundary's
    assert grant.partial_denies == [
        DenyNote(
            policy=BOUNDARY,
            statement="TlsOnly",
            resources=("*",),
            conditional=True,
            in_boundary=True,
        )
    ]


def test_boundary_wildcard_keeps_an_unknown_literal_action(catalogue: ActionCatalogue) -> None:
    # Given an action newer than the catalogue, and a boundary allowing s3:*
    role = [policy(APP_INLINE, allow(["s3:PutObjectFutureFeature", "sqs:SendMessage"]))]
    boundary = policy(BOUNDARY, allow("s3:*"))
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue, boundary)
    # Then the boundary's wildcard allows the unknown action too: it must not vanish
    assert evaluation.grants.keys() == {"s3:putobjectfuturefeature"}
    assert evaluation.outside_boundary == {"sqs:sendmessage"}


def test_star_boundary_keeps_every_grant(catalogue: ActionCatalogue) -> None:
    # Given a boundary allowing "*"
    role = [policy(APP_INLINE, allow(["s3:GetObject", "newsvc:DoThing"]))]
    boundary = policy(BOUNDARY, allow("*"))
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue, boundary)
    # Then nothing is outside it, not even an action the catalogue does not know
    assert evaluation.grants.keys() == {"s3:getobject", "newsvc:dothing"}
    assert evaluation.outside_boundary == frozenset()


# --- unreadable documents ------------------------------------------------------------------


def test_malformed_policy_is_reported_and_the_others_still_evaluated(
    catalogue: ActionCatalogue,
) -> None:
    # Given one policy that is not JSON, one missing Resource, and one valid policy
    broken = PolicyInput(APP_MANAGED, "{not json")
    incomplete = policy(GUARDRAIL, {"Effect": "Deny", "Action": "s3:*"})
    valid = policy(APP_INLINE, allow("s3:GetObject"))
    # When the role is evaluated
    evaluation = evaluate_role([broken, incomplete, valid], catalogue)
    # Then each unreadable policy is reported with its reason and the valid one still counts
    assert evaluation.errors == [
        PolicyError(
            policy=APP_MANAGED,
            reason="policy is not valid JSON: Expecting property name enclosed in double quotes"
            " at char 1",
        ),
        PolicyError(
            policy=GUARDRAIL,
            reason="Statement[0]: exactly one of Resource and NotResource is required",
        ),
    ]
    assert evaluation.grants.keys() == {"s3:getobject"}
    assert set(evaluation.documents) == {APP_INLINE.key}


def test_malformed_boundary_is_reported_and_grants_are_not_hidden(
    catalogue: ActionCatalogue,
) -> None:
    # Given a valid policy and a boundary that cannot be read
    role = [policy(APP_INLINE, allow("s3:GetObject"))]
    boundary = PolicyInput(BOUNDARY, {"Version": "2012-10-17"})
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue, boundary)
    # Then the boundary error is reported and the grant is still shown (fail visible)
    assert evaluation.errors == [PolicyError(policy=BOUNDARY, reason="policy has no Statement")]
    assert evaluation.grants.keys() == {"s3:getobject"}
    assert evaluation.outside_boundary == frozenset()


# --- policy references ---------------------------------------------------------------------


def test_policy_ref_keys_and_owner() -> None:
    # Given an inline policy, a customer managed policy and an AWS managed policy
    aws = PolicyRef(
        kind="managed",
        name="AmazonSSMManagedInstanceCore",
        arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    )
    # When they are described
    # Then inline policies are keyed by name, managed ones by ARN, and the owner is right
    assert APP_INLINE.key == "inline:app"
    assert APP_MANAGED.key == APP_MANAGED.arn
    assert (APP_INLINE.aws_managed, APP_MANAGED.aws_managed, aws.aws_managed) == (
        False,
        False,
        True,
    )
    assert aws.as_json() == {
        "name": "AmazonSSMManagedInstanceCore",
        "arn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        "type": "managed",
        "owner": "aws",
    }
    assert APP_INLINE.as_json() == {
        "name": "app",
        "arn": None,
        "type": "inline",
        "owner": "customer",
    }


def test_unknown_action_keeps_the_spelling_the_policy_used(catalogue: ActionCatalogue) -> None:
    # Given an action newer than the catalogue, written in the policy in its AWS spelling
    role = [policy(APP_INLINE, allow(["sqs:SendMessageToTheFuture"]))]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then the evidence names it as written, with an Unknown access level
    grant = evaluation.grants["sqs:sendmessagetothefuture"]
    assert grant.info.name == "sqs:SendMessageToTheFuture"
    assert grant.info.access_level == "Unknown"


# --- resources decide: Deny containment ----------------------------------------------------

EXPORTS = "arn:aws:s3:::exports/*"


def test_deny_on_the_same_resources_removes_the_grant(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on exports/* and denied on exactly that ARN
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject", Resource=EXPORTS),
            deny("s3:GetObject", Resource=EXPORTS),
        )
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then nothing is granted: the Deny covers every resource the Allow names
    assert evaluation.grants == {}
    assert evaluation.denied == {"s3:getobject"}


def test_deny_on_a_wider_glob_removes_the_grant(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on b/* and s3:* denied on arn:aws:s3:::* (`*` spans `/`)
    role = [
        policy(APP_INLINE, allow("s3:GetObject", Resource="arn:aws:s3:::b/*")),
        policy(GUARDRAIL, deny("s3:*", Resource="arn:aws:s3:::*")),
    ]
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue)
    # Then nothing is granted and nothing is partial
    assert evaluation.grants == {}
    assert evaluation.denied == {"s3:getobject"}


def test_deny_covering_some_of_the_resources_removes_those(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on two buckets and denied on one of them
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject", Resource=[EXPORTS, "arn:aws:s3:::reports/*"]),
            deny("s3:GetObject", Resource=EXPORTS, Sid="NoExports"),
        )
    ]
    # When the role is evaluated
    grant = evaluate_role(role, catalogue).grants["s3:getobject"]
    # Then the grant stays on the other bucket only; the Deny took what it covers
    assert grant.resources == ("arn:aws:s3:::reports/*",)
    assert grant.partial_denies == []


def test_deny_inside_the_allowed_resources_stays_partial(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on every bucket and denied on exports/* only
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject", Resource="arn:aws:s3:::*"),
            deny("s3:GetObject", Resource=EXPORTS, Sid="NoExports"),
        )
    ]
    # When the role is evaluated
    grant = evaluate_role(role, catalogue).grants["s3:getobject"]
    # Then the grant stays whole, with the Deny noted as partial
    assert grant.resources == ("arn:aws:s3:::*",)
    assert [(n.statement, n.resources) for n in grant.partial_denies] == [("NoExports", (EXPORTS,))]


def test_conditional_deny_on_the_same_resources_stays_partial(catalogue: ActionCatalogue) -> None:
    # Given the same ARN allowed and denied, the Deny only outside a VPC
    condition = {"StringNotEquals": {"aws:SourceVpc": "vpc-0abc"}}
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject", Resource=EXPORTS),
            deny("s3:GetObject", Resource=EXPORTS, Sid="VpcOnly", Condition=condition),
        )
    ]
    # When the role is evaluated
    grant = evaluate_role(role, catalogue).grants["s3:getobject"]
    # Then the grant stays, noted as partial and conditional
    assert [(n.statement, n.conditional) for n in grant.partial_denies] == [("VpcOnly", True)]


def test_deny_elsewhere_leaves_no_note(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on exports/* and denied on payroll/* only
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject", Resource=EXPORTS),
            deny("s3:GetObject", Resource="arn:aws:s3:::payroll/*"),
        )
    ]
    # When the role is evaluated
    grant = evaluate_role(role, catalogue).grants["s3:getobject"]
    # Then the Deny cannot touch what is granted, so it is not even partial
    assert grant.partial_denies == []


def test_not_resource_deny_covers_what_it_does_not_except(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on payroll/* and denied on everything but public/*
    role = [
        policy(
            APP_INLINE,
            allow("s3:GetObject", Resource="arn:aws:s3:::payroll/*"),
            deny("s3:GetObject", NotResource="arn:aws:s3:::public/*"),
        )
    ]
    # When the role is evaluated / Then nothing is left: payroll is not public
    assert evaluate_role(role, catalogue).grants == {}


def test_denies_together_cover_what_neither_covers_alone(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on two buckets, each denied by its own guardrail statement
    role = [
        policy(APP_INLINE, allow("s3:GetObject", Resource=[EXPORTS, "arn:aws:s3:::reports/*"])),
        policy(
            GUARDRAIL,
            deny("s3:GetObject", Resource=EXPORTS),
            deny("s3:GetObject", Resource="arn:aws:s3:::reports/*"),
        ),
    ]
    # When the role is evaluated / Then nothing is granted
    assert evaluate_role(role, catalogue).denied == {"s3:getobject"}


# --- resources decide: boundaries intersect per resource ------------------------------------


def test_boundary_on_other_resources_grants_nothing(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on raw-data/*, under a boundary allowing it on curated-data/*
    role = [policy(APP_INLINE, allow("s3:GetObject", Resource="arn:aws:s3:::raw-data/*"))]
    boundary = policy(BOUNDARY, allow("s3:GetObject", Resource="arn:aws:s3:::curated-data/*"))
    # When the role is evaluated
    evaluation = evaluate_role(role, catalogue, boundary)
    # Then nothing is granted: the two never meet
    assert evaluation.grants == {}
    assert evaluation.outside_boundary == {"s3:getobject"}


def test_boundary_narrows_a_wide_grant_to_its_resources(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject allowed on every bucket, under a boundary allowing curated-data/*
    role = [policy(APP_INLINE, allow("s3:GetObject", Resource="arn:aws:s3:::*"))]
    boundary = policy(BOUNDARY, allow("s3:*", Resource="arn:aws:s3:::curated-data/*"))
    # When the role is evaluated
    grant = evaluate_role(role, catalogue, boundary).grants["s3:getobject"]
    # Then what is granted is what the boundary leaves
    assert grant.resources == ("arn:aws:s3:::curated-data/*",)


def test_boundary_not_resource_excluding_the_grant_grants_nothing(
    catalogue: ActionCatalogue,
) -> None:
    # Given s3:GetObject on raw-data/*, under a boundary allowing s3:* on all but raw-data
    role = [policy(APP_INLINE, allow("s3:GetObject", Resource="arn:aws:s3:::raw-data/*"))]
    boundary = policy(BOUNDARY, allow("s3:*", NotResource="arn:aws:s3:::raw-data/*"))
    # When the role is evaluated / Then nothing is granted
    assert evaluate_role(role, catalogue, boundary).grants == {}


def test_not_resource_grant_under_a_boundary_on_its_exception_grants_nothing(
    catalogue: ActionCatalogue,
) -> None:
    # Given s3:GetObject on all but curated-data, under a boundary allowing curated-data only
    role = [policy(APP_INLINE, allow("s3:GetObject", NotResource="arn:aws:s3:::curated-data/*"))]
    boundary = policy(BOUNDARY, allow("s3:GetObject", Resource="arn:aws:s3:::curated-data/*"))
    # When the role is evaluated / Then nothing is granted
    assert evaluate_role(role, catalogue, boundary).grants == {}


def test_boundary_on_overlapping_resources_keeps_the_grant(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject on raw-data/* under a boundary allowing every bucket's objects
    role = [policy(APP_INLINE, allow("s3:GetObject", Resource="arn:aws:s3:::raw-data/*"))]
    boundary = policy(BOUNDARY, allow("s3:*", Resource="arn:aws:s3:::*/*"))
    # When the role is evaluated
    grant = evaluate_role(role, catalogue, boundary).grants["s3:getobject"]
    # Then it is granted where the role asked
    assert grant.resources == ("arn:aws:s3:::raw-data/*",)


# --- resources decide: only actions that can act on the statement's resources ---------------


def test_star_on_one_bucket_grants_only_what_acts_on_its_objects(
    catalogue: ActionCatalogue,
) -> None:
    # Given Action "*" on the objects of one bucket
    role = [policy(APP_INLINE, allow("*", Resource="arn:aws:s3:::exports/*"))]
    # When the role is evaluated
    grants = evaluate_role(role, catalogue).grants
    # Then only S3 object actions are granted: no IAM, no bucket policy, no listing of buckets
    assert {grant.info.service for grant in grants.values()} == {"s3"}
    assert {"s3:getobject", "s3:putobject", "s3:deleteobject"} <= grants.keys()
    assert not {"iam:passrole", "s3:putbucketpolicy", "s3:listallmybuckets"} & grants.keys()


def test_not_action_on_one_bucket_grants_only_what_acts_on_the_bucket(
    catalogue: ActionCatalogue,
) -> None:
    # Given NotAction s3:Delete* on one bucket's ARN
    role = [policy(APP_INLINE, allow(NotAction="s3:Delete*", Resource="arn:aws:s3:::exports"))]
    # When the role is evaluated
    grants = evaluate_role(role, catalogue).grants
    # Then bucket actions of S3, minus the deletes; no object action, nothing of IAM
    assert "s3:putbucketpolicy" in grants
    assert not {"s3:getobject", "s3:deletebucket", "iam:createaccesskey"} & grants.keys()


def test_an_action_that_takes_no_resource_needs_star(catalogue: ActionCatalogue) -> None:
    # Given s3:ListAllMyBuckets (it acts on no resource) allowed on one bucket, and on "*"
    on_bucket = [policy(APP_INLINE, allow("s3:ListAllMyBuckets", Resource="arn:aws:s3:::b"))]
    on_star = [policy(APP_INLINE, allow("s3:ListAllMyBuckets"))]
    # When each is evaluated / Then only "*" grants it
    assert evaluate_role(on_bucket, catalogue).grants == {}
    assert evaluate_role(on_star, catalogue).grants.keys() == {"s3:listallmybuckets"}


def test_each_action_keeps_only_the_resources_it_can_act_on(catalogue: ActionCatalogue) -> None:
    # Given one statement granting an S3 and a DynamoDB action on a bucket and a table
    table = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders"
    role = [
        policy(
            APP_INLINE,
            allow(["s3:GetObject", "dynamodb:GetItem"], Resource=[EXPORTS, table]),
        )
    ]
    # When the role is evaluated
    grants = evaluate_role(role, catalogue).grants
    # Then each action is granted on its own kind of resource
    assert grants["s3:getobject"].resources == (EXPORTS,)
    assert grants["dynamodb:getitem"].resources == (table,)


def test_unknown_actions_are_granted_on_any_resource(catalogue: ActionCatalogue) -> None:
    # Given an action newer than the catalogue, on one bucket
    role = [policy(APP_INLINE, allow("s3:PutObjectFutureFeature", Resource=EXPORTS))]
    # When the role is evaluated / Then it is granted: what it acts on is unknown
    assert evaluate_role(role, catalogue).grants.keys() == {"s3:putobjectfuturefeature"}
