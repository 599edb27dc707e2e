"""The offline demo provider."""

from __future__ import annotations

import pytest

from gallery.services import images_api
from gallery.services.images_api import (
    AuthError,
    ImageRequest,
    generate,
)
from tests.fake_images_api import (
    png_dimensions,
)
from tests.services.images_api.builders import relay

# ---------------------------------------------------------------------------------------------
# The offline demo


def test_without_a_key_only_the_demo_model_works_and_nothing_is_sent(fake_images_api, settings):
    settings.IMAGES_API_KEY = ""
    with pytest.raises(AuthError, match="not configured"):
        generate(request=relay())

    result = generate(
        request=ImageRequest(
            model="demo", prompt="a lighthouse", n=2, size="960x960", aspect_ratio="16:9"
        )
    )
    assert fake_images_api.requests == []
    assert result.demo is True
    assert [png_dimensions(image.data) for image in result.images] == [(960, 540)] * 2
    assert result.images[0].data != result.images[1].data
    assert result.request_bodies[0]["aspect_ratio"] == ["16:9", "16:9"]
    assert result.download_ms == 0


@pytest.mark.parametrize(
    ("size", "aspect_ratio", "resolution", "expected"),
    [
        ("960x960", "", "", (960, 960)),
        ("1280x720", "", "", (1280, 720)),
        ("", "16:9", "", (1024, 576)),
        ("", "9:19.5", "", (473, 1024)),
        ("", "1:1", "2k", (2048, 2048)),
        ("720x1280", "3:2", "", (1280, 853)),
        ("", "auto", "", (1024, 1024)),
        ("", "", "", (1024, 1024)),
    ],
)
def test_demo_dimensions(size, aspect_ratio, resolution, expected):
    assert (
        images_api.demo_dimensions(size=size, aspect_ratio=aspect_ratio, resolution=resolution)
        == expected
    )
