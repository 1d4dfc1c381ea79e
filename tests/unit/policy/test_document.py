"""parse_policy_document: every shape AWS and people write, and every malformed one refused."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from rolewarden.policy.document import (
    PolicyDocument,
    PolicyParseError,
    Statement,
    parse_policy_document,
)

READ_ORDERS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": {
        "Sid": "ReadOrders",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::orders/*",
    },
}

READ_ORDERS_STATEMENT = Statement(
    effect="Allow",
    index=0,
    sid="ReadOrders",
    actions=("s3:GetObject",),
    resources=("arn:aws:s3:::orders/*",),
)


def one_statement(**fields: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [fields]}


# --- accepted shapes -------------------------------------------------------------------------


def test_dict_document_is_parsed_with_version_and_statement() -> None:
    # Given a policy written as a dict (CloudFormation, people)
    # When it is parsed
    document = parse_policy_document(READ_ORDERS)
    # Then the single statement object becomes one statement and the version is kept
    assert document == PolicyDocument(statements=(READ_ORDERS_STATEMENT,), version="2012-10-17")


def test_json_string_document_is_parsed_like_the_dict() -> None:
    # Given the same policy as a pretty-printed JSON string
    raw = json.dumps(READ_ORDERS, indent=2)
    # When it is parsed
    document = parse_policy_document(raw)
    # Then it reads exactly like the dict
    assert document == parse_policy_document(READ_ORDERS)


def test_url_encoded_document_as_iam_returns_it_is_decoded() -> None:
    # Given the document URL-encoded the way GetRolePolicy / GetPolicyVersion return it
    raw = quote(json.dumps(READ_ORDERS))
    assert raw.startswith("%7B%22Version%22")
    # When it is parsed
    document = parse_policy_document(raw)
    # Then it reads exactly like the dict
    assert document == parse_policy_document(READ_ORDERS)


def test_url_encoded_document_with_lower_case_escapes_is_decoded() -> None:
    # Given a URL-encoded document whose escapes use lower-case hex (%7b, %22 ...)
    raw = quote(json.dumps(READ_ORDERS)).replace("%7B", "%7b").replace("%7D", "%7d")
    # When it is parsed
    document = parse_policy_document(raw)
    # Then it is decoded all the same
    assert document.statements == (READ_ORDERS_STATEMENT,)


def test_url_encoded_document_that_was_written_with_leading_whitespace_is_decoded() -> None:
    # Given a document created with a leading newline and indentation: IAM keeps the text
    # as written, so it comes back as "%0A%20%20%7B..."
    raw = quote("\n  " + json.dumps(READ_ORDERS, indent=4))
    assert raw.startswith("%0A%20%20%7B")
    # When it is parsed
    document = parse_policy_document(raw)
    # Then it is decoded, not refused as "not valid JSON"
    assert document.statements == (READ_ORDERS_STATEMENT,)


def test_plain_json_containing_percent_signs_is_not_url_decoded() -> None:
    # Given a plain JSON document whose values contain URL-escape-like text
    raw = json.dumps(
        one_statement(
            Effect="Allow",
            Action="s3:GetObject",
            Resource="arn:aws:s3:::reports/100%25-done/*",
        )
    )
    # When it is parsed
    document = parse_policy_document(raw)
    # Then the resource is kept verbatim
    assert document.statements[0].resources == ("arn:aws:s3:::reports/100%25-done/*",)


def test_statement_list_keeps_order_index_and_labels() -> None:
    # Given a Statement list, the second one without a Sid
    raw = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Pull", "Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"},
            {"Effect": "Deny", "Action": "ecr:PutImage", "Resource": "*"},
        ],
    }
    # When it is parsed
    document = parse_policy_document(raw)
    # Then statements keep their order, their index, and a label a person can find
    assert [(s.index, s.effect, s.label) for s in document.statements] == [
        (0, "Allow", "Pull"),
        (1, "Deny", "Statement[1]"),
    ]


def test_document_without_version_parses_with_version_none() -> None:
    # Given a document with no Version (IAM then uses 2008-10-17 semantics)
    raw = {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}
    # When it is parsed
    document = parse_policy_document(raw)
    # Then the version is None and the statement is still read
    assert document.version is None
    assert document.statements[0].actions == ("s3:GetObject",)


def test_empty_statement_list_parses_to_no_statements() -> None:
    # Given a policy with an empty Statement list
    # When it is parsed
    document = parse_policy_document({"Version": "2012-10-17", "Statement": []})
    # Then it has no statements (it grants nothing, and that is what it says)
    assert document.statements == ()


@pytest.mark.parametrize(
    ("key", "attribute"),
    [
        ("Action", "actions"),
        ("NotAction", "not_actions"),
    ],
)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("s3:GetObject", ("s3:GetObject",)),
        (["s3:GetObject", "s3:PutObject"], ("s3:GetObject", "s3:PutObject")),
    ],
)
def test_action_and_not_action_accept_a_string_or_a_list(
    key: str, attribute: str, value: str | list[str], expected: tuple[str, ...]
) -> None:
    # Given a statement whose Action or NotAction is a string or a list
    raw = one_statement(Effect="Allow", Resource="*", **{key: value})
    # When it is parsed
    statement = parse_policy_document(raw).statements[0]
    # Then the field is a tuple of the names as written, the other one absent
    assert getattr(statement, attribute) == expected
    other = "not_actions" if attribute == "actions" else "actions"
    assert getattr(statement, other) is None


@pytest.mark.parametrize(
    ("key", "attribute"),
    [
        ("Resource", "resources"),
        ("NotResource", "not_resources"),
    ],
)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("arn:aws:s3:::orders/*", ("arn:aws:s3:::orders/*",)),
        (
            ["arn:aws:s3:::orders", "arn:aws:s3:::orders/*"],
            ("arn:aws:s3:::orders", "arn:aws:s3:::orders/*"),
        ),
    ],
)
def test_resource_and_not_resource_accept_a_string_or_a_list(
    key: str, attribute: str, value: str | list[str], expected: tuple[str, ...]
) -> None:
    # Given a statement whose Resource or NotResource is a string or a list
    raw = one_statement(Effect="Allow", Action="s3:GetObject", **{key: value})
    # When it is parsed
    statement = parse_policy_document(raw).statements[0]
    # Then the field is a tuple of the ARNs as written, the other one absent
    assert getattr(statement, attribute) == expected
    other = "not_resources" if attribute == "resources" else "resources"
    assert getattr(statement, other) is None


def test_condition_is_kept_and_marks_the_statement_conditional() -> None:
    # Given an Allow limited to one VPC endpoint
    condition = {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}
    raw = one_statement(Effect="Allow", Action="s3:GetObject", Resource="*", Condition=condition)
    # When it is parsed
    statement = parse_policy_document(raw).statements[0]
    # Then the condition is kept as written and the statement is conditional
    assert statement.condition == condition
    assert statement.is_conditional is True


def test_statement_without_or_with_empty_condition_is_unconditional() -> None:
    # Given two statements, one with no Condition and one with an empty Condition object
    raw = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {}},
        ]
    }
    # When they are parsed
    statements = parse_policy_document(raw).statements
    # Then neither is conditional
    assert [s.is_conditional for s in statements] == [False, False]


@pytest.mark.parametrize(
    ("fields", "covers"),
    [
        ({"Resource": "*"}, True),
        ({"Resource": ["arn:aws:s3:::orders/*", "*"]}, True),
        ({"Resource": "arn:aws:s3:::orders/*"}, False),
        ({"Resource": "arn:aws:s3:::*"}, False),
        ({"NotResource": "*"}, False),
        ({"NotResource": "arn:aws:s3:::orders/*"}, False),
    ],
)
def test_covers_every_resource_only_when_resource_lists_star(
    fields: dict[str, Any], covers: bool
) -> None:
    # Given a Deny with some resource scope
    raw = one_statement(Effect="Deny", Action="s3:*", **fields)
    # When it is parsed
    statement = parse_policy_document(raw).statements[0]
    # Then only a literal "*" resource counts as every resource
    assert statement.covers_every_resource is covers


def test_as_json_writes_the_statement_back_as_iam_does() -> None:
    # Given a statement with Sid, NotAction, NotResource and a Condition
    condition = {"Bool": {"aws:SecureTransport": "false"}}
    raw = one_statement(
        Sid="DenyInsecure",
        Effect="Deny",
        NotAction="s3:GetObject",
        NotResource=["arn:aws:s3:::public/*"],
        Condition=condition,
    )
    # When it is parsed and written back
    body = parse_policy_document(raw).statements[0].as_json()
    # Then every field is there, values as lists
    assert body == {
        "Sid": "DenyInsecure",
        "Effect": "Deny",
        "NotAction": ["s3:GetObject"],
        "NotResource": ["arn:aws:s3:::public/*"],
        "Condition": condition,
    }


def test_as_json_omits_sid_and_condition_when_absent() -> None:
    # Given a bare statement
    raw = one_statement(Effect="Allow", Action="s3:GetObject", Resource="*")
    # When it is written back
    body = parse_policy_document(raw).statements[0].as_json()
    # Then no Sid and no Condition appear
    assert body == {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}


def test_principal_in_an_identity_policy_is_ignored() -> None:
    # Given a statement carrying fields an identity policy does not use
    raw = one_statement(
        Effect="Allow", Principal="*", Action="s3:GetObject", Resource="arn:aws:s3:::orders/*"
    )
    # When it is parsed
    statement = parse_policy_document(raw).statements[0]
    # Then the statement is read for what matters
    assert (statement.actions, statement.resources) == (
        ("s3:GetObject",),
        ("arn:aws:s3:::orders/*",),
    )


# --- refused documents -----------------------------------------------------------------------


def test_parse_error_is_a_value_error() -> None:
    # Given / When / Then callers that catch ValueError also catch parse errors
    assert issubclass(PolicyParseError, ValueError)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(
            "this is not a policy",
            "policy is not valid JSON: Expecting value at char 0",
            id="not-json",
        ),
        pytest.param(
            '{"Version": "2012-10-17", "Statement": [',
            "policy is not valid JSON: Expecting value at char 40",
            id="truncated-json",
        ),
        pytest.param(
            "%7Bnot%20json%7D",
            "policy is not valid JSON: Expecting property name enclosed in double quotes at char 1",
            id="url-encoded-not-json",
        ),
        pytest.param("", "policy is not valid JSON: Expecting value at char 0", id="empty-string"),
        pytest.param(json.dumps([READ_ORDERS]), "policy JSON must be an object", id="json-array"),
        pytest.param('"s3:GetObject"', "policy JSON must be an object", id="json-string"),
        pytest.param(b"{}", "policy must be a JSON object or string, not bytes", id="bytes"),
        pytest.param({"Version": "2012-10-17"}, "policy has no Statement", id="no-statement"),
        pytest.param(
            {"Version": "2012-10-17", "Statement": "s3:GetObject"},
            "Statement must be an object or a list of objects",
            id="statement-string",
        ),
        pytest.param(
            {"Version": 20121017, "Statement": []},
            "Version must be a string",
            id="version-not-string",
        ),
        pytest.param(
            {"Statement": ["Allow s3:GetObject"]},
            "Statement[0] must be an object",
            id="statement-item-not-object",
        ),
    ],
)
def test_malformed_document_is_refused_with_its_reason(raw: Any, reason: str) -> None:
    # Given a document IAM would never accept
    # When it is parsed
    with pytest.raises(PolicyParseError) as raised:
        parse_policy_document(raw)
    # Then the error says exactly why
    assert str(raised.value) == reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param(
            {"Effect": "allow", "Action": "s3:GetObject", "Resource": "*"},
            "Statement[0]: Effect must be Allow or Deny, got 'allow'",
            id="effect-lower-case",
        ),
        pytest.param(
            {"Effect": "Permit", "Action": "s3:GetObject", "Resource": "*"},
            "Statement[0]: Effect must be Allow or Deny, got 'Permit'",
            id="effect-unknown",
        ),
        pytest.param(
            {"Action": "s3:GetObject", "Resource": "*"},
            "Statement[0]: Effect must be Allow or Deny, got None",
            id="effect-missing",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Delete*", "Resource": "*"},
            "Statement[0]: exactly one of Action and NotAction is required",
            id="action-and-not-action",
        ),
        pytest.param(
            {"Effect": "Allow", "Resource": "*"},
            "Statement[0]: exactly one of Action and NotAction is required",
            id="neither-action-nor-not-action",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": "s3:GetObject"},
            "Statement[0]: exactly one of Resource and NotResource is required",
            id="resource-missing",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "NotResource": "arn:aws:s3:::secret/*",
            },
            "Statement[0]: exactly one of Resource and NotResource is required",
            id="resource-and-not-resource",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": ["s3:GetObject", 42], "Resource": "*"},
            "Statement[0]: Action must be a string or a list of strings",
            id="action-not-string",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": {"s3": "GetObject"}, "Resource": "*"},
            "Statement[0]: Action must be a string or a list of strings",
            id="action-object",
        ),
        pytest.param(
            {"Effect": "Allow", "NotAction": [None], "Resource": "*"},
            "Statement[0]: NotAction must be a string or a list of strings",
            id="not-action-not-string",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": [], "Resource": "*"},
            "Statement[0]: Action must not be empty",
            id="action-empty-list",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": []},
            "Statement[0]: Resource must not be empty",
            id="resource-empty-list",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["*", 7]},
            "Statement[0]: Resource must be a string or a list of strings",
            id="resource-not-string",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": 7},
            "Statement[0]: NotResource must be a string or a list of strings",
            id="not-resource-not-string",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": "aws:SourceVpce == vpce-1",
            },
            "Statement[0]: Condition must be an object",
            id="condition-string",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": [{"Bool": {"aws:SecureTransport": "true"}}],
            },
            "Statement[0]: Condition must be an object",
            id="condition-list",
        ),
        pytest.param(
            {"Sid": 1, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            "Statement[0]: Sid must be a string",
            id="sid-not-string",
        ),
    ],
)
def test_malformed_statement_is_refused_with_its_reason(
    fields: dict[str, Any], reason: str
) -> None:
    # Given a document with one malformed statement
    # When it is parsed (as a dict and as IAM returns it)
    for raw in (one_statement(**fields), quote(json.dumps(one_statement(**fields)))):
        with pytest.raises(PolicyParseError) as raised:
            parse_policy_document(raw)
        # Then the error names the statement and the reason
        assert str(raised.value) == reason


def test_error_in_a_later_statement_names_that_statement() -> None:
    # Given a valid first statement and a malformed second one
    raw = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:PutObject"},
        ]
    }
    # When it is parsed
    with pytest.raises(PolicyParseError) as raised:
        parse_policy_document(raw)
    # Then the whole document is refused, naming Statement[1]
    assert str(raised.value) == "Statement[1]: exactly one of Resource and NotResource is required"
