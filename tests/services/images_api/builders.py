"""Requests the images API tests ask for."""

from __future__ import annotations

from gallery.services.images_api import ImageRequest

SEED_EXAMPLE = {
    "model": "grok-3-image",
    "prompt": "a cat",
    "size": "960x960",
    "n": 2,
    "aspect_ratio": [None, "1:1"],
    "quality": [None, "low"],
    "resolution": [None, "1k"],
    "response_format": "b64_json",
}


def relay(prompt: str = "a cat", **kwargs) -> ImageRequest:
    return ImageRequest(model="grok-3-image", prompt=prompt, **{"size": "960x960", **kwargs})
