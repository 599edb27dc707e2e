"""Comments on the image page: who may post, edit and delete, pins drawn as numbered markers,
and the page's query count whatever the thread's length."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gallery.models import Comment, Membership
from gallery.services import comments
from tests.factories import make_generation, make_team, trash_image

pytestmark = pytest.mark.django_db

# The image page of a team image with a thread (see the last test).
PAGE_QUERIES = 11


@pytest.fixture
def team(user, password):
    users = {
        role: get_user_model().objects.create_user(role, password=password)
        for role in ("viewer", "reviewer", "admin")
    }
    workspace = make_team(members={user: "owner", **{u: role for role, u in users.items()}})
    image = make_generation(created_by=user, workspace=workspace, n_images=1).images.get()
    member = {
        role: Membership.objects.get(workspace=workspace, user=u) for role, u in users.items()
    }
    return {"image": image, "users": users, "member": member, "workspace": workspace}


def test_a_reviewer_comments_with_a_pin_and_the_page_shows_its_marker(client, team):
    client.force_login(team["users"]["reviewer"])
    image = team["image"]
    response = client.post(
        reverse("gallery:comment_add", args=[image.pk]),
        {"body": "the <eye> @admin", "x": "0.25", "y": "0.75"},
    )
    comment = Comment.objects.get()
    assert response["Location"] == f"/images/{image.pk}/#comment-{comment.pk}"
    assert (comment.x, comment.y, comment.created_by) == (0.25, 0.75, team["users"]["reviewer"])
    page = client.get(reverse("gallery:image", args=[image.pk])).content.decode()
    marker = re.search(r'<a class="pin-marker"[^>]*>1</a>', page).group(0)
    assert "left: 25.00%; top: 75.00%" in marker
    assert f'href="#comment-{comment.pk}"' in marker
    assert 'the &lt;eye&gt; <span class="mention">@admin</span>' in page


def test_a_viewer_sees_comments_but_no_form(client, team):
    comments.add_comment(membership=team["member"]["reviewer"], image=team["image"], body="hi")
    client.force_login(team["users"]["viewer"])
    page = client.get(reverse("gallery:image", args=[team["image"].pk])).content.decode()
    assert "hi</div>" in page
    assert 'id="comment-form"' not in page
    assert '/delete/">' not in page.split("comments-heading")[1]


def test_only_the_author_edits_and_an_admin_deletes_anyone_s(client, team):
    comment = comments.add_comment(
        membership=team["member"]["reviewer"], image=team["image"], body="first"
    )
    edit = reverse("gallery:comment_edit", args=[comment.pk])
    delete = reverse("gallery:comment_delete", args=[comment.pk])
    client.force_login(team["users"]["admin"])
    assert client.post(edit, {"body": "hijacked"}).status_code == 403
    client.force_login(team["users"]["reviewer"])
    assert client.post(edit, {"body": "second"}).status_code == 302
    comment.refresh_from_db()
    assert comment.body == "second"
    assert comment.edited_at is not None
    client.force_login(team["users"]["admin"])
    assert client.post(delete).status_code == 302
    assert not Comment.objects.exists()


def test_a_refused_comment_says_why(client, team):
    client.force_login(team["users"]["reviewer"])
    url = reverse("gallery:comment_add", args=[team["image"].pk])
    response = client.post(url, {"body": "off", "x": "2", "y": "0.5"}, follow=True)
    assert "A pin must be on the image." in response.content.decode()
    response = client.post(url, {"body": "nan", "x": "abc", "y": "0.5"}, follow=True)
    assert "A pin must be on the image." in response.content.decode()
    assert not Comment.objects.exists()


def test_comments_of_a_trashed_image_cannot_be_changed(client, team):
    comment = comments.add_comment(
        membership=team["member"]["reviewer"], image=team["image"], body="x"
    )
    trash_image(team["image"])
    client.force_login(team["users"]["reviewer"])
    assert (
        client.post(reverse("gallery:comment_edit", args=[comment.pk]), {"body": "y"}).status_code
        == 404
    )
    assert (
        client.post(
            reverse("gallery:comment_add", args=[team["image"].pk]), {"body": "y"}
        ).status_code
        == 404
    )


def test_the_image_page_takes_as_many_queries_for_one_comment_as_for_twenty(
    client, team, django_assert_num_queries
):
    image, reviewer = team["image"], team["member"]["reviewer"]
    comments.add_comment(membership=reviewer, image=image, body="one @admin", x=0.5, y=0.5)
    client.force_login(team["users"]["reviewer"])
    url = reverse("gallery:image", args=[image.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for number in range(19):
        comments.add_comment(
            membership=reviewer, image=image, body=f"{number} @admin", x=0.1, y=0.2
        )
    # The thread is two of them (comments with authors, their mentions).
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(url).status_code == 200
    assert len(one.captured_queries) == PAGE_QUERIES


def test_the_thread_and_its_refusals_read_in_chinese(client, team):
    client.force_login(team["users"]["reviewer"])
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    url = reverse("gallery:comment_add", args=[team["image"].pk])
    refused = client.post(url, {"body": "off", "x": "2", "y": "0.5"}, follow=True)
    page = refused.content.decode()
    assert "标记必须在图片上。" in page
    assert "还没有评论。" in page
    assert "添加评论" in page
    assert "在图片上标记" in page
