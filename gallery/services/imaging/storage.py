"""Storing one image of a generation's result: its original and thumbnails, then its row.

Storing a result (`store_image`) keeps the original byte for byte under its SHA-256 (what the
provider sent is what a download returns), and writes its thumbnails under the hashes of their
own bytes: a WebP for the grid and a preview for the lightbox (a JPEG, or a WebP when the picture
has transparency). A JPEG or WebP original that fits the preview's box needs no preview of its
own: thumbnail_large then names the original's file. Every file is complete before its name
exists, so a worker that dies mid-way leaves at worst an unreferenced finished file, which a
re-run reuses.

EXIF orientation: the original keeps its orientation tag (provenance: the stored bytes are the
provider's), while `width` and `height` record the picture as displayed (browsers honour the
tag) and the thumbnails are turned upright with no tag. Django's ImageField would fill its
width_field/height_field with the raw, unturned size if it ever measured the file itself (it
does when a file is assigned to `original` after the instance exists), so store_image passes
every field to the constructor and Django trusts the dimensions given, never opening the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import IntegrityError, transaction
from django.db.models import Q

from gallery.models import Generation, Image
from gallery.services.imaging import decode
from gallery.services.imaging.decode import EXTENSIONS, InvalidImageError

logger = logging.getLogger(__name__)


class _FinishedTempFile(File):
    """A complete file on disk that FileSystemStorage moves into place with one rename."""

    def temporary_file_path(self) -> str:
        return self.file.name


def _local_path(storage: Storage, name: str) -> str | None:
    try:
        return storage.path(name)
    except NotImplementedError:
        return None


def _save_content_addressed(*, storage: Storage, name: str, data: bytes) -> tuple[str, bool]:
    """Save data under name unless a file already has that name; return (name, written).

    The name is a hash of the content, so an existing file holds the same bytes, and as every
    write below is atomic it is never a torn one.
    """
    if storage.exists(name):
        return name, False
    final_path = _local_path(storage, name)
    if final_path is None:
        # Object stores (S3 and the like) make an object visible only once its upload completed.
        saved = storage.save(name, ContentFile(data))
    else:
        # FileSystemStorage writes straight to the final name, so a crash would leave half a
        # file there. Write beside it under a temporary name, then let the storage rename it:
        # a rename within one directory is atomic.
        directory, filename = os.path.split(final_path)
        os.makedirs(directory, exist_ok=True)
        temp_path = os.path.join(directory, f".{filename}.{secrets.token_hex(6)}.part")
        # 0o666 through the umask, as FileSystemStorage creates files (mkstemp would make 0o600).
        descriptor = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(descriptor, "wb") as temp_file:
                temp_file.write(data)
            with open(temp_path, "rb") as finished:
                saved = storage.save(name, _FinishedTempFile(finished, name=filename))
        finally:
            if os.path.exists(temp_path):
                os.unlink(temp_path)
    if saved != name:
        # Another worker saved the same content between exists() and save(): keep theirs.
        storage.delete(saved)
        return name, False
    return name, True


def _discard_unreferenced(written: list[tuple[Storage, str]]) -> None:
    for storage, name in written:
        referenced = Image.objects.filter(
            Q(original=name) | Q(thumbnail_small=name) | Q(thumbnail_large=name)
        ).exists()
        if not referenced:
            storage.delete(name)


def store_image(
    *, generation: Generation, index: int, data: bytes, revised_prompt: str = ""
) -> Image:
    """Validate one image of a generation's result, save it with its thumbnails, and record it.

    Idempotent: if the generation already has an image at this index it is returned unchanged,
    so a generation re-run after a worker died never duplicates rows or files. Call it outside
    a long transaction: its files are written first and its row inserted last.

    Raises InvalidImageError (nothing written) when the bytes are not an image we keep.
    """
    existing = Image.objects.filter(generation=generation, index=index).first()
    if existing is not None:
        return existing

    try:
        decoded = decode.decode_pixels(data=data, index=index)
    except InvalidImageError as error:
        logger.warning(
            "Refused image %s of generation %s: %s (%r)",
            index,
            generation.pk,
            error.reason,
            error.__cause__,
        )
        raise

    fields = {
        field: Image._meta.get_field(field)
        for field in ("original", "thumbnail_small", "thumbnail_large")
    }
    # upload_to reads workspace_id from the instance, and the names must be known before the row
    # is built: assigning a file to `original` after __init__ makes Django re-read it for its
    # raw dimensions (see "EXIF orientation" in the module docstring).
    naming = Image(workspace_id=generation.workspace_id, generation=generation, index=index)
    written: list[tuple[Storage, str]] = []

    def save(field: str, content: bytes, *, digest: str, extension: str) -> str:
        storage = fields[field].storage
        name = fields[field].generate_filename(naming, f"{digest}.{extension}")
        name, was_written = _save_content_addressed(storage=storage, name=name, data=content)
        if was_written:
            written.append((storage, name))
        return name

    try:
        # What prepare_image does, with the writes moved under the preview's encoding.
        with decode.preview_in_background(decoded) as preview_result:
            grid = decode.grid_thumbnail(decoded)
            sha256 = hashlib.sha256(data).hexdigest()
            original = save("original", data, digest=sha256, extension=EXTENSIONS[decoded.format])
            small = save(
                "thumbnail_small",
                grid.webp,
                digest=hashlib.sha256(grid.webp).hexdigest(),
                extension="webp",
            )
            preview = preview_result()
        if preview is None:
            # Both fields name one file (they share the default storage); the trash deletes a
            # file only once no row names it in any field.
            large = original
        else:
            large = save(
                "thumbnail_large",
                preview.content,
                digest=hashlib.sha256(preview.content).hexdigest(),
                extension=preview.extension,
            )
        # Every field, the dimensions included, goes through __init__: Django then trusts the
        # width and height given (EXIF-oriented) instead of reading the raw ones from the file.
        image = Image(
            generation=generation,
            workspace_id=generation.workspace_id,
            created_by_id=generation.created_by_id,
            index=index,
            original=original,
            format=decoded.format,
            width=decoded.width,
            height=decoded.height,
            bytes=len(data),
            sha256=sha256,
            thumbnail_small=small,
            thumbnail_large=large,
            placeholder_color=grid.placeholder_color,
            revised_prompt=revised_prompt,
        )
        with transaction.atomic():
            image.save(force_insert=True)
    except IntegrityError:
        # Another run of this generation stored this index first: its row wins.
        _discard_unreferenced(written)
        winner = Image.objects.filter(generation=generation, index=index).first()
        if winner is None:
            raise
        return winner
    except Exception:
        _discard_unreferenced(written)
        raise
    return image
