from __future__ import annotations

import pytest

from gallery.ops.usernames import lookalike_problem, skeleton

CYRILLIC_A = "\u0430"


@pytest.mark.parametrize(
    ("name", "looks_like"),
    [
        ("alice", "alice"),
        ("Alice", "alice"),
        (f"{CYRILLIC_A}lice", "alice"),
        ("\uff41\uff4c\uff49\uff43\uff45", "alice"),  # full-width letters
        ("\u0430\u0440\u0435", "ape"),  # all Cyrillic
    ],
)
def test_skeleton_is_what_a_name_looks_like(name, looks_like):
    assert skeleton(name) == looks_like


def test_a_name_mixing_alphabets_with_lookalike_letters_is_refused_even_when_free():
    assert "different alphabets" in lookalike_problem(f"{CYRILLIC_A}lice", taken=lambda _: False)


def test_a_single_script_name_that_looks_like_a_taken_one_is_refused():
    taken = {"ape"}
    assert "looks too much like" in lookalike_problem(
        "\u0430\u0440\u0435", taken=taken.__contains__
    )
    assert lookalike_problem("\u0430\u0440\u0435", taken=lambda _: False) is None


@pytest.mark.parametrize("name", ["carol", "grace_h", "\u0436\u0443\u043a", "\u5c71\u7530"])
def test_ordinary_names_pass(name):
    assert lookalike_problem(name, taken={"alice", "bob"}.__contains__) is None
