from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gallery.models import Image
from gallery.services import trash

pytestmark = pytest.mark.django_db


def test_bench_media_prints_both_ways_and_leaves_nothing(s3_server, settings):
    settings.STORAGES = s3_server.storages(location=f"bench-{uuid.uuid4().hex[:8]}")
    out = StringIO()
    call_command("bench_media", "--requests", "2", "--size", "64", stdout=out)
    text = out.getvalue()
    for label in ("original", "small thumbnail", "through the view", "302 + fetch"):
        assert label in text
    assert not Image.objects.exists()
    from django.core.files.storage import default_storage

    assert list(trash._walk(default_storage, "")) == []


def test_bench_media_needs_the_object_storage():
    with pytest.raises(CommandError, match="AWS_STORAGE_BUCKET_NAME"):
        call_command("bench_media", stdout=StringIO())
