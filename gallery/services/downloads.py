"""Downloads that carry their provenance: one original, or a streamed zip of many."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

from gallery.models import Image
from gallery.services.provenance import embed_provenance

MANIFEST_FIELDS = [
    "file",
    "image_id",
    "generation_id",
    "index",
    "prompt",
    "revised_prompt",
    "model",
    "size",
    "aspect_ratio",
    "n",
    "quality",
    "resolution",
    "response_format",
    "format",
    "width",
    "height",
    "bytes",
    "sha256",
    "created_at",
    "parent_generation_id",
]


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), a DDE
# call): manifest.csv prefixes such text cells with an apostrophe, which shows it as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """The value as a spreadsheet shows it and never runs it (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def provenance(image: Image) -> dict[str, Any]:
    """Every parameter of the image's generation, as stored in files and manifests."""
    generation = image.generation
    return {
        "image_id": image.pk,
        "generation_id": generation.pk,
        "index": image.index,
        "prompt": generation.prompt,
        "revised_prompt": image.revised_prompt,
        "model": generation.model,
        "size": generation.size,
        "aspect_ratio": generation.aspect_ratio,
        "n": generation.n,
        "quality": generation.quality,
        "resolution": generation.resolution,
        "response_format": generation.response_format,
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "bytes": image.bytes,
        "sha256": image.sha256,
        "created_at": image.created_at.isoformat(),
        "parent_generation_id": generation.parent_id,
    }


def download_name(image: Image) -> str:
    """A file name a person can recognise: the prompt's first words, the ids, the format."""
    words = re.sub(r"[^\w]+", "-", image.generation.prompt.casefold(), flags=re.UNICODE)
    slug = words.strip("-")[:48].rstrip("-") or "image"
    extension = "jpg" if image.format == "jpeg" else image.format
    return f"atelier-{image.generation_id}-{image.index + 1}-{slug}.{extension}"


def original_with_provenance(image: Image) -> bytes:
    with image.original.open("rb") as handle:
        data = handle.read()
    metadata = {
        "Title": image.generation.prompt,
        "Software": "Atelier",
        "atelier:provenance": json.dumps(provenance(image), ensure_ascii=False),
    }
    return embed_provenance(data=data, image_format=image.format, metadata=metadata)


class _Sink(io.RawIOBase):
    """A write-only stream that hands out what was written since the last call."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        chunk = b"".join(self._chunks)
        self._chunks.clear()
        return chunk


def stream_zip(selected: Iterable[Image]) -> Iterator[bytes]:
    """Yield a zip of the images (with provenance) plus manifest.json and manifest.csv.

    The archive is produced file by file as the response is sent: memory holds one image at
    a time, never the whole zip.
    """
    sink = _Sink()
    manifest: list[dict[str, Any]] = []
    used_names: set[str] = set()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for image in selected:
            name = download_name(image)
            if name in used_names:
                name = f"{image.pk}-{name}"
            used_names.add(name)
            try:
                data = original_with_provenance(image)
            except FileNotFoundError:
                continue  # its file is gone; the manifest only lists what the zip holds
            # Images are already compressed: storing them keeps the zip fast to make.
            archive.writestr(name, data)
            manifest.append({"file": name, **provenance(image)})
            yield sink.drain()
        archive.writestr(
            "manifest.json",
            json.dumps(manifest, ensure_ascii=False, indent=2),
            compress_type=zipfile.ZIP_DEFLATED,
        )
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(
            {key: spreadsheet_safe(value) for key, value in row.items()} for row in manifest
        )
        archive.writestr(
            "manifest.csv", text.getvalue().encode("utf-8-sig"), compress_type=zipfile.ZIP_DEFLATED
        )
    yield sink.drain()
