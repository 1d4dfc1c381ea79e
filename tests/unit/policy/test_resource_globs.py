"""IAM resource globs: containment decides removals, overlap decides what is kept."""

from __future__ import annotations

import random

import pytest

from rolewarden.policy.resource_globs import ResourceScope, covers, overlaps

BUCKET_OBJECTS = "arn:aws:s3:::exports/*"


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        ("*", BUCKET_OBJECTS),
        (BUCKET_OBJECTS, BUCKET_OBJECTS),
        ("arn:aws:s3:::*", "arn:aws:s3:::b/*"),  # `*` matches across `/`
        ("arn:aws:s3:::*", "arn:aws:s3:::b/reports/2026/*.csv"),
        ("arn:aws:*:*:*:*", "arn:aws:iam::111122223333:role/app"),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/x"),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/?"),  # `?` is one of what `*` matches
        ("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/*/*/x"),
        ("arn:aws:s3:::${aws:username}/*", "arn:aws:s3:::${aws:username}/*"),
    ],
)
def test_covers(outer: str, inner: str) -> None:
    assert covers(outer, inner)


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        ("arn:aws:s3:::b/*", "arn:aws:s3:::*"),  # narrower never covers wider
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/*"),
        ("arn:aws:s3:::curated-data/*", "arn:aws:s3:::raw-data/*"),
        ("arn:aws:s3:::Exports/*", BUCKET_OBJECTS),  # ARNs compare case-sensitively
        ("arn:aws:s3:::alice/*", "arn:aws:s3:::${aws:username}/*"),  # a variable is any value
        ("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/*"),
    ],
)
def test_does_not_cover(outer: str, inner: str) -> None:
    assert not covers(outer, inner)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("*", "arn:aws:s3:::b"),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::*"),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::*/reports"),
        ("arn:aws:s3:::B/x", "arn:aws:s3:::b/x"),  # kept: some services fold case
        ("arn:aws:s3:::${aws:username}/*", "arn:aws:s3:::alice/x"),
        ("arn:aws:s3:::b?", "arn:aws:s3:::*c"),
    ],
)
def test_overlaps(a: str, b: str) -> None:
    assert overlaps(a, b)
    assert overlaps(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("arn:aws:s3:::raw-data/*", "arn:aws:s3:::curated-data/*"),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/xy"),
        ("arn:aws:s3:::b", "arn:aws:dynamodb:eu-west-1:111122223333:table/*"),
    ],
)
def test_disjoint(a: str, b: str) -> None:
    assert not overlaps(a, b)
    assert not overlaps(b, a)


def scope(*patterns: str, negated: bool = False) -> ResourceScope:
    return ResourceScope(patterns, negated)


def test_scope_of_patterns_covers_when_each_pattern_is_covered() -> None:
    deny = scope("arn:aws:s3:::a/*", "arn:aws:s3:::b/*")
    assert deny.covers(scope("arn:aws:s3:::a/x", "arn:aws:s3:::b/*"))
    assert not deny.covers(scope("arn:aws:s3:::a/x", "arn:aws:s3:::c/*"))


def test_not_resource_covers_what_cannot_be_one_of_its_exceptions() -> None:
    all_but_public = scope("arn:aws:s3:::public/*", negated=True)
    assert all_but_public.covers(scope("arn:aws:s3:::payroll/*"))
    assert not all_but_public.covers(scope("arn:aws:s3:::*"))
    # all but X covers all but Y when every X is a Y
    assert all_but_public.covers(scope("arn:aws:s3:::*", negated=True))
    assert not scope("arn:aws:s3:::*", negated=True).covers(all_but_public)


def test_patterns_never_cover_a_not_resource_unless_they_are_everything() -> None:
    assert not scope("arn:aws:s3:::*").covers(scope("arn:aws:s3:::public/*", negated=True))
    assert scope("*").covers(scope("arn:aws:s3:::public/*", negated=True))


def test_overlap_with_not_resource() -> None:
    all_but_public = scope("arn:aws:s3:::public/*", negated=True)
    assert not all_but_public.overlaps(scope("arn:aws:s3:::public/report.csv"))
    assert all_but_public.overlaps(scope("arn:aws:s3:::*"))
    assert scope("arn:aws:s3:::*").overlaps(all_but_public)
    assert all_but_public.overlaps(scope("arn:aws:s3:::x", negated=True))


def test_narrowed_by_a_limit() -> None:
    wide, narrow = scope("arn:aws:s3:::*"), scope("arn:aws:s3:::curated-data/*")
    assert wide.narrowed_by(narrow) == narrow
    assert narrow.narrowed_by(wide) == narrow
    # neither contains the other: kept on the wide side
    odd = scope("arn:aws:s3:::*/reports/*")
    assert odd.narrowed_by(narrow) == odd


def test_evidence_form() -> None:
    assert scope("arn:aws:s3:::public/*", negated=True).as_json() == [
        "NotResource:arn:aws:s3:::public/*"
    ]
    assert ResourceScope.everything().is_everything
    assert not scope("*", negated=True).is_everything


def test_quick_answers_agree_with_the_full_search() -> None:
    # Given thousands of pattern pairs built from every symbol the globs know (ARN formats'
    # SEGMENT and NAME too), many of them one ARN or one ARN's prefix
    from rolewarden.policy import resource_globs as globs  # noqa: PLC0415 - its internals

    symbols = ["a", "b", "/", ":", "*", "?", globs.SEGMENT, globs.NAME]
    chooser = random.Random(12)

    def pattern() -> str:
        text = "".join(chooser.choice(symbols) for _ in range(chooser.randint(1, 7)))
        if chooser.random() < 0.5:  # a plain ARN, or a plain prefix and `*`
            text = "".join(c for c in text if c in "ab/:") or "a"
            text += "*" if chooser.random() < 0.5 else ""
        return text

    pairs = [(pattern(), pattern()) for _ in range(4000)]
    # Then overlaps and covers say what the state-by-state search says, for every pair
    for a, b in pairs:
        assert overlaps(a, b) == (a == b or "*" in (a, b) or globs._search(a, b)), (a, b)
        if globs.SEGMENT not in a + b and globs.NAME not in a + b:
            assert covers(a, b) == (a in ("*", b) or globs._covers(a, b)), (a, b)
