from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from gallery.models import Comment, Membership
from gallery.services import comments
from tests.factories import make_generation, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(user, other_user, password):
    """Ada (owner) and Bea (reviewer) in a team; Mallory is a user but no member."""
    bea = get_user_model().objects.create_user("bea", password=password)
    workspace = make_team(members={user: "owner", bea: "reviewer"})
    image = make_generation(created_by=user, workspace=workspace, n_images=1).images.get()
    return {
        "image": image,
        "owner": Membership.objects.get(workspace=workspace, user=user),
        "bea": bea,
    }


def test_mentions_name_members_only(team, other_user):
    comment = comments.add_comment(
        membership=team["owner"], image=team["image"], body="@bea and @mallory, see @nobody."
    )
    assert list(comment.mentions.all()) == [team["bea"]]
    assert comment.mentioned_ids == [team["bea"].pk]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("thanks @bea.", {"bea"}),
        ("@bea,@ada!", {"bea", "ada"}),
        ("mail bea@example.com", set()),
        ("@@bea", set()),
        ("(@a.b-c_d)", {"a.b-c_d"}),
    ],
)
def test_what_counts_as_an_at_name(body, names):
    assert comments.mentioned_names(body) == names


def test_a_pin_is_a_point_on_the_image(team):
    pinned = comments.add_comment(
        membership=team["owner"], image=team["image"], body="here", x=0.25, y=1.0
    )
    assert (pinned.x, pinned.y) == (0.25, 1.0)
    for x, y in [(1.5, 0.5), (0.5, -0.1), (0.5, None), (-1.0, -1.0)]:
        with pytest.raises(comments.CommentError):
            comments.add_comment(membership=team["owner"], image=team["image"], body="x", x=x, y=y)
    for body in ["", "   ", "x" * 4001]:
        with pytest.raises(comments.CommentError):
            comments.add_comment(membership=team["owner"], image=team["image"], body=body)
    assert Comment.objects.count() == 1


def test_pins_are_numbered_in_thread_order(team, django_assert_num_queries):
    add = comments.add_comment
    add(membership=team["owner"], image=team["image"], body="a", x=0.1, y=0.1)
    add(membership=team["owner"], image=team["image"], body="b")
    add(membership=team["owner"], image=team["image"], body="c @bea", x=0.9, y=0.9)
    with django_assert_num_queries(2):
        thread = comments.thread(image=team["image"])
        assert [c.pin_number for c in thread] == [1, None, 2]
        assert [c.created_by.username for c in thread] == ["ada"] * 3
        assert [str(comments.body_html(c)) for c in thread][2].endswith("@bea</span>")


def test_editing_follows_the_new_mentions_and_says_who_is_new(team, user):
    comment = comments.add_comment(membership=team["owner"], image=team["image"], body="hi @bea")
    edited = comments.edit_comment(comment=comment, body="hi @bea and @ada")
    assert edited.edited_at is not None
    assert edited.mentioned_ids == [user.pk]
    assert set(edited.mentions.all()) == {team["bea"], user}
    comments.edit_comment(comment=comment, body="never mind")
    assert not comment.mentions.exists()


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('"><img src=x onerror=alert(1)>', "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        (
            "see https://example.com/a?b=1&c=2.",
            'see <a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener noreferrer">'
            "https://example.com/a?b=1&amp;c=2</a>.",
        ),
        (
            'https://x.org/"onmouseover="alert(1)',
            '<a href="https://x.org/" rel="nofollow noopener noreferrer">https://x.org/</a>'
            "&quot;onmouseover=&quot;alert(1)",
        ),
        ("two\nlines & @bea", 'two<br>lines &amp; <span class="mention">@bea</span>'),
        ("@<b>bea</b>", "@&lt;b&gt;bea&lt;/b&gt;"),
    ],
)
def test_the_body_is_escaped_with_links_and_mentions_only(team, body, html):
    comment = comments.add_comment(membership=team["owner"], image=team["image"], body=body)
    assert str(comments.body_html(comment)) == html
