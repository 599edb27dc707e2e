"""The role matrix: who gets what from every URL of the app, by role, with real objects.

ROLE_MATRIX is the single list of who may do what where. Each row is one URL pattern and one
method; each column the answer for a member of that role in the workspace that holds the
objects (a team whose objects were made by its owner), and for a non-member (a user with their
own workspace and rows, so "ids of workspace A never open in B" is walked too). The test walks
every cell with fresh objects. A URL pattern without a row fails the suite until someone says
who may use it; every method a row does not list answers 405 to the owner and 404 to a
non-member (pages of one row or one workspace answer 404 first, whatever the method).

Answers: 200 the page, 302 done (then redirected), 403 a member whose role does not allow it
(gallery.policy), 404 not a member (indistinguishable from an id that does not exist).
Targets: the team, its owner's generation and image, the viewer's membership ("member"), an
invitation of the team, and that invitation's link ("invite": anyone holding it may open it).
"""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from gallery.models import Board, Generation, Image, Membership, Role
from gallery.services import comments, imaging, sharing, workspaces
from tests.factories import make_generation, make_team
from tests.images import make_image_bytes

pytestmark = pytest.mark.django_db

ROLE_MATRIX = """
route               method  target      non-member  viewer  reviewer  editor  admin  owner
home                GET     -           302         302     302       302     302    302
index               GET     workspace   404         200     200       200     200    200
generate            GET     workspace   404         403     403       200     200    200
generate            POST    workspace   404         403     403       302     302    302
images_zip          GET     workspace   404         200     200       200     200    200
images_zip          POST    workspace   404         200     200       200     200    200
prompts             GET     workspace   404         200     200       200     200    200
usage               GET     workspace   404         200     200       200     200    200
budget              GET     workspace   404         403     403       403     200    200
budget              POST    workspace   404         403     403       403     302    302
trash               GET     workspace   404         403     403       200     200    200
trash_empty         POST    workspace   404         403     403       403     302    302
generation          GET     generation  404         200     200       200     200    200
generation_cancel   POST    generation  404         403     403       403     302    302
generation_retry    POST    generation  404         403     403       403     302    302
generation_rerun    POST    generation  404         403     403       302     302    302
generation_delete   POST    generation  404         403     403       403     302    302
generation_restore  POST    generation  404         403     403       403     302    302
image               GET     image       404         200     200       200     200    200
image_original      GET     image       404         200     200       200     200    200
image_thumbnail     GET     image       404         200     200       200     200    200
image_download      GET     image       404         200     200       200     200    200
image_favorite      POST    image       404         403     403       302     302    302
image_delete        POST    image       404         403     403       403     302    302
image_restore       POST    image       404         403     403       403     302    302
boards              GET     workspace   404         200     200       200     200    200
boards              POST    workspace   404         403     403       302     302    302
board_add_images    POST    workspace   404         403     403       302     302    302
board               GET     board       404         200     200       200     200    200
board_edit          POST    board       404         403     403       403     302    302
board_delete        POST    board       404         403     403       403     302    302
board_remove_images POST    board       404         403     403       403     302    302
members             GET     workspace   404         200     200       200     200    200
member_add          POST    workspace   404         403     403       403     302    302
member_role         POST    member      404         403     403       403     302    302
member_remove       POST    member      404         403     403       403     302    302
invitation_create   POST    workspace   404         403     403       403     200    200
invitation_revoke   POST    invitation  404         403     403       403     302    302
workspace_leave     POST    workspace   404         302     302       302     302    302
workspace_rename    POST    workspace   404         403     403       403     403    302
workspace_transfer  POST    workspace   404         403     403       403     403    302
workspace_delete    POST    workspace   404         403     403       403     403    302
workspace_create    GET     -           200         200     200       200     200    200
workspace_create    POST    -           302         302     302       302     302    302
preferences         GET     -           200         200     200       200     200    200
preferences         POST    -           302         302     302       302     302    302
time_zone_detect    POST    -           204         204     204       204     204    204
invitation          GET     invite      200         200     200       200     200    200
invitation          POST    invite      302         302     302       302     302    302
image_share         POST    image       404         403     403       200     200    200
board_share         POST    board       404         403     403       200     200    200
shares              GET     workspace   404         200     200       200     200    200
share_revoke        POST    share       404         403     403       403     302    302
shared              GET     shared      200         200     200       200     200    200
shared_file         GET     shared      200         200     200       200     200    200
comment_add         POST    image       404         403     302       302     302    302
comment_edit        POST    comment     404         403     403       403     403    302
comment_delete      POST    comment     404         403     403       403     302    302
compare             GET     workspace   404         200     200       200     200    200
compare             POST    workspace   404         302     302       302     302    302
"""

