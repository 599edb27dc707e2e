"""Boards as pages and fragments, without a browser."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gallery.models import Board
from tests.factories import make_generation, trash_image

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def board(user, workspace):
    return Board.objects.create(workspace=workspace, created_by=user, name="Foxes")


def test_making_a_board_from_the_list_and_an_invalid_name_stays_in_the_form(user_client):
    url = reverse("gallery:boards", args=["ada"])
    response = user_client.post(url, {"name": "", "visibility": "workspace"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    response = user_client.post(url, {"name": "Shortlist", "visibility": "private"})
    board = Board.objects.get(name="Shortlist")
    assert response["Location"] == reverse("gallery:board", args=[board.pk])
    assert board.visibility == "private"


def test_the_list_shows_counts_and_covers(user_client, user, board):
    image = make_generation(created_by=user, n_images=1).images.get()
    board.images.add(image)
    content = user_client.get(reverse("gallery:boards", args=["ada"])).content.decode()
    assert "Foxes" in content
    assert "1 image" in content
    assert reverse("gallery:image_thumbnail", args=[image.pk, "small"]) in content


def test_the_board_page_shows_only_its_images_with_the_gallery_filters(user_client, user, board):
    on = make_generation(created_by=user, prompt="a fox on the board", n_images=1)
    make_generation(created_by=user, prompt="a fox elsewhere", n_images=1)
    board.images.add(on.images.get())
    url = reverse("gallery:board", args=[board.pk])
    content = user_client.get(url).content.decode()
    assert "a fox on the board" in content
    assert "a fox elsewhere" not in content
    assert 'id="gallery-filters"' in content
    assert f'action="{url}"' in content
    assert 'id="overlay"' in content
    # The filters narrow the board (search included), as a fragment under htmx.
    response = user_client.get(url, {"q": "elsewhere"}, HTTP_HX_TARGET="gallery-results", **HTMX)
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="gallery-results"')
    assert "Nothing matches" in fragment
    assert "HX-Target" in response["Vary"]


def test_the_board_page_loads_more_as_a_fragment(user_client, user, board, settings):
    from gallery.views import gallery

    settings.DEBUG = False
    images = [make_generation(created_by=user, n_images=1).images.get() for _ in range(3)]
    board.images.add(*images)
    url = reverse("gallery:board", args=[board.pk])
    original = gallery.IMAGES_PER_PAGE
    gallery.IMAGES_PER_PAGE = 2
    try:
        first = user_client.get(url).content.decode()
        assert 'id="load-more"' in first
        more = user_client.get(
            url, {"cursor": str(images[1].pk)}, HTTP_HX_TARGET="load-more", **HTMX
        ).content.decode()
    finally:
        gallery.IMAGES_PER_PAGE = original
    assert f'id="tile-{images[0].pk}"' in more
    assert "<html" not in more


def test_adding_from_a_selection_and_taking_off_again(user_client, user, board):
    images = [make_generation(created_by=user, n_images=1).images.get() for _ in range(3)]
    gallery_url = reverse("gallery:index", args=["ada"])
    response = user_client.post(
        reverse("gallery:board_add_images", args=["ada"]),
        {"board": board.pk, "image": [images[0].pk, images[1].pk], "next": gallery_url},
    )
    assert response["Location"] == gallery_url
    assert set(board.images.all()) == {images[0], images[1]}
    page = user_client.get(gallery_url).content.decode()
    assert reverse("gallery:board_add_images", args=["ada"]) in page
    board_page = user_client.get(reverse("gallery:board", args=[board.pk])).content.decode()
    assert reverse("gallery:board_remove_images", args=[board.pk]) in board_page
    user_client.post(
        reverse("gallery:board_remove_images", args=[board.pk]), {"image": [images[0].pk]}
    )
    assert list(board.images.all()) == [images[1]]


def test_adding_nothing_says_so(user_client, board):
    response = user_client.post(
        reverse("gallery:board_add_images", args=["ada"]), {"board": board.pk}, follow=True
    )
    assert "Select at least one image" in response.content.decode()


def test_the_overlay_adds_takes_off_and_makes_a_cover(user_client, user, board):
    image = make_generation(created_by=user, n_images=1).images.get()
    image_url = reverse("gallery:image", args=[image.pk])
    overlay = user_client.get(image_url, **HTMX).content.decode()
    assert reverse("gallery:board_add_images", args=["ada"]) in overlay
    assert f'<option value="{board.pk}">Foxes</option>' in overlay
    user_client.post(
        reverse("gallery:board_add_images", args=["ada"]),
        {"board": board.pk, "image": image.pk, "next": image_url},
    )
    overlay = user_client.get(image_url, **HTMX).content.decode()
    assert "Make cover" in overlay
    assert "Take off" in overlay
    response = user_client.post(
        reverse("gallery:board_edit", args=[board.pk]),
        {"name": "Foxes", "visibility": "workspace", "cover": image.pk, "next": image_url},
    )
    assert response["Location"] == image_url
    assert Board.objects.get(pk=board.pk).cover_id == image.pk


def test_deleting_a_board_keeps_its_images(user_client, user, board):
    image = make_generation(created_by=user, n_images=1).images.get()
    board.images.add(image)
    response = user_client.post(reverse("gallery:board_delete", args=[board.pk]))
    assert response["Location"] == reverse("gallery:boards", args=["ada"])
    assert not Board.objects.filter(pk=board.pk).exists()
    assert image.__class__.objects.filter(pk=image.pk, deleted_at__isnull=True).exists()


def test_a_viewer_sees_a_board_but_no_buttons(client, user, other_user, board):
    from tests.factories import make_team

    team = make_team(members={user: "owner", other_user: "viewer"})
    shared = Board.objects.create(workspace=team, created_by=user, name="Team picks")
    image = make_generation(created_by=user, workspace=team, n_images=1).images.get()
    shared.images.add(image)
    client.force_login(other_user)
    content = client.get(reverse("gallery:board", args=[shared.pk])).content.decode()
    assert f'id="tile-{image.pk}"' in content
    assert "Add selected to board" not in content
    assert "Take selected off" not in content
    assert "Edit this board" not in content
    overlay = client.get(reverse("gallery:image", args=[image.pk]), **HTMX).content.decode()
    assert "Add to board" not in overlay
    assert "Take off" not in overlay
    listing = client.get(reverse("gallery:boards", args=[team.slug])).content.decode()
    assert 'id="board-create"' not in listing


@pytest.mark.parametrize(
    ("name", "target"),
    [("boards", None), ("board", None), ("board", "gallery-results"), ("image", None)],
)
def test_board_pages_make_as_many_queries_for_many_rows_as_for_one(
    user_client, user, workspace, name, target
):
    user_client.get(reverse("gallery:index", args=["ada"]))  # the session write, once
    board = Board.objects.create(workspace=workspace, created_by=user, name="First")

    def queries_with(count):
        for number in range(count):
            other = Board.objects.create(workspace=workspace, created_by=user, name=f"B{number}")
            generation = make_generation(created_by=user, prompt=f"fox {number}", n_images=2)
            board.images.add(*generation.images.all())
            other.images.add(generation.images.first())
            if number % 2:
                trash_image(generation.images.last())
        url = {
            "boards": reverse("gallery:boards", args=["ada"]),
            "board": reverse("gallery:board", args=[board.pk]),
            "image": reverse("gallery:image", args=[board.images.first().pk]),
        }[name]
        headers = {"HTTP_HX_TARGET": target, **HTMX} if target else {}
        with CaptureQueriesContext(connection) as queries:
            assert user_client.get(url, **headers).status_code == 200
        return len(queries)

    assert queries_with(1) == queries_with(30)
