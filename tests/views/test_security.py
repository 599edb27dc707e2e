"""Every URL of the app that takes an id answers 404 to anyone but its owner, whatever the method.

The test walks the URL patterns themselves: a new pattern that is not listed here fails the
suite until someone says how to reach it with another person's id.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from gallery.services import imaging
from tests.factories import make_generation
from tests.images import make_image_bytes

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete", "head")

# name → (which object's id it takes, extra URL kwargs, the method its owner uses)
ID_ROUTES = {
    "generation": ("generation", {}, "get"),
    "generation_cancel": ("generation", {}, "post"),
    "generation_retry": ("generation", {}, "post"),
    "generation_rerun": ("generation", {}, "post"),
    "generation_delete": ("generation", {}, "post"),
    "image": ("image", {}, "get"),
    "image_original": ("image", {}, "get"),
    "image_thumbnail": ("image", {"size": "small"}, "get"),
    "image_favorite": ("image", {}, "post"),
    "image_delete": ("image", {}, "post"),
    "image_restore": ("image", {}, "post"),
    "image_download": ("image", {}, "get"),
}
# Pages without an id in their URL: they list only the user's own rows (tested elsewhere),
# or take ids in the body (the zip, checked below).
NO_ID_ROUTES = {"index", "generate", "images_zip", "prompts", "usage", "trash", "trash_empty"}


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


def test_every_gallery_url_is_covered_by_this_test():
    assert gallery_route_names() == set(ID_ROUTES) | NO_ID_ROUTES


@pytest.fixture
def owned_objects(user):
    generation = make_generation(owner=user, prompt="mine", n=1, status="failed")
    data = make_image_bytes(format="PNG", size=(32, 32))
    image = imaging.store_image(generation=generation, index=0, data=data)
    return {"generation": generation, "image": image}


@pytest.mark.parametrize("name", sorted(ID_ROUTES))
def test_another_user_gets_404_whatever_the_method(client, other_user, owned_objects, name):
    kind, extra, _ = ID_ROUTES[name]
    url = reverse(f"gallery:{name}", kwargs={"pk": owned_objects[kind].pk, **extra})
    client.force_login(other_user)
    for method in METHODS:
        response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)


@pytest.mark.parametrize("name", sorted(ID_ROUTES))
def test_the_owner_is_not_refused(client, user, owned_objects, name):
    kind, extra, method = ID_ROUTES[name]
    url = reverse(f"gallery:{name}", kwargs={"pk": owned_objects[kind].pk, **extra})
    client.force_login(user)
    response = getattr(client, method)(url)
    assert response.status_code in (200, 302), (url, response.status_code)


@pytest.mark.parametrize("name", sorted(ID_ROUTES))
def test_an_anonymous_visitor_is_sent_to_log_in(client, owned_objects, name):
    kind, extra, method = ID_ROUTES[name]
    url = reverse(f"gallery:{name}", kwargs={"pk": owned_objects[kind].pk, **extra})
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_zip_of_another_user_s_images_is_404(client, other_user, owned_objects):
    client.force_login(other_user)
    for method in ("get", "post"):
        response = getattr(client, method)(
            reverse("gallery:images_zip"), {"image": [owned_objects["image"].pk]}
        )
        assert response.status_code == 404


def test_lists_never_show_another_user_s_rows(client, other_user, owned_objects):
    client.force_login(other_user)
    for name in ("index", "prompts", "trash"):
        content = client.get(reverse(f"gallery:{name}")).content.decode()
        assert "mine" not in content
        assert reverse("gallery:image", args=[owned_objects["image"].pk]) not in content


def test_the_remix_parent_must_be_the_user_s(client, other_user, owned_objects):
    client.force_login(other_user)
    response = client.post(
        reverse("gallery:generate"),
        {
            "model": "demo",
            "prompt": "stolen",
            "n": "1",
            "size": "960x960",
            "idempotency_key": "x",
            "parent": owned_objects["generation"].pk,
        },
    )
    assert response.status_code == 404
    page = client.get(reverse("gallery:index"), {"remix": owned_objects["generation"].pk})
    assert "mine</textarea>" not in page.content.decode()


# Operator URLs outside the gallery, asked without logging in (a load balancer, Prometheus).
# They show no user's data; /metrics answers only with ATELIER_METRICS_TOKEN.
OPERATOR_ROUTES = {"healthz", "metrics"}


def top_level_route_names() -> set[str]:
    return {
        pattern.name
        for pattern in get_resolver().url_patterns
        if isinstance(pattern, URLPattern) and pattern.name
    }


def test_operator_urls_are_listed_and_need_no_login_but_show_no_user_data(
    client, settings, owned_objects
):
    accounts = {"signup", "login", "logout", "password_change", "password_change_done"}
    assert top_level_route_names() == OPERATOR_ROUTES | accounts
    settings.METRICS_TOKEN = "token"
    for name in sorted(OPERATOR_ROUTES):
        response = client.get(reverse(name), headers={"Authorization": "Bearer token"})
        assert response.status_code in (200, 503), (name, response.status_code)
        assert "mine" not in response.content.decode()
        assert owned_objects["image"].original.name not in response.content.decode()
    settings.METRICS_TOKEN = ""
    assert client.get(reverse("metrics")).status_code == 404