METHODS = ("get", "post", "put", "patch", "delete", "head")


def parse_matrix(text: str) -> tuple[list[str], list[dict[str, str]]]:
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    roles = header[3:]
    return roles, [dict(zip(header, row, strict=True)) for row in rows]


ROLES, ROWS = parse_matrix(ROLE_MATRIX)
CELLS = [
    pytest.param(row, role, id=f"{row['route']}-{row['method']}-{role}")
    for row, role in itertools.product(ROWS, ROLES)
]


def gallery_route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace == "gallery":
                names.add(pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def test_every_gallery_url_has_a_row_in_the_role_matrix():
    assert gallery_route_names() == {row["route"] for row in ROWS}


def test_the_matrix_names_every_role():
    assert ["non-member", *Role.values] == ROLES


@pytest.fixture
def team(password):
    """A team with one member of each role; the owner made one generation with one image. The
    non-member has a workspace (and rows) of their own."""
    users = {
        role: get_user_model().objects.create_user(role.replace("-", ""), password=password)
        for role in ROLES
    }
    for user in users.values():
        workspaces.create_personal_workspace(user=user)
    workspace = make_team(members={users[role]: role for role in Role.values})
    generation = make_generation(
        created_by=users["owner"], workspace=workspace, prompt="team secret", n=1, status="failed"
    )
    image = imaging.store_image(
        generation=generation, index=0, data=make_image_bytes(format="PNG", size=(32, 32))
    )
    theirs = make_generation(created_by=users["non-member"], prompt="their own", n_images=1)
    board = Board.objects.create(workspace=workspace, created_by=users["owner"], name="Picks")
    board.images.add(image)
    owner = Membership.objects.get(workspace=workspace, user=users["owner"])
    invitation, token = workspaces.create_invitation(
        membership=owner, role=Role.VIEWER, days=7, max_uses=5
    )
    share, share_token = sharing.create_share_link(
        membership=owner, image=image, hours=24, allow_download=True
    )
    comment = comments.add_comment(membership=owner, image=image, body="looks right", x=0.5, y=0.5)
    return {
        "board": board,
        "comment": comment,
        "share": share,
        "share_token": share_token,
        "users": users,
        "workspace": workspace,
        "generation": generation,
        "image": image,
        "theirs": theirs,
        "member": Membership.objects.get(workspace=workspace, user=users["viewer"]),
        "invitation": invitation,
        "token": token,
    }


def url_of(row: dict[str, str], team) -> str:
    route, target = row["route"], row["target"]
    if target == "-":
        return reverse(f"gallery:{route}")
    slug = team["workspace"].slug
    if target == "workspace":
        return reverse(f"gallery:{route}", kwargs={"slug": slug})
    if target == "member":
        return reverse(f"gallery:{route}", kwargs={"slug": slug, "member_id": team["member"].pk})
    if target == "invitation":
        kwargs = {"slug": slug, "invitation_id": team["invitation"].pk}
        return reverse(f"gallery:{route}", kwargs=kwargs)
    if target == "invite":
        kwargs = {"pk": team["invitation"].pk, "token": team["token"]}
        return reverse(f"gallery:{route}", kwargs=kwargs)
    if target == "share":
        return reverse(f"gallery:{route}", kwargs={"slug": slug, "link_id": team["share"].pk})
    if target == "shared":
        kwargs = {"token": team["share_token"]}
        if route == "shared_file":
            kwargs.update(key=sharing.image_key(team["image"]), variant="large")
        return reverse(f"gallery:{route}", kwargs=kwargs)
    kwargs = {"pk": team[target].pk}
    if route == "image_thumbnail":
        kwargs["size"] = "small"
    return reverse(f"gallery:{route}", kwargs=kwargs)


def data_for(row: dict[str, str], team) -> dict[str, object]:
    """What a person using the page would send (so an allowed request succeeds)."""
    if row["route"] == "generate" and row["method"] == "POST":
        return {
            "model": "demo",
            "prompt": "a fox",
            "n": "1",
            "size": "960x960",
            "idempotency_key": "matrix",
        }
    if row["route"] in ("images_zip", "board_remove_images"):
        return {"image": [team["image"].pk]}
    if row["route"] == "board_add_images":
        return {"image": [team["image"].pk], "board": team["board"].pk}
    if row["route"] == "budget":
        return {"monthly_budget": "10", "member_per_minute": "5"}
    if row["route"] in ("boards", "board_edit") and row["method"] == "POST":
        return {"name": "Shortlist", "visibility": "workspace"}
    if row["route"] in ("comment_add", "comment_edit"):
        return {"body": "a note"}
    if row["route"] in ("compare",):
        return {"image": [team["image"].pk]}
    if row["route"] in ("image_share", "board_share"):
        return {"hours": "24", "show_prompt": "on"}
    return {
        "member_add": {"username": "nonmember", "role": "viewer"},
        "member_role": {"role": "reviewer"},
        "invitation_create": {"role": "viewer", "days": "7", "max_uses": "1"},
        "workspace_rename": {"name": "Renamed"},
        "workspace_transfer": {"member": team["member"].pk},
        "workspace_create": {"name": "Another team"},
        "preferences": {"language": "zh-hans", "time_zone": "Asia/Shanghai"},
        "time_zone_detect": {"time_zone": "Europe/Paris"},
    }.get(row["route"], {})


@pytest.mark.parametrize(("row", "role"), CELLS)
def test_role_matrix(client, team, row, role):
    client.force_login(team["users"][role])
    url = url_of(row, team)
    response = getattr(client, row["method"].lower())(url, data_for(row, team))
    assert response.status_code == int(row[role]), (role, row["method"], url)


# Pages that are not one workspace's or one row's: any logged-in user may open them.
OPEN_TO_EVERYONE = {
    "home",
    "workspace_create",
    "invitation",
    "shared",
    "shared_file",
    "preferences",
    "time_zone_detect",
}
# Pages anyone holding the link may open, logged in or not (tests/views/test_sharing.py).
NO_LOGIN = {"home", "invitation", "shared", "shared_file"}


@pytest.mark.parametrize("route", sorted({row["route"] for row in ROWS} - OPEN_TO_EVERYONE))
def test_methods_a_route_does_not_take(client, team, route):
    """Every other method: 405 to the owner, and 404 first to a non-member."""
    rows = [row for row in ROWS if row["route"] == route]
    listed = {row["method"].lower() for row in rows}
    if "get" in listed:
        listed.add("head")
    url = url_of(rows[0], team)
    for method in METHODS:
        client.force_login(team["users"]["non-member"])
        assert getattr(client, method)(url).status_code == 404, (method, url)
        if method not in listed:
            client.force_login(team["users"]["owner"])
            assert getattr(client, method)(url).status_code == 405, (method, url)


@pytest.mark.parametrize("row", [row for row in ROWS if row["route"] not in NO_LOGIN], ids=str)
def test_an_anonymous_visitor_is_sent_to_log_in(client, team, row):
    response = getattr(client, row["method"].lower())(url_of(row, team))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "route", ["generation_delete", "generation_restore", "generation_retry", "generation_cancel"]
)
def test_an_editor_may_trash_and_retry_what_they_made(client, team, route):
    editor = team["users"]["editor"]
    mine = make_generation(
        created_by=editor, workspace=team["workspace"], status="failed", n_images=1
    )
    client.force_login(editor)
    assert client.post(reverse(f"gallery:{route}", args=[mine.pk])).status_code == 302


