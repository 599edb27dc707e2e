from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from gallery.models import Generation, Image
from gallery.services import imaging
from tests.factories import make_generation
from tests.images import make_image_bytes

pytestmark = pytest.mark.django_db


def trashed_image(user, *, days_ago: float, color) -> Image:
    generation = make_generation(owner=user, prompt=f"trashed {days_ago}", n=1)
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
