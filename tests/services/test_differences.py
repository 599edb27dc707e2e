from __future__ import annotations

import pytest

from gallery.services.differences import UNSET, Piece, differing_options, word_diff
from tests.factories import make_generation


def test_a_word_diff_marks_removed_and_added_words():
    assert word_diff("a red fox at night", "a blue fox at dawn") == [
        Piece("same", "a "),
        Piece("removed", "red "),
        Piece("added", "blue "),
        Piece("same", "fox at "),
        Piece("removed", "night"),
        Piece("added", "dawn"),
    ]


def test_joining_a_diff_gives_both_prompts_back():
    before, after = "  an  owl,\nin snow ", "an owl in deep snow!"
    pieces = word_diff(before, after)
    assert "".join(p.text for p in pieces if p.kind != "added").split() == before.split()
    assert "".join(p.text for p in pieces if p.kind != "removed") == after


def test_equal_prompts_are_one_same_piece_and_empty_ones_nothing():
    assert word_diff("a fox", "a fox") == [Piece("same", "a fox")]
    assert word_diff("", "") == []
    assert word_diff("", "a fox") == [Piece("added", "a fox")]


@pytest.mark.django_db
def test_only_the_options_that_differ_are_listed(user):
    first = make_generation(created_by=user, size="1024x1024", quality="high", n=1)
    second = make_generation(
        created_by=user, size="1536x1024", quality="high", n=1, extra_params={"style": "vivid"}
    )
    rows = differing_options([first, second])
    assert [(row.label, row.values) for row in rows] == [
        ("Size", ["1024x1024", "1536x1024"]),
        ("Style", [UNSET, "vivid"]),
    ]
    assert differing_options([first, first]) == []
