from __future__ import annotations

import io
import json
from xml.etree import ElementTree

import pytest

from gallery.services import provenance
from tests.images import (
    close_to,
    make_image_bytes,
    open_image,
    pixels_of,
    png_chunk,
)

# --- Provenance in downloads ------------------------------------------------------------------

METADATA = {
    "Title": "一只狐狸在雪地里 — a fox in the snow",
    "Software": "Atelier",
    "atelier:provenance": json.dumps(
        {"prompt": "一只狐狸在雪地里", "model": "grok-3-image", "n": 2}, ensure_ascii=False
    ),
    "model": "grok-3-image",
}


def xmp_values(image) -> dict[str, str]:
    """Each property of the XMP packet Pillow found, by local name (x-default for Alt lists)."""
    # defusedxml is not installed, so Image.getxmp() cannot be used; the packet is our own.
    root = ElementTree.fromstring(image.info["xmp"])  # noqa: S314
    description = root.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert description is not None
    return {element.tag.split("}")[1]: "".join(element.itertext()) for element in description}


def test_png_provenance_is_text_chunks_and_pixels_stay(generation):
    data = make_image_bytes(format="PNG", size=(64, 48), noisy=True)

    embedded = provenance.embed_provenance(data=data, image_format="png", metadata=METADATA)

    image = open_image(embedded)
    assert image.text == METADATA
    assert pixels_of(embedded) == pixels_of(data)
    assert b"iTXt" in embedded  # the Chinese values
    assert png_chunk(b"tEXt", b"Software\x00Atelier") in embedded


def test_png_provenance_replaces_earlier_entries_with_the_same_keys():
    data = make_image_bytes(format="PNG")
    once = provenance.embed_provenance(data=data, image_format="png", metadata=METADATA)

    twice = provenance.embed_provenance(
        data=once, image_format="PNG", metadata={**METADATA, "Software": "Atelier 2"}
    )

    assert open_image(twice).text["Software"] == "Atelier 2"
    assert twice.count(b"Software\x00") == 1


@pytest.mark.parametrize(
    ("pillow_format", "options"),
    [
        ("JPEG", {}),
        ("JPEG", {"exif_orientation": 6}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"mode": "RGBA", "color": (200, 80, 40, 128)}),
        ("WEBP", {"exif_orientation": 3}),
    ],
    ids=["jpeg", "jpeg-exif", "webp-lossy", "webp-lossless", "webp-alpha", "webp-exif"],
)
def test_jpeg_and_webp_provenance_is_xmp_and_pixels_stay(pillow_format, options):
    data = make_image_bytes(format=pillow_format, size=(64, 48), **options)

    embedded = provenance.embed_provenance(
        data=data, image_format=pillow_format.lower(), metadata=METADATA
    )

    image = open_image(embedded)
    values = xmp_values(image)
    assert values["title"] == METADATA["Title"]
    assert values["CreatorTool"] == "Atelier"
    assert json.loads(values["provenance"]) == json.loads(METADATA["atelier:provenance"])
    assert values["model"] == "grok-3-image"
    assert pixels_of(embedded) == pixels_of(data)
    assert image.getexif().get(0x0112) == options.get("exif_orientation")
    # Embedding again replaces the packet instead of adding a second one.
    again = provenance.embed_provenance(
        data=embedded, image_format=pillow_format, metadata=METADATA
    )
    assert again.count(b"<x:xmpmeta") == 1
    assert pixels_of(again) == pixels_of(data)


@pytest.mark.parametrize("pillow_format", ["PNG", "WEBP"])
def test_animations_keep_their_frames_when_provenance_is_embedded(pillow_format):
    frames = [open_image(make_image_bytes(color=color)) for color in ((250, 0, 0), (0, 250, 0))]
    out = io.BytesIO()
    frames[0].save(
        out, format=pillow_format, save_all=True, append_images=frames[1:], lossless=True
    )

    embedded = provenance.embed_provenance(
        data=out.getvalue(), image_format=pillow_format, metadata=METADATA
    )

    image = open_image(embedded)
    assert image.n_frames == 2
    for frame in range(2):
        image.seek(frame)
        assert close_to(image.convert("RGB").getpixel((2, 2)), frames[frame].getpixel((2, 2)))
    if pillow_format == "PNG":
        assert image.text["Title"] == METADATA["Title"]
    else:
        assert xmp_values(image)["title"] == METADATA["Title"]


def test_jpeg_xmp_keeps_jfif_and_exif_first():
    data = make_image_bytes(format="JPEG", exif_orientation=6)

    embedded = provenance.embed_provenance(data=data, image_format="jpg", metadata=METADATA)

    assert embedded[2:4] == b"\xff\xe0"  # JFIF still right after the start of image
    assert embedded.index(b"Exif\x00") < embedded.index(b"http://ns.adobe.com/xap/1.0/\x00")


def test_jpeg_provenance_too_long_for_one_segment_is_cut():
    data = make_image_bytes(format="JPEG")
    prompt = "狐" * 40_000  # 120 kB of UTF-8, twice the segment

    embedded = provenance.embed_provenance(
        data=data, image_format="jpeg", metadata={"Title": prompt, "Software": "Atelier"}
    )

    values = xmp_values(open_image(embedded))
    assert values["CreatorTool"] == "Atelier"
    assert values["title"].endswith("…")
    assert 10_000 < len(values["title"]) < 40_000
    assert pixels_of(embedded) == pixels_of(data)


@pytest.mark.parametrize(
    ("data", "image_format"),
    [
        (make_image_bytes(format="JPEG"), "png"),
        (make_image_bytes(format="PNG"), "jpeg"),
        (make_image_bytes(format="PNG"), "webp"),
        (make_image_bytes(format="PNG"), "gif"),
        (make_image_bytes(format="PNG")[:20], "png"),
    ],
)
def test_provenance_refuses_data_that_is_not_the_format_named(data, image_format):
    with pytest.raises(ValueError, match=r"not|cannot|truncated|header"):
        provenance.embed_provenance(data=data, image_format=image_format, metadata=METADATA)


def test_nul_characters_are_dropped_from_png_text():
    embedded = provenance.embed_provenance(
        data=make_image_bytes(),
        image_format="png",
        metadata={"Title": "a\x00fox", "Comment": "狐\x00"},
    )

    assert open_image(embedded).text == {"Title": "afox", "Comment": "狐"}


def test_png_keywords_that_png_cannot_hold_are_refused():
    with pytest.raises(ValueError, match="PNG text keyword"):
        provenance.embed_provenance(
            data=make_image_bytes(), image_format="png", metadata={"提示": "a fox"}
        )
