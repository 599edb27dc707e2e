"""The fake images API (gallery/fake_images_api.py) as pytest fixtures, and its names for tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gallery.fake_images_api import (  # noqa: F401 -- re-exported for the tests
    FAKE_API_KEY,
    NOT_AN_IMAGE,
    PNG_SIGNATURE,
    TINY_JPEG,
    FakeImagesAPI,
    Reply,
    make_png,
    png_dimensions,
)


@pytest.fixture(scope="session")
def fake_images_api_server() -> Iterator[FakeImagesAPI]:
    api = FakeImagesAPI(expected_key=FAKE_API_KEY).start()
    yield api
    api.stop()


@pytest.fixture
def fake_images_api(fake_images_api_server: FakeImagesAPI, settings: Any) -> FakeImagesAPI:
    """The running fake, emptied, with the IMAGES_API_* settings pointing at it."""
    fake_images_api_server.reset()
    settings.IMAGES_API_BASE_URL = fake_images_api_server.api_base_url
    settings.IMAGES_API_KEY = FAKE_API_KEY
    settings.IMAGES_API_ALLOW_PRIVATE_URLS = True
    settings.IMAGES_API_RETRY_BACKOFF_SECONDS = 0.01
    return fake_images_api_server
