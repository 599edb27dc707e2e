"""Deleting goes to a trash first: restorable for 30 days, files removed only when emptied."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from itertools import batched
from typing import TYPE_CHECKING

from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.utils import timezone

from gallery.models import Generation, Image

if TYPE_CHECKING:
    from gallery.models import Workspace

logger = logging.getLogger(__name__)

TRASH_DAYS = 30
TRASH_BATCH = 500
# A file younger than this with no row may be an image being stored right now.
ORPHAN_GRACE = timedelta(hours=1)


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


def restore_generation(*, generation: Generation) -> None:
    """Undo trash_generation: the generation and the images trashed with it come back (images
    trashed on their own before it stay in the trash)."""
    with transaction.atomic():
        trashed_at = (
            Generation.objects.filter(pk=generation.pk).values_list("deleted_at", flat=True).get()
        )
        if trashed_at is None:
            return
        Generation.objects.filter(pk=generation.pk).update(deleted_at=None)
        Image.objects.filter(generation=generation, deleted_at=trashed_at).update(deleted_at=None)
    generation.deleted_at = None


def restore_images(*, images: list[Image]) -> int:
    ids = [image.pk for image in images]
    with transaction.atomic():
        count = Image.objects.filter(pk__in=ids, deleted_at__isnull=False).update(deleted_at=None)
        Generation.objects.filter(
            pk__in={image.generation_id for image in images}, deleted_at__isnull=False
        ).update(deleted_at=None)
    return count


def empty_trash(*, workspace: Workspace | None = None, older_than: timedelta | None = None) -> int:
    """Delete trashed images (of one workspace, or of all) for good, files included; return
    how many images went."""
    images = Image.objects.filter(deleted_at__isnull=False)
    generations = Generation.objects.filter(deleted_at__isnull=False)
    if workspace is not None:
        images = images.filter(workspace=workspace)
        generations = generations.filter(workspace=workspace)
    if older_than is not None:
        cutoff = timezone.now() - older_than
        images = images.filter(deleted_at__lt=cutoff)
        generations = generations.filter(deleted_at__lt=cutoff)
    removed = 0
    while batch := list(images.order_by("pk")[:TRASH_BATCH]):
        names = {
            (field_file.storage, field_file.name)
            for image in batch
            for field_file in (image.original, image.thumbnail_small, image.thumbnail_large)
            if field_file.name
        }
        Image.objects.filter(pk__in=[image.pk for image in batch]).delete()
        removed += len(batch)
        # Content-hashed names can be shared by two rows holding the same bytes: a file goes
        # only once no row names it (three indexed lookups per batch, not a scan per file).
        in_use = names_in_use({name for _, name in names})
        for storage, name in names:
            if name not in in_use:
                try:
                    storage.delete(name)
                except OSError:
                    logger.warning("Could not delete %s from storage", name)
    generations.filter(images__isnull=True).delete()
    return removed


def names_in_use(names: set[str]) -> set[str]:
    """Which of these file names an image row still names, in any of its file fields."""
    in_use: set[str] = set()
    for field in ("original", "thumbnail_small", "thumbnail_large"):
        in_use.update(Image.objects.filter(**{f"{field}__in": names}).values_list(field, flat=True))
    return in_use


def remove_orphan_files(*, grace: timedelta = ORPHAN_GRACE) -> int:
    """Delete stored files that no image row names and that are older than `grace`; return how
    many. A worker that dies between writing an image's files and inserting its row leaves such
    files (and FileSystemStorage leaves `.part` files of interrupted writes); the grace period
    keeps the files of an image being stored right now."""
    storage = default_storage
    cutoff = timezone.now() - grace
    removed = 0
    for batch in batched(_walk(storage, ""), TRASH_BATCH):
        in_use = names_in_use(set(batch))
        for name in batch:
            if name in in_use:
                continue
            try:
                if storage.get_modified_time(name) >= cutoff:
                    continue
                storage.delete(name)
            except OSError:
                logger.warning("Could not delete the orphan file %s", name)
                continue
            removed += 1
    if removed:
        logger.warning("Removed %d stored file(s) that no image names", removed)
    return removed


def _walk(storage: Storage, directory: str) -> Iterator[str]:
    try:
        directories, files = storage.listdir(directory)
    except FileNotFoundError:
        return  # nothing stored yet (a fresh MEDIA_ROOT)
    for filename in files:
        yield f"{directory}{filename}"
    for subdirectory in directories:
        yield from _walk(storage, f"{directory}{subdirectory}/")
