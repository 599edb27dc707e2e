"""Originals and thumbnails on a real S3 server (SeaweedFS, tests/s3.py): stored, served through
the owner-checked views or by presigned redirect, emptied from the trash, swept when orphaned."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from gallery.models import Image
from gallery.ops import health
from gallery.services import trash
from tests.views.test_gallery import stored_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_s3(s3_server, settings):
    """The default storage on the S3 server, under a prefix of this test's own."""
    settings.STORAGES = s3_server.storages(location=f"test-{uuid.uuid4().hex[:8]}")
    assert not default_storage.exists("anything")  # the override took
    return s3_server


def test_images_are_stored_in_the_bucket_and_served_through_the_owner_checked_views(
    on_s3, user_client, user, media_root
):
    image = stored_generation(user, n=1).images.get()
    assert default_storage.exists(image.original.name)
    assert not media_root.exists() or not any(media_root.rglob("*"))  # nothing on local disk

    original = user_client.get(reverse("gallery:image_original", args=[image.pk]))
    assert original.status_code == 200
    assert b"".join(original.streaming_content) == image.original.open("rb").read()
    small = user_client.get(reverse("gallery:image_thumbnail", args=[image.pk, "small"]))
    assert small["Content-Type"] == "image/webp"
    download = user_client.get(reverse("gallery:image_download", args=[image.pk]))
    assert b"atelier:provenance" in download.content


def test_presigned_redirects_send_the_file_from_the_bucket(on_s3, user_client, user, settings):
    settings.MEDIA_REDIRECTS = True
    image = stored_generation(user, n=1).images.get()
    response = user_client.get(reverse("gallery:image_original", args=[image.pk]))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(on_s3.endpoint_url)
    assert "X-Amz-Signature=" in location
    assert "max-age=150" in response["Cache-Control"]
    fetched = httpx.get(location)
    assert fetched.status_code == 200
    assert fetched.content == image.original.open("rb").read()
    # Without the signature the bucket refuses: the redirect is the only way in.
    assert httpx.get(location.split("?")[0]).status_code == 403


def test_a_missing_object_is_a_404(on_s3, user_client, user):
    image = stored_generation(user, n=1).images.get()
    default_storage.delete(image.original.name)
    response = user_client.get(reverse("gallery:image_download", args=[image.pk]))
    assert response.status_code == 404


def test_the_trash_and_the_orphan_sweep_delete_objects(on_s3, user):
    image = stored_generation(user, n=1).images.get()
    names = [image.original.name, image.thumbnail_small.name, image.thumbnail_large.name]
    Image.objects.filter(pk=image.pk).update(deleted_at="2000-01-01T00:00:00Z")
    assert trash.empty_trash() == 1
    assert not any(default_storage.exists(name) for name in names)

    orphan = default_storage.save(f"u{user.pk}/originals/crashed.png", ContentFile(b"x"))
    assert trash.remove_orphan_files(grace=timedelta(hours=1)) == 0  # too young
    assert trash.remove_orphan_files(grace=timedelta(0)) == 1
    assert not default_storage.exists(orphan)


def test_healthz_checks_the_bucket(on_s3, client):
    health.beat(worker_id="w1")
    assert client.get(reverse("healthz")).json()["storage"] == "ok"
