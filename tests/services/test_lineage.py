from __future__ import annotations

import pytest

from gallery.services.lineage import remix_tree
from tests.factories import make_generation, trash_generation

pytestmark = pytest.mark.django_db


def chain(user, prompts, parent=None, **fields):
    made = []
    for prompt in prompts:
        parent = make_generation(
            created_by=user, prompt=prompt, parent=parent, n_images=1, **fields
        )
        made.append(parent)
    return made


def test_the_tree_has_every_ancestor_and_every_remix_below_in_three_queries(
    user, django_assert_num_queries
):
    root, middle, current = chain(user, ["a fox", "a red fox", "a red fox at night"])
    child, grandchild = chain(user, ["a red fox at dawn", "a red fox at dawn, snowing"], current)
    sibling = make_generation(created_by=user, prompt="a blue fox", parent=middle)
    other_child = make_generation(created_by=user, prompt="a red fox at noon", parent=current)
    unrelated = make_generation(created_by=user, prompt="an owl")
    with django_assert_num_queries(3):
        nodes = remix_tree(generation=current)
        thumbnails = [node.thumbnail for node in nodes]
    assert [(n.generation, n.depth) for n in nodes] == [
        (root, 0),
        (middle, 1),
        (current, 2),
        (child, 3),
        (grandchild, 4),
        (other_child, 3),
    ]
    assert sibling not in [n.generation for n in nodes]
    assert unrelated not in [n.generation for n in nodes]
    assert [n.is_current for n in nodes] == [False, False, True, False, False, False]
    assert thumbnails[0] == root.images.get()
    assert thumbnails[-1] is None
    assert nodes[0].diff == []
    assert [(p.kind, p.text) for p in nodes[3].diff] == [
        ("same", "a red fox at "),
        ("removed", "night"),
        ("added", "dawn"),
    ]


def test_a_long_chain_takes_no_more_queries(user, django_assert_num_queries):
    made = chain(user, [f"step {number}" for number in range(30)])
    with django_assert_num_queries(3):
        nodes = remix_tree(generation=made[15])
        [node.thumbnail for node in nodes]
    assert [n.generation for n in nodes] == made


def test_trashed_generations_and_other_workspaces_stay_out(user, other_user):
    root, current = chain(user, ["a fox", "a red fox"])
    trashed = make_generation(created_by=user, prompt="gone", parent=current)
    below_trashed = make_generation(created_by=user, prompt="below", parent=trashed)
    trash_generation(trashed)
    # A row of another workspace naming it as parent (the app never makes one) is not shown.
    foreign = make_generation(created_by=other_user, prompt="theirs", parent=current)
    generations = [n.generation for n in remix_tree(generation=current)]
    assert generations == [root, current]
    assert foreign not in generations
    assert below_trashed not in generations
    assert remix_tree(generation=make_generation(created_by=user, prompt="alone"))[0].depth == 0
