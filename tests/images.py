"""Tiny images made in memory, for any test that needs image bytes."""

from __future__ import annotations

import io
import struct
import zlib
from typing import TYPE_CHECKING, Any

from PIL import Image as PILImage

if TYPE_CHECKING:
    from pathlib import Path

    from gallery.models import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The colour of the right half, per mode: far from the default left-half colour.
CONTRAST: dict[str, int | tuple[int, ...]] = {
    "RGB": (20, 40, 220),
    "RGBA": (20, 40, 220, 255),
    "L": 30,
    "CMYK": (200, 150, 0, 0),
}


def make_image_bytes(
    *,
    format: str = "PNG",
    size: tuple[int, int] = (64, 48),
    color: int | tuple[int, ...] = (200, 80, 40),
    mode: str = "RGB",
    exif_orientation: int | None = None,
    noisy: bool = False,
    **save_options: Any,
) -> bytes:
    """An image whose left half is `color` and right half a contrasting blue.

    The halves make orientation visible: after a turn, the coloured half is somewhere else.
    `noisy` replaces the picture with random noise, for files whose pixel data is most of the
    file (truncating one then cuts into the pixels). Extra keywords go to Pillow's save().
    """
    if noisy:
        image = PILImage.merge("RGB", [PILImage.effect_noise(size, 80) for _ in range(3)])
        image = image.convert(mode)
    else:
        image = PILImage.new(mode, size, color)
        image.paste(CONTRAST[mode], (size[0] // 2, 0, *size))
    if exif_orientation is not None:
        exif = PILImage.Exif()
        exif[0x0112] = exif_orientation
        save_options["exif"] = exif.tobytes()
    out = io.BytesIO()
    image.save(out, format=format, **save_options)
    return out.getvalue()


def png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(chunk_type + data)
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", checksum)


def make_decompression_bomb_png(*, width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG of a few dozen bytes whose header declares a huge greyscale image."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def open_image(data: bytes) -> PILImage.Image:
    """The decoded image; its `format`, `size`, `mode`, `info` and pixels are there to check."""
    image = PILImage.open(io.BytesIO(data))
    image.load()
    return image


def pixels_of(data: bytes) -> bytes:
    """Every decoded pixel, to compare two files' pictures."""
    image = open_image(data)
    return image.mode.encode() + repr(image.size).encode() + image.tobytes()


# What tests of stored images look at.


def files_under(root: Path) -> set[str]:
    """Every file below root, temporary ones included, as paths relative to it."""
    if not root.exists():
        return set()
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def stored_names(image: Image) -> set[str]:
    # A tiny flat picture can encode to the same bytes at both thumbnail settings, and then
    # both fields name one file.
    return {image.original.name, image.thumbnail_small.name, image.thumbnail_large.name}


def read(field_file) -> bytes:
    with field_file.open("rb") as handle:
        return handle.read()


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))
