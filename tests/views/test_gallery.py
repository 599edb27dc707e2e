"""The gallery page, the detail view and the actions on an image, without a browser."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse

from gallery.models import Generation, Image
from gallery.services import imaging
from tests.factories import make_generation, make_image, trash_image
from tests.images import make_image_bytes

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def stored_generation(user, *, prompt="a red fox in the snow", n=2, **fields):
    """A generation whose images have real files (stored through the images service)."""
    generation = make_generation(created_by=user, prompt=prompt, n=n, **fields)
    for index in range(n):
        data = make_image_bytes(format="PNG", size=(40 + index, 30), color=(200, 30 * index, 90))
        imaging.store_image(generation=generation, index=index, data=data)
    return generation


def test_the_grid_shows_the_newest_images_first_with_sizes_and_placeholders(user_client, user):
    old = make_generation(created_by=user, prompt="an old lighthouse", n_images=1)
    new = make_generation(created_by=user, prompt="a new lighthouse", n_images=1)
    content = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    assert content.index("a new lighthouse") < content.index("an old lighthouse")
    image = new.images.get()
    assert f'width="{image.width}" height="{image.height}"' in content
    assert f"background: {image.placeholder_color}" in content
    assert old.images.get().pk != image.pk
    assert "Nothing here yet" not in content


def test_the_grid_pages_with_a_cursor_and_htmx_gets_only_the_next_tiles(user_client, user):
    for number in range(50):
        make_generation(created_by=user, prompt=f"fox number {number}", n_images=1)
    first = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    assert first.count('class="tile"') == 48
    assert 'id="load-more"' in first
    assert 'hx-trigger="revealed"' in first
    next_url = first.split('id="load-more" class="load-more button" href="')[1].split('"')[0]
    next_url = next_url.replace("&amp;", "&")

    fragment = user_client.get(
        reverse("gallery:index", args=["ada"]) + next_url, HTTP_HX_TARGET="load-more", **HTMX
    ).content.decode()
    assert fragment.count('class="tile"') == 2
    assert "<html" not in fragment
    assert 'id="load-more"' not in fragment  # the last page

    page_two = user_client.get(reverse("gallery:index", args=["ada"]) + next_url).content.decode()
    assert "<html" in page_two
    assert page_two.count('class="tile"') == 2


def test_search_and_filters_narrow_the_grid_and_live_in_the_url(user_client, user):
    make_generation(created_by=user, prompt="画一只猫在月亮上", n_images=1, model="demo")
    make_generation(created_by=user, prompt="a dog on the moon", n_images=1, model="gpt-image-1")
    response = user_client.get(
        reverse("gallery:index", args=["ada"]),
        {"q": "一只猫"},
        HTTP_HX_TARGET="gallery-results",
        **HTMX,
    )
    content = response.content.decode()
    assert "画一只猫在月亮上" in content
    assert "a dog on the moon" not in content
    assert "<html" not in content
    assert "HX-Target" in response["Vary"]

    content = user_client.get(
        reverse("gallery:index", args=["ada"]), {"model": "gpt-image-1"}
    ).content.decode()
    assert "a dog on the moon" in content
    assert "画一只猫在月亮上" not in content
    assert '<option value="gpt-image-1" selected>' in content

    content = user_client.get(
        reverse("gallery:index", args=["ada"]), {"q": "zebra"}
    ).content.decode()
    assert "Nothing matches" in content


def test_the_generations_view_shows_one_tile_per_generation(user_client, user):
    make_generation(created_by=user, prompt="four foxes", n_images=4)
    content = user_client.get(
        reverse("gallery:index", args=["ada"]), {"view": "generations"}
    ).content.decode()
    assert content.count("generation-tile") == 1
    assert "4/4" in content


def test_the_grid_query_count_does_not_grow_with_the_page(
    user_client, user, django_assert_max_num_queries
):
    def count_for(number_of_generations):
        for number in range(number_of_generations):
            make_generation(created_by=user, prompt=f"fox {number}", n_images=2)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            user_client.get(reverse("gallery:index", args=["ada"]))
        return len(queries)

    user_client.get(reverse("gallery:index", args=["ada"]))  # the session remembers "ada"
    small = count_for(1)
    large = count_for(30)
    assert small == large
    with django_assert_max_num_queries(12):
        user_client.get(reverse("gallery:index", args=["ada"]), {"view": "generations"})


def test_the_detail_page_shows_every_parameter(user_client, user):
    generation = stored_generation(
        user,
        request_body={"model": "grok-3-image", "prompt": "a red fox in the snow", "n": 2},
        usage={"total_tokens": 16384},
        revised_prompt="A red fox, snow falling",
        aspect_ratio="16:9",
    )
    image = generation.images.get(index=0)
    content = user_client.get(reverse("gallery:image", args=[image.pk])).content.decode()
    assert "a red fox in the snow" in content
    assert "16:9" in content
    assert "16384" in content
    assert "&quot;n&quot;: 2" in content  # the request body, pretty-printed
    assert "at most 9 requests to the service" in content  # 3 runs x 1 call x 3 POSTs
    assert reverse("gallery:image", args=[generation.images.get(index=1).pk]) in content

    fragment = user_client.get(reverse("gallery:image", args=[image.pk]), **HTMX).content.decode()
    assert 'id="image-detail"' in fragment
    assert "<html" not in fragment


def test_favorite_toggles_as_page_and_fragment(user_client, user):
    image = make_image(generation=make_generation(created_by=user))
    response = user_client.post(reverse("gallery:image_favorite", args=[image.pk]))
    assert response.status_code == 302
    assert Image.objects.get(pk=image.pk).is_favorite
    fragment = user_client.post(
        reverse("gallery:image_favorite", args=[image.pk]), {"favorite": "0"}, **HTMX
    ).content.decode()
    assert 'aria-pressed="false"' in fragment
    assert not Image.objects.get(pk=image.pk).is_favorite


def test_delete_goes_to_the_trash_with_undo_and_restore_brings_it_back(user_client, user):
    generation = stored_generation(user, n=1)
    image = generation.images.get()
    response = user_client.post(reverse("gallery:image_delete", args=[image.pk]), follow=True)
    content = response.content.decode()
    assert "Moved to the trash." in content
    restore_url = reverse("gallery:image_restore", args=[image.pk])
    assert f'action="{restore_url}"' in content
    assert ">Undo</button>" in content
    assert Image.objects.get(pk=image.pk).deleted_at is not None
    assert Generation.objects.get(pk=generation.pk).deleted_at is not None  # no live image left
    assert user_client.get(reverse("gallery:image", args=[image.pk])).status_code == 404
    assert image.original.storage.exists(image.original.name)  # files stay until emptied

    user_client.post(restore_url)
    assert Image.objects.get(pk=image.pk).deleted_at is None
    assert Generation.objects.get(pk=generation.pk).deleted_at is None


def test_emptying_the_trash_removes_rows_and_files(user_client, user):
    generation = stored_generation(user, n=1)
    image = generation.images.get()
    user_client.post(reverse("gallery:image_delete", args=[image.pk]))
    assert "Restore" in user_client.get(reverse("gallery:trash", args=["ada"])).content.decode()
    user_client.post(reverse("gallery:trash_empty", args=["ada"]))
    assert not Image.objects.filter(pk=image.pk).exists()
    assert not image.original.storage.exists(image.original.name)
    assert not image.original.storage.exists(image.thumbnail_small.name)


def test_download_embeds_provenance_and_names_the_file(user_client, user):
    image = stored_generation(user, prompt="a red fox in the snow", n=1).images.get()
    response = user_client.get(reverse("gallery:image_download", args=[image.pk]))
    assert response["Content-Type"] == "image/png"
    assert 'attachment; filename="atelier-' in response["Content-Disposition"]
    assert "a-red-fox-in-the-snow.png" in response["Content-Disposition"]
    assert b"atelier:provenance" in response.content
    assert b"a red fox in the snow" in response.content


def test_zip_download_streams_images_and_manifests(user_client, user):
    generation = stored_generation(user, prompt="画一只猫", n=2)
    ids = list(generation.images.values_list("pk", flat=True))
    response = user_client.post(reverse("gallery:images_zip", args=["ada"]), {"image": ids})
    assert response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert len([name for name in names if name.endswith(".png")]) == 2
    manifest = json.loads(archive.read("manifest.json"))
    assert {row["prompt"] for row in manifest} == {"画一只猫"}
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [row["file"] for row in rows] == [row["file"] for row in manifest]


def test_zip_of_nothing_says_what_to_do(user_client):
    response = user_client.post(reverse("gallery:images_zip", args=["ada"]), follow=True)
    assert "Select at least one image" in response.content.decode()


def test_original_and_thumbnails_are_served_with_types_etags_and_private_caching(user_client, user):
    image = stored_generation(user, n=1).images.get()
    original = user_client.get(reverse("gallery:image_original", args=[image.pk]))
    assert original["Content-Type"] == "image/png"
    assert b"".join(original.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    thumbnail = user_client.get(reverse("gallery:image_thumbnail", args=[image.pk, "small"]))
    assert thumbnail["Content-Type"] == "image/webp"
    assert "private" in thumbnail["Cache-Control"]
    assert "max-age=31536000" in thumbnail["Cache-Control"]
    again = user_client.get(
        reverse("gallery:image_thumbnail", args=[image.pk, "small"]),
        HTTP_IF_NONE_MATCH=thumbnail["ETag"],
    )
    assert again.status_code == 304


def test_x_accel_redirect_hands_the_file_to_the_front_server(user_client, user, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    image = stored_generation(user, n=1).images.get()
    response = user_client.get(reverse("gallery:image_original", args=[image.pk]))
    assert response["X-Accel-Redirect"] == "/protected-media/" + image.original.name
    assert response.content == b""


def test_rerun_makes_a_new_generation_with_the_same_parameters(user_client, user):
    source = make_generation(created_by=user, prompt="again", model="demo", size="960x960", n=3)
    user_client.post(
        reverse("gallery:generation_rerun", args=[source.pk]), {"idempotency_key": "r"}
    )
    user_client.post(
        reverse("gallery:generation_rerun", args=[source.pk]), {"idempotency_key": "r"}
    )
    rerun = Generation.objects.exclude(pk=source.pk).get()
    assert (rerun.prompt, rerun.model, rerun.size, rerun.n) == ("again", "demo", "960x960", 3)
    assert rerun.status == Generation.Status.QUEUED


def test_remix_prefills_the_form_and_links_the_parent(user_client, user):
    parent = make_generation(created_by=user, prompt="a fox", model="demo", size="960x960")
    content = user_client.get(
        reverse("gallery:index", args=["ada"]), {"remix": parent.pk}
    ).content.decode()
    assert "Remixing" in content
    assert f'name="parent" value="{parent.pk}"' in content
    assert "a fox</textarea>" in content
    user_client.post(
        reverse("gallery:generate", args=["ada"]),
        {
            "model": "demo",
            "prompt": "a fox, at night",
            "n": "1",
            "size": "960x960",
            "idempotency_key": "remix-1",
            "parent": parent.pk,
        },
    )
    child = Generation.objects.get(idempotency_key="remix-1")
    assert child.parent == parent
    page = user_client.get(reverse("gallery:image", args=[make_image(generation=child).pk]))
    assert "Remix of" in page.content.decode()


def test_prompt_history_and_usage_pages(user_client, user):
    make_generation(created_by=user, prompt="A  Fox", n_images=1, usage={"total_tokens": 100})
    make_generation(created_by=user, prompt="a fox", n_images=1, usage={"total_tokens": 50})
    content = user_client.get(reverse("gallery:prompts", args=["ada"])).content.decode()
    assert content.count('class="prompt-row"') == 1
    assert "2 generations" in content
    content = user_client.get(reverse("gallery:usage", args=["ada"])).content.decode()
    assert ">150<" in content
    fragment = user_client.get(reverse("gallery:prompts", args=["ada"]), {"q": "zebra"}, **HTMX)
    assert "No prompt matches" in fragment.content.decode()


@pytest.mark.parametrize(
    ("data", "large_type"),
    [
        (make_image_bytes(format="JPEG", size=(400, 300)), "image/jpeg"),  # the original itself
        (make_image_bytes(format="WEBP", size=(400, 300)), "image/webp"),  # the original itself
        (make_image_bytes(format="PNG", size=(400, 300)), "image/jpeg"),  # an encoded JPEG
        (
            make_image_bytes(format="PNG", size=(400, 300), mode="RGBA", color=(9, 9, 9, 100)),
            "image/webp",
        ),
    ],
    ids=["jpeg", "webp", "png", "png-alpha"],
)
def test_the_preview_is_served_with_the_type_of_its_file(user_client, user, data, large_type):
    generation = make_generation(created_by=user, n=1)
    image = imaging.store_image(generation=generation, index=0, data=data)
    url = reverse("gallery:image_thumbnail", args=[image.pk, "large"])

    preview = user_client.get(url)

    assert preview.status_code == 200
    assert preview["Content-Type"] == large_type
    with image.thumbnail_large.open("rb") as stored:
        assert b"".join(preview.streaming_content) == stored.read()
    assert "private" in preview["Cache-Control"]
    assert "max-age=31536000" in preview["Cache-Control"]
    assert user_client.get(url, HTTP_IF_NONE_MATCH=preview["ETag"]).status_code == 304
    small = user_client.get(reverse("gallery:image_thumbnail", args=[image.pk, "small"]))
    assert small["Content-Type"] == "image/webp"
    assert small["ETag"] != preview["ETag"]


def test_emptying_the_trash_removes_a_jpeg_that_is_its_own_preview(user_client, user):
    generation = make_generation(created_by=user, n=1)
    data = make_image_bytes(format="JPEG", size=(400, 300))
    image = imaging.store_image(generation=generation, index=0, data=data)
    assert image.thumbnail_large.name == image.original.name
    storage = image.original.storage

    user_client.post(reverse("gallery:image_delete", args=[image.pk]))
    user_client.post(reverse("gallery:trash_empty", args=["ada"]))

    assert not Image.objects.filter(pk=image.pk).exists()
    assert not storage.exists(image.original.name)
    assert not storage.exists(image.thumbnail_small.name)


def test_the_trash_keeps_a_shared_original_and_preview_while_another_image_uses_them(
    user_client, user
):
    data = make_image_bytes(format="JPEG", size=(400, 300))
    first = imaging.store_image(
        generation=make_generation(created_by=user, n=1), index=0, data=data
    )
    second = imaging.store_image(
        generation=make_generation(created_by=user, n=1), index=0, data=data
    )
    assert first.original.name == second.original.name == second.thumbnail_large.name
    storage = first.original.storage

    user_client.post(reverse("gallery:image_delete", args=[first.pk]))
    user_client.post(reverse("gallery:trash_empty", args=["ada"]))

    assert not Image.objects.filter(pk=first.pk).exists()
    assert storage.exists(second.original.name)
    assert storage.exists(second.thumbnail_small.name)
    preview = user_client.get(reverse("gallery:image_thumbnail", args=[second.pk, "large"]))
    assert b"".join(preview.streaming_content) == data

    user_client.post(reverse("gallery:image_delete", args=[second.pk]))
    user_client.post(reverse("gallery:trash_empty", args=["ada"]))

    assert not storage.exists(second.original.name)
    assert not storage.exists(second.thumbnail_small.name)


def test_a_status_without_images_shows_the_generations(user_client, user):
    make_generation(created_by=user, prompt="it broke", status=Generation.Status.FAILED)
    content = user_client.get(
        reverse("gallery:index", args=["ada"]), {"status": "failed"}
    ).content.decode()
    assert "generation-tile" in content
    assert "it broke" in content


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("index", {}),
        ("index", {"view": "generations"}),
        ("index", {"q": "fox"}),
        ("prompts", {}),
        ("trash", {}),
        ("usage", {}),
    ],
)
def test_list_views_make_as_many_queries_for_many_rows_as_for_one(user_client, user, name, params):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The first workspace page of a session remembers the workspace in it (a session write).
    user_client.get(reverse("gallery:index", args=["ada"]))

    def queries_with(number_of_generations):
        for number in range(number_of_generations):
            generation = make_generation(
                created_by=user, prompt=f"fox {number}", n_images=2, usage={"total_tokens": 10}
            )
            if number % 2:
                trash_image(generation.images.first())
        with CaptureQueriesContext(connection) as queries:
            response = user_client.get(reverse(f"gallery:{name}", args=["ada"]), params)
        assert response.status_code == 200
        return len(queries)

    assert queries_with(1) == queries_with(40)


def test_a_thumbnail_costs_one_query_beyond_the_session(
    user_client, user, django_assert_num_queries
):
    image = stored_generation(user, n=1).images.get()
    url = reverse("gallery:image_thumbnail", args=[image.pk, "small"])
    with django_assert_num_queries(3):  # the session, the user, the image
        response = user_client.get(url)
    with django_assert_num_queries(3):
        assert user_client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert user_client.post(url).status_code == 405
