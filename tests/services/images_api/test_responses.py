"""Reading answers: how long the server asked us to wait."""

from __future__ import annotations

import time

import httpx
import pytest

from gallery.services import images_api


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"x-ratelimit-reset-requests": "6m0s"}, 360.0),
        ({"x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "1.5s"}, 1.5),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_headers(headers, expected):
    assert images_api.retry_after_seconds(httpx.Headers(headers)) == expected


def test_retry_after_as_an_http_date():
    when = time.time() + 30
    headers = httpx.Headers(
        {"retry-after": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(when))}
    )
    assert 25 <= images_api.retry_after_seconds(headers) <= 31
