"""What PutEvaluations is given: annotations within Config's 256 characters."""

from __future__ import annotations

from rolewarden.evaluation.config_rule import MAX_ANNOTATION, fit_annotation


def test_a_long_annotation_is_cut_to_256_characters_and_marked() -> None:
    # Given an annotation longer than Config accepts (an exemption reason can be 256 long)
    text = "exempt until 2030-01-01: " + "r" * 300
    # When / Then it is cut to 256 characters, the last one saying it was cut
    cut = fit_annotation(text)
    assert len(cut) == MAX_ANNOTATION
    assert cut == text[:255] + "…"


def test_a_short_annotation_is_kept_whole() -> None:
    assert fit_annotation("has an instance profile") == "has an instance profile"
