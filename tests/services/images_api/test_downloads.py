"""Downloading url results over loopback: expiry, caps, redirects, timeouts."""

from __future__ import annotations

import pytest

from gallery.services.images_api import (
    DownloadError,
    generate,
)
from tests.fake_images_api import (
    NOT_AN_IMAGE,
    PNG_SIGNATURE,
    TINY_JPEG,
    png_dimensions,
)
from tests.services.images_api.builders import relay

# ---------------------------------------------------------------------------------------------
# Downloads


def test_an_expired_url_fails_only_its_image_and_is_not_retried(fake_images_api):
    result = generate(request=relay("[fault:expired] a cat", n=2))

    first, second = result.images
    assert isinstance(first.error, DownloadError)
    assert (first.error.kind, first.error.status) == ("download", 404)
    assert first.error.user_message == (
        "The image could not be downloaded: the link has expired or is not found (HTTP 404)."
    )
    assert len(fake_images_api.downloads("/images/expired/")) == 1
    assert second.error is None
    assert second.data.startswith(PNG_SIGNATURE)
    assert len(result.succeeded) == 1


def test_a_download_that_fails_once_is_retried(fake_images_api):
    result = generate(request=relay("[fault:flaky-download] a cat", n=2))
    assert [image.error for image in result.images] == [None, None]
    assert len(fake_images_api.downloads("/images/flaky/")) == 2
    assert result.download_retries == 1


@pytest.mark.parametrize("fault", ["huge", "huge-chunked"])
def test_a_body_over_the_cap_fails_only_its_image(fake_images_api, settings, fault):
    settings.IMAGES_API_MAX_DOWNLOAD_BYTES = 50_000
    result = generate(request=relay(f"[fault:{fault}] a cat", n=2))

    first, second = result.images
    assert isinstance(first.error, DownloadError)
    assert "over the 50,000-byte limit" in first.error.user_message
    assert first.error.retriable is False
    assert len(fake_images_api.downloads(f"/images/{fault}/")) == 1
    assert second.data.startswith(PNG_SIGNATURE)


def test_bytes_that_are_not_an_image_come_through_for_the_caller_to_judge(fake_images_api):
    result = generate(request=relay("[fault:not-image] a cat", n=1))
    [image] = result.images
    assert image.error is None
    assert image.data == NOT_AN_IMAGE
    assert image.content_type == "image/png"  # what the server claimed; never trusted


def test_a_jpeg_behind_a_png_name_comes_through_unchanged(fake_images_api):
    [image] = generate(request=relay("[fault:jpeg-as-png] a cat")).images
    assert image.source_url.endswith(".png")
    assert image.data == TINY_JPEG


def test_a_redirect_is_followed(fake_images_api):
    [image] = generate(request=relay("[fault:redirect-ok] a cat")).images
    assert image.error is None
    assert png_dimensions(image.data) == (960, 960)


def test_more_than_three_redirects_are_refused(fake_images_api):
    [image] = generate(request=relay("[fault:redirect-loop] a cat")).images
    assert "redirected more than 3 times" in image.error.user_message
    assert len(fake_images_api.downloads("/redirect-loop/")) == 4


def test_a_download_slower_than_its_timeout_is_retried_then_fails_alone(fake_images_api, settings):
    settings.IMAGES_API_DOWNLOAD_TIMEOUT_SECONDS = 0.2
    settings.IMAGES_API_MAX_RETRIES = 1
    result = generate(request=relay("[fault:slow-download=1] a cat", n=2))

    first, second = result.images
    assert first.error.user_message == (
        "The image could not be downloaded: the image host did not answer in time."
    )
    assert first.error.retries == 1
    assert len(fake_images_api.downloads("/images/slow/")) == 2
    assert second.data.startswith(PNG_SIGNATURE)
