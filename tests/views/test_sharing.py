"""Share links: made by editors, listed for members, revoked by their maker or an admin, and the
shared pages as an outsider sees them (logged out, or logged in to another workspace)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from gallery.models import Board, Membership, ShareLink
from gallery.services import imaging, sharing
from tests.factories import make_generation, make_image, make_team, trash_image
from tests.images import make_image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(user, other_user, password):
    """Ada owns a team; Bea is an editor there; Mallory is no member (her own workspace only)."""
    bea = get_user_model().objects.create_user("bea", password=password)
    workspace = make_team(name="Studio", members={user: "owner", bea: "editor"})
    generation = make_generation(
        created_by=user, workspace=workspace, prompt="a <b>secret</b> fox", n=1
    )
    image = imaging.store_image(
        generation=generation, index=0, data=make_image_bytes(format="PNG", size=(24, 24))
    )
    owner = Membership.objects.get(workspace=workspace, user=user)
    editor = Membership.objects.get(workspace=workspace, user=bea)
    return {
        "workspace": workspace,
        "generation": generation,
        "image": image,
        "owner": owner,
        "editor": editor,
        "bea": bea,
    }


def share(team, **options):
    options.setdefault("hours", 24)
    return sharing.create_share_link(membership=team["owner"], image=team["image"], **options)


def test_a_token_is_a_selector_and_a_secret_of_which_only_a_hash_is_kept(team):
    link, token = share(team)
    assert re.fullmatch(r"[\w-]{59}", token)
    assert token[:16] == link.selector
    assert token[16:] not in link.verifier_hash
    assert len(link.verifier_hash) == 64
    assert sharing.find_share_link(token=token) == link
    wrong_secret = token[:16] + ("A" if token[16] != "A" else "B") + token[17:]
    for wrong in (wrong_secret, "x" * 59, token[:-1], "../../etc", ""):
        assert sharing.find_share_link(token=wrong) is None


@pytest.mark.parametrize("hours", [0, 721, -1])
def test_a_link_lasts_from_an_hour_to_thirty_days(team, hours):
    with pytest.raises(sharing.SharingError):
        share(team, hours=hours)
    assert share(team, hours=720)[0].expires_at > timezone.now() + timedelta(days=29)


def test_a_link_cannot_point_into_another_workspace(team, membership):
    with pytest.raises(sharing.SharingError):
        sharing.create_share_link(membership=membership, image=team["image"], hours=1)


def assert_shows_nothing_else(content: str, team) -> None:
    image, generation = team["image"], team["generation"]
    assert f"/images/{image.pk}/" not in content
    assert f"/generations/{generation.pk}" not in content
    assert team["workspace"].slug not in content
    assert "Studio" not in content
    # The owner's name, once the images' keys (hex, which may spell "ada") are set aside.
    assert "Made by" not in content
    assert "ada" not in re.sub(r"[0-9a-f]{16}", "", content).lower()


@pytest.mark.parametrize("viewer", ["anonymous", "outsider"])
def test_the_shared_page_shows_the_image_and_nothing_else(client, team, other_user, viewer):
    if viewer == "outsider":
        client.force_login(other_user)
    _, token = share(team)
    response = client.get(reverse("gallery:shared", args=[token]))
    assert response.status_code == 200
    content = response.content.decode()
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex' in content
    # The prompt, escaped.
    assert "a &lt;b&gt;secret&lt;/b&gt; fox" in content
    assert "<b>secret" not in content
    assert_shows_nothing_else(content, team)
    key = sharing.image_key(team["image"])
    thumbnail = client.get(reverse("gallery:shared_file", args=[token, key, "large"]))
    assert thumbnail.status_code == 200
    assert thumbnail["X-Robots-Tag"].startswith("noindex")
    # Downloads only when the link allows them.
    assert "Download" not in content
    for variant in ("original", "download"):
        url = reverse("gallery:shared_file", args=[token, key, variant])
        assert client.get(url).status_code == 404


def test_options_show_the_maker_hide_the_prompt_and_allow_downloads(client, team):
    _, token = share(team, show_prompt=False, show_creator=True, allow_download=True)
    content = client.get(reverse("gallery:shared", args=[token])).content.decode()
    assert "secret" not in content
    assert "Made by ada" in content
    key = sharing.image_key(team["image"])
    download = client.get(reverse("gallery:shared_file", args=[token, key, "download"]))
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="atelier-{key}.png"'
    assert b"".join(download.streaming_content) == team["image"].original.open("rb").read()


def test_a_revoked_expired_or_trashed_share_answers_410_with_a_plain_page(client, team):
    link, token = share(team)
    key = sharing.image_key(team["image"])
    page = reverse("gallery:shared", args=[token])
    file = reverse("gallery:shared_file", args=[token, key, "small"])
    assert client.get(page).status_code == 200
    sharing.revoke_share_link(link=link)
    for url in (page, file):
        gone = client.get(url)
        assert gone.status_code == 410
        assert "expired or was turned off" in gone.content.decode()
        assert gone["X-Robots-Tag"].startswith("noindex")

    expired, token = share(team)
    ShareLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    assert client.get(reverse("gallery:shared", args=[token])).status_code == 410

    _, token = share(team)
    trash_image(team["image"])
    assert client.get(reverse("gallery:shared", args=[token])).status_code == 410
    assert client.get(reverse("gallery:shared", args=["x" * 59])).status_code == 404


def test_a_board_share_shows_the_board_s_live_images_only(client, team, django_assert_num_queries):
    board = Board.objects.create(
        workspace=team["workspace"], created_by=team["owner"].user, name="Picks"
    )
    images = [make_image(generation=team["generation"], index=i) for i in range(1, 4)]
    board.images.add(team["image"], *images)
    trash_image(images[0])
    outside = make_image(generation=team["generation"], index=9)
    _, token = sharing.create_share_link(membership=team["owner"], board=board, hours=1)
    # Throttle (count, insert, prune), the link, its view count, the page count, the page.
    with django_assert_num_queries(7):
        response = client.get(reverse("gallery:shared", args=[token]))
    content = response.content.decode()
    assert "<h1>Picks</h1>" in content
    for shown in (team["image"], images[1], images[2]):
        assert sharing.image_key(shown) in content
    for hidden in (images[0], outside):
        assert sharing.image_key(hidden) not in content
        url = reverse("gallery:shared_file", args=[token, sharing.image_key(hidden), "small"])
        assert client.get(url).status_code == 404
    assert_shows_nothing_else(content, team)


def test_each_opening_is_counted(client, team):
    link, token = share(team)
    for _ in range(3):
        client.get(reverse("gallery:shared", args=[token]))
    link.refresh_from_db()
    assert link.views == 3
    assert link.last_viewed_at is not None


def test_shared_pages_are_throttled_per_address(client, team, settings):
    settings.SHARE_PAGE_RATE_LIMIT = 2
    _, token = share(team)
    url = reverse("gallery:shared", args=[token])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
    other_address = client.get(url, REMOTE_ADDR="10.0.0.9")
    assert other_address.status_code == 200


def test_an_editor_makes_a_link_and_sees_it_once(client, team):
    client.force_login(team["bea"])
    response = client.post(
        reverse("gallery:image_share", args=[team["image"].pk]),
        {"hours": "72", "allow_download": "on"},
    )
    assert response.status_code == 200
    link = ShareLink.objects.get()
    assert link.created_by == team["bea"]
    assert link.allow_download
    assert not link.show_prompt
    assert timedelta(hours=71) < link.expires_at - timezone.now() <= timedelta(hours=72)
    shown = re.search(r'id="share-link" readonly value="([^"]+)"', response.content.decode())
    assert client.get(shown.group(1)).status_code == 200
    listing = client.get(reverse("gallery:shares", args=[team["workspace"].slug])).content.decode()
    assert f'id="share-{link.pk}"' in listing
    assert 'id="share-link"' not in listing


def test_a_refused_expiry_says_why(client, team):
    client.force_login(team["bea"])
    response = client.post(
        reverse("gallery:image_share", args=[team["image"].pk]), {"hours": "9999"}, follow=True
    )
    assert "from an hour to thirty days" in response.content.decode()
    assert not ShareLink.objects.exists()


def test_an_editor_revokes_their_own_links_and_an_admin_any(client, team):
    own, _ = sharing.create_share_link(membership=team["editor"], image=team["image"], hours=1)
    owners, _ = share(team)
    client.force_login(team["bea"])
    slug = team["workspace"].slug
    assert client.post(reverse("gallery:share_revoke", args=[slug, owners.pk])).status_code == 403
    assert client.post(reverse("gallery:share_revoke", args=[slug, own.pk])).status_code == 302
    own.refresh_from_db()
    assert own.revoked_at is not None
    # Revoked links leave the list (and cannot be revoked again).
    assert client.post(reverse("gallery:share_revoke", args=[slug, own.pk])).status_code == 404


def test_the_list_leaves_out_dead_links_and_other_members_private_boards(client, team):
    private = Board.objects.create(
        workspace=team["workspace"], created_by=team["bea"], name="Bea only", visibility="private"
    )
    hidden, _ = sharing.create_share_link(membership=team["editor"], board=private, hours=1)
    dead, _ = share(team)
    sharing.revoke_share_link(link=dead)
    live, _ = share(team)
    visible = list(sharing.links_for_member(membership=team["owner"]))
    assert visible == [live]
    assert set(sharing.links_for_member(membership=team["editor"])) == {live, hidden}


def test_the_list_page_takes_a_fixed_number_of_queries(client, team, django_assert_num_queries):
    for _ in range(3):
        share(team)
    client.force_login(team["owner"].user)
    url = reverse("gallery:shares", args=[team["workspace"].slug])
    client.get(url)
    # Session, user, membership, the links (with image, generation, board, maker); the header's
    # workspace switcher; the session save.
    with django_assert_num_queries(5):
        assert client.get(url).status_code == 200
