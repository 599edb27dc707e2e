from __future__ import annotations

import pytest

from gallery.models import Board
from gallery.services import boards, browse
from tests.factories import make_generation, make_team, trash_image

pytestmark = pytest.mark.django_db


def test_an_image_can_be_on_many_boards_and_adding_twice_adds_once(user, membership):
    image = make_generation(created_by=user, n_images=1).images.get()
    first = boards.create_board(membership=membership, name=" Picks ", visibility="workspace")
    second = boards.create_board(membership=membership, name="Brief", visibility="private")
    assert first.name == "Picks"
    assert boards.add_images(board=first, membership=membership, ids=[image.pk]) == 1
    assert boards.add_images(board=first, membership=membership, ids=[image.pk]) == 0
    assert boards.add_images(board=second, membership=membership, ids=[image.pk, image.pk]) == 1
    assert set(image.boards.values_list("name", flat=True)) == {"Picks", "Brief"}


def test_images_of_another_workspace_and_trashed_ones_are_skipped(user, other_user, membership):
    theirs = make_generation(created_by=other_user, n_images=1).images.get()
    trashed = make_generation(created_by=user, n_images=1).images.get()
    trash_image(trashed)
    board = boards.create_board(membership=membership, name="Picks", visibility="workspace")
    assert boards.add_images(board=board, membership=membership, ids=[theirs.pk, trashed.pk]) == 0
    assert not board.images.exists()


def test_removing_keeps_the_image_and_clears_a_cover(user, membership):
    image = make_generation(created_by=user, n_images=1).images.get()
    board = boards.create_board(membership=membership, name="Picks", visibility="workspace")
    boards.add_images(board=board, membership=membership, ids=[image.pk])
    boards.update_board(
        board=board, membership=membership, name="Picks", visibility="workspace", cover_id=image.pk
    )
    assert Board.objects.get(pk=board.pk).cover_id == image.pk
    assert boards.remove_images(board=board, ids=[image.pk]) == 1
    assert Board.objects.get(pk=board.pk).cover_id is None
    assert image.__class__.objects.filter(pk=image.pk).exists()


def test_a_cover_must_be_on_the_board(user, membership):
    elsewhere = make_generation(created_by=user, n_images=1).images.get()
    board = boards.create_board(membership=membership, name="Picks", visibility="workspace")
    boards.update_board(
        board=board, membership=membership, name="P", visibility="private", cover_id=elsewhere.pk
    )
    board = Board.objects.get(pk=board.pk)
    assert (board.name, board.visibility, board.cover_id) == ("P", "private", None)


def test_the_list_counts_live_images_and_covers_with_the_chosen_or_the_newest(
    user, membership, django_assert_num_queries
):
    older, newer, trashed = (
        make_generation(created_by=user, n_images=1).images.get() for _ in range(3)
    )
    trash_image(trashed)
    chosen = boards.create_board(membership=membership, name="A", visibility="workspace")
    newest = boards.create_board(membership=membership, name="B", visibility="workspace")
    empty = boards.create_board(membership=membership, name="C", visibility="workspace")
    for board in (chosen, newest):
        board.images.add(older, newer, trashed)
    boards.update_board(
        board=chosen, membership=membership, name="A", visibility="workspace", cover_id=older.pk
    )
    with django_assert_num_queries(1):
        listed = {board.name: board for board in boards.board_list(membership=membership)}
    assert (listed["A"].image_count, listed["A"].cover_image_id) == (2, older.pk)
    assert (listed["B"].image_count, listed["B"].cover_image_id) == (2, newer.pk)
    assert (listed["C"].image_count, listed["C"].cover_image_id) == (0, None)
    # A trashed cover gives way to the newest image.
    trash_image(older)
    listed = {board.name: board for board in boards.board_list(membership=membership)}
    assert (listed["A"].image_count, listed["A"].cover_image_id) == (1, newer.pk)
    assert empty.pk in {board.pk for board in listed.values()}


def test_private_boards_are_listed_for_their_maker_only(user, other_user):
    team = make_team(members={user: "owner", other_user: "admin"})
    mine = team.memberships.get(user=user)
    theirs = team.memberships.get(user=other_user)
    boards.create_board(membership=mine, name="Mine", visibility="private")
    boards.create_board(membership=mine, name="Shared", visibility="workspace")
    assert [b.name for b in boards.board_list(membership=mine)] == ["Mine", "Shared"]
    assert [b.name for b in boards.board_list(membership=theirs)] == ["Shared"]


def test_a_board_grid_is_the_gallery_grid_narrowed_to_the_board(
    user, membership, django_assert_num_queries
):
    on_board = make_generation(created_by=user, prompt="a red fox", n_images=2)
    make_generation(created_by=user, prompt="a red fox elsewhere", n_images=2)
    board = boards.create_board(membership=membership, name="Foxes", visibility="workspace")
    board.images.add(*on_board.images.all())
    for query in ({}, {"q": "fox"}, {"q": "fox", "model": "gpt-image-1"}):
        filters = browse.GridFilters.from_query(query)
        with django_assert_num_queries(1):
            page = browse.image_page(
                membership=membership, filters=filters, cursor=None, board=board
            )
            assert {image.generation.prompt for image in page.items} == {"a red fox"}
        assert len(page.items) == 2
    page = browse.image_page(
        membership=membership, filters=browse.GridFilters(), cursor=None, per_page=1, board=board
    )
    following = browse.image_page(
        membership=membership,
        filters=browse.GridFilters(),
        cursor=page.next_cursor,
        per_page=1,
        board=board,
    )
    assert [*page.items, *following.items] == list(on_board.images.order_by("-id"))