def test_an_editor_may_trash_and_restore_their_own_images(client, team):
    editor = team["users"]["editor"]
    mine = make_generation(created_by=editor, workspace=team["workspace"], n_images=1)
    image = mine.images.get()
    client.force_login(editor)
    assert client.post(reverse("gallery:image_delete", args=[image.pk])).status_code == 302
    assert Image.objects.get(pk=image.pk).deleted_at is not None
    assert client.post(reverse("gallery:image_restore", args=[image.pk])).status_code == 302
    assert Image.objects.get(pk=image.pk).deleted_at is None


def test_ids_of_one_workspace_never_open_in_another(client, team):
    """Workspace pages that take ids in the query or the body look them up in their own
    workspace only: a member of both cannot pull a row of one into the other."""
    owner = team["users"]["owner"]
    own_slug = workspaces.personal_membership(user=owner).workspace.slug
    client.force_login(owner)
    for method in ("get", "post"):
        response = getattr(client, method)(
            reverse("gallery:images_zip", args=[own_slug]), {"image": [team["image"].pk]}
        )
        assert response.status_code == 404
    response = client.post(
        reverse("gallery:generate", args=[own_slug]),
        {
            "model": "demo",
            "prompt": "stolen",
            "n": "1",
            "size": "960x960",
            "idempotency_key": "x",
            "parent": team["generation"].pk,
        },
    )
    assert response.status_code == 404
    page = client.get(reverse("gallery:index", args=[own_slug]), {"remix": team["generation"].pk})
    assert "team secret</textarea>" not in page.content.decode()
    assert not Generation.objects.filter(prompt="stolen").exists()


