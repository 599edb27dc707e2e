from __future__ import annotations

import os
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from gallery.models import Generation, Image
from gallery.services import imaging, trash
from tests.factories import make_generation
from tests.images import make_image_bytes

pytestmark = pytest.mark.django_db


def trashed_image(user, *, days_ago: float, color) -> Image:
    generation = make_generation(created_by=user, prompt=f"trashed {days_ago}", n=1)
    image = imaging.store_image(
        generation=generation, index=0, data=make_image_bytes(format="PNG", color=color)
    )
    when = timezone.now() - timedelta(days=days_ago)
    Image.objects.filter(pk=image.pk).update(deleted_at=when)
    Generation.objects.filter(pk=generation.pk).update(deleted_at=when)
    return image


def test_only_what_has_been_in_the_trash_30_days_goes(user):
    old = trashed_image(user, days_ago=31, color=(10, 20, 30))
    recent = trashed_image(user, days_ago=1, color=(200, 20, 30))
    out = StringIO()
    call_command("empty_trash", stdout=out)
    assert "Deleted 1 image(s)" in out.getvalue()
    assert not Image.objects.filter(pk=old.pk).exists()
    assert not Generation.objects.filter(pk=old.generation_id).exists()
    assert not old.original.storage.exists(old.original.name)
    assert Image.objects.filter(pk=recent.pk).exists()
    assert recent.original.storage.exists(recent.original.name)


def test_all_empties_everything(user):
    recent = trashed_image(user, days_ago=0.1, color=(1, 2, 3))
    call_command("empty_trash", "--all", stdout=StringIO())
    assert not Image.objects.filter(pk=recent.pk).exists()


def test_a_file_another_image_still_names_is_kept(user, other_user):
    data = make_image_bytes(format="PNG", color=(7, 8, 9))
    generation = make_generation(created_by=user, prompt="same bytes", n=2)
    kept = imaging.store_image(generation=generation, index=0, data=data)
    gone = imaging.store_image(generation=generation, index=1, data=data)
    assert kept.original.name == gone.original.name
    Image.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    call_command("empty_trash", "--all", stdout=StringIO())
    assert not Image.objects.filter(pk=gone.pk).exists()
    assert kept.original.storage.exists(kept.original.name)
    assert kept.thumbnail_small.storage.exists(kept.thumbnail_small.name)


def test_emptying_asks_a_fixed_number_of_queries_per_batch(user, django_assert_max_num_queries):
    for number in range(12):
        trashed_image(user, days_ago=40, color=(number * 9, 3, 3))
    # Per batch: read it, delete it (with its comments, looked up once, and share links), three
    # indexed "still named?" lookups; then the generations. A query per file (36 here) would
    # blow this.
    with django_assert_max_num_queries(15):
        assert trash.empty_trash() == 12


def test_files_no_row_names_are_removed_after_the_grace_period(user, settings):
    kept = trashed_image(user, days_ago=0, color=(1, 1, 1))
    storage = kept.original.storage
    old_orphan = storage.save(f"u{user.pk}/originals/crashed.png", ContentFile(b"x"))
    part_file = storage.save(f"u{user.pk}/originals/.abc.png.1234.part", ContentFile(b"x"))
    fresh_orphan = storage.save(f"u{user.pk}/thumbnails/being-stored.webp", ContentFile(b"x"))
    an_hour_ago = (timezone.now() - timedelta(hours=2)).timestamp()
    for name in (old_orphan, part_file, kept.original.name):
        os.utime(storage.path(name), (an_hour_ago, an_hour_ago))

    assert trash.remove_orphan_files(grace=timedelta(hours=1)) == 2

    assert not storage.exists(old_orphan)
    assert not storage.exists(part_file)
    assert storage.exists(fresh_orphan)  # may be an image being stored right now
    assert storage.exists(kept.original.name)  # in the trash, still named by its row
