"""Image bytes: validation and thumbnails (decode), storage, and the demo provider's drawing.

The only package that imports Pillow, so decoding untrusted bytes happens in one audited place
(a test checks it). Provenance embedding works on the file's bytes without decoding them and
lives beside this package in `gallery.services.provenance`.
"""

from __future__ import annotations

from gallery.services.imaging.decode import (
    ACCEPTED_FORMATS,
    DEFAULT_PLACEHOLDER_COLOR,
    EXTENSIONS,
    FORMAT_LABELS,
    InvalidImageError,
    PreparedImage,
    decode_image,
    prepare_image,
)
from gallery.services.imaging.demo import draw_demo_image, grainy_demo_image
from gallery.services.imaging.storage import store_image

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_PLACEHOLDER_COLOR",
    "EXTENSIONS",
    "FORMAT_LABELS",
    "InvalidImageError",
    "PreparedImage",
    "decode_image",
    "draw_demo_image",
    "grainy_demo_image",
    "prepare_image",
    "store_image",
]