def test_lists_never_show_another_workspace_s_rows(client, team):
    client.force_login(team["users"]["non-member"])
    own_slug = workspaces.personal_membership(user=team["users"]["non-member"]).workspace.slug
    for name in ("index", "prompts", "trash"):
        content = client.get(reverse(f"gallery:{name}", args=[own_slug])).content.decode()
        assert "their own" in content or name == "trash"
        assert "team secret" not in content
        assert reverse("gallery:image", args=[team["image"].pk]) not in content


def test_an_editor_manages_their_own_board_but_not_another_s(client, team):
    editor = team["users"]["editor"]
    mine = Board.objects.create(workspace=team["workspace"], created_by=editor, name="Mine")
    client.force_login(editor)
    image = team["image"].pk
    assert (
        client.post(
            reverse("gallery:board_edit", args=[mine.pk]),
            {"name": "Renamed", "visibility": "workspace"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("gallery:board_remove_images", args=[mine.pk]), {"image": image}
        ).status_code
        == 302
    )
    assert client.post(reverse("gallery:board_delete", args=[mine.pk])).status_code == 302
    assert not Board.objects.filter(pk=mine.pk).exists()
    # Adding to the owner's shared board is allowed; taking off or deleting it is not.
    add = {"board": team["board"].pk, "image": image}
    assert (
        client.post(
            reverse("gallery:board_add_images", args=[team["workspace"].slug]), add
        ).status_code
        == 302
    )
    assert client.post(reverse("gallery:board_delete", args=[team["board"].pk])).status_code == 403


def test_a_private_board_is_hidden_from_every_other_member(client, team):
    owner, admin = team["users"]["owner"], team["users"]["admin"]
    private = Board.objects.create(
        workspace=team["workspace"], created_by=owner, name="Only me", visibility="private"
    )
    client.force_login(admin)
    assert client.get(reverse("gallery:board", args=[private.pk])).status_code == 404
    assert client.post(reverse("gallery:board_delete", args=[private.pk])).status_code == 404
    add = {"board": private.pk, "image": team["image"].pk}
    slug = team["workspace"].slug
    assert client.post(reverse("gallery:board_add_images", args=[slug]), add).status_code == 404
    listing = client.get(reverse("gallery:boards", args=[slug])).content.decode()
    assert reverse("gallery:board", args=[private.pk]) not in listing
    client.force_login(owner)
    assert client.get(reverse("gallery:board", args=[private.pk])).status_code == 200


def test_boards_never_take_images_of_another_workspace(client, team):
    """A member of two workspaces cannot put an image of one on a board of the other."""
    owner = team["users"]["owner"]
    own = workspaces.personal_membership(user=owner).workspace
    own_board = Board.objects.create(workspace=own, created_by=owner, name="Own")
    client.force_login(owner)
    add = {"board": own_board.pk, "image": team["image"].pk}
    client.post(reverse("gallery:board_add_images", args=[own.slug]), add)
    assert not own_board.images.exists()
    # Nor name a board of the other workspace from this one's URL.
    add = {"board": team["board"].pk, "image": team["image"].pk}
    assert client.post(reverse("gallery:board_add_images", args=[own.slug]), add).status_code == 404


def test_a_removed_member_is_locked_out(client, team):
    editor = team["users"]["editor"]
    Membership.objects.filter(user=editor, workspace=team["workspace"]).delete()
    client.force_login(editor)
    assert client.get(reverse("gallery:image", args=[team["image"].pk])).status_code == 404
    assert client.get(reverse("gallery:index", args=[team["workspace"].slug])).status_code == 404
    # What they made stays in the workspace.
    assert Generation.objects.filter(workspace=team["workspace"]).exists()


# Operator URLs outside the gallery, asked without logging in (a load balancer, Prometheus).
# They show no user's data; /metrics answers only with ATELIER_METRICS_TOKEN.
OPERATOR_ROUTES = {"healthz", "metrics"}


def top_level_route_names() -> set[str]:
    return {
        pattern.name
        for pattern in get_resolver().url_patterns
        if isinstance(pattern, URLPattern) and pattern.name
    }


def test_operator_urls_are_listed_and_need_no_login_but_show_no_user_data(client, settings, team):
    accounts = {
        "signup",
        "login",
        "logout",
        "password_change",
        "password_change_done",
        "set_language",
        "javascript_catalog",
    }
    assert top_level_route_names() == OPERATOR_ROUTES | accounts
    settings.METRICS_TOKEN = "token"
    for name in sorted(OPERATOR_ROUTES):
        response = client.get(reverse(name), headers={"Authorization": "Bearer token"})
        assert response.status_code in (200, 503), (name, response.status_code)
        assert "team secret" not in response.content.decode()
        assert team["image"].original.name not in response.content.decode()
    settings.METRICS_TOKEN = ""
    assert client.get(reverse("metrics")).status_code == 404
