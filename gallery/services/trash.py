"""Deleting goes to a trash first: restorable for 30 days, files removed only when emptied."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from gallery.models import Generation, Image

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

TRASH_DAYS = 30


def trash_images(*, images: list[Image]) -> int:
    """Move images to the trash; a generation left with no live image goes with them."""
    now = timezone.now()
    ids = [image.pk for image in images]
    with transaction.atomic():
        count = Image.objects.filter(pk__in=ids, deleted_at__isnull=True).update(deleted_at=now)
        generation_ids = {image.generation_id for image in images}
        emptied = Generation.objects.filter(pk__in=generation_ids, deleted_at__isnull=True).exclude(
            images__deleted_at__isnull=True
        )
        emptied.update(deleted_at=now)
    return count


def trash_generation(*, generation: Generation) -> None:
    """Move a generation and all its images to the trash (e.g. dismissing a failed one)."""
    now = timezone.now()
    with transaction.atomic():
        Generation.objects.filter(pk=generation.pk, deleted_at__isnull=True).update(deleted_at=now)
        Image.objects.filter(generation=generation, deleted_at__isnull=True).update(deleted_at=now)


def restore_images(*, images: list[Image]) -> int:
    ids = [image.pk for image in images]
    with transaction.atomic():
        count = Image.objects.filter(pk__in=ids, deleted_at__isnull=False).update(deleted_at=None)
        Generation.objects.filter(
            pk__in={image.generation_id for image in images}, deleted_at__isnull=False
        ).update(deleted_at=None)
    return count


def empty_trash(
    *, user: AbstractBaseUser | None = None, older_than: timedelta | None = None
) -> int:
    """Delete trashed images for good, files included; return how many images went."""
    images = Image.objects.filter(deleted_at__isnull=False)
    generations = Generation.objects.filter(deleted_at__isnull=False)
    if user is not None:
        images = images.filter(owner=user)
        generations = generations.filter(owner=user)
    if older_than is not None:
        cutoff = timezone.now() - older_than
        images = images.filter(deleted_at__lt=cutoff)
        generations = generations.filter(deleted_at__lt=cutoff)
    removed = 0
    for image in images.iterator(chunk_size=500):
        files = [image.original, image.thumbnail_small, image.thumbnail_large]
        names = [(field_file.storage, field_file.name) for field_file in files if field_file.name]
        image.delete()
        removed += 1
        # Content-hashed names can be shared by two rows holding the same bytes.
        for storage, name in names:
            if not Image.objects.filter(original=name).exists() and not _thumbnail_in_use(name):
                try:
                    storage.delete(name)
                except OSError:
                    logger.warning("Could not delete %s from storage", name)
    generations.filter(images__isnull=True).delete()
    return removed


def _thumbnail_in_use(name: str) -> bool:
    from django.db.models import Q

    return Image.objects.filter(Q(thumbnail_small=name) | Q(thumbnail_large=name)).exists()
