"""Downloading `url` results: streamed, capped, http(s) only, never from a private address."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext_noop

from gallery.i18n import Message
from gallery.services.images_api.errors import DownloadError
from gallery.services.images_api.responses import retry_after_seconds
from gallery.services.images_api.retries import retry_delay
from gallery.services.images_api.transport import BlockedAddressError, http_client

MAX_REDIRECTS = 3
# A server that drip-feeds bytes resets the read timeout on every chunk; this bounds the
# whole download so it cannot hold a worker for ever.
DOWNLOAD_DEADLINE_FACTOR = 4


def _download_error(reason: Message, *, retriable: bool = False, **kwargs: Any) -> DownloadError:
    return DownloadError(
        Message(gettext_noop("The image could not be downloaded: %(reason)s"), reason=reason),
        retriable=retriable,
        **kwargs,
    )


def _read_image_body(response: httpx.Response, *, cap: int, deadline: float) -> tuple[bytes, str]:
    status = response.status_code
    if status in (404, 403, 410):
        raise _download_error(
            Message(
                gettext_noop("the link has expired or is not found (HTTP %(status)s)."),
                status=status,
            ),
            status=status,
        )
    if status == 429 or status >= 500:
        raise _download_error(
            Message(gettext_noop("the image host answered HTTP %(status)s."), status=status),
            status=status,
            retriable=True,
            retry_after=retry_after_seconds(response.headers),
        )
    if status != 200:
        raise _download_error(
            Message(gettext_noop("the image host answered HTTP %(status)s."), status=status),
            status=status,
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _download_error(
            Message(
                gettext_noop("the image is %(size)s bytes, over the %(limit)s-byte limit."),
                size=f"{int(declared):,}",
                limit=f"{cap:,}",
            ),
            status=status,
        )
    # A BytesIO hands its buffer over on getvalue() without a copy: a list of chunks joined at
    # the end would hold the image twice, ten images at a time.
    buffer = io.BytesIO()
    received = 0
    try:
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > cap:
                raise _download_error(
                    Message(
                        gettext_noop("the image is over the %(limit)s-byte limit."),
                        limit=f"{cap:,}",
                    ),
                    status=status,
                )
            if time.monotonic() > deadline:
                raise _download_error(
                    Message(gettext_noop("the image host sent it too slowly.")),
                    status=status,
                    retriable=True,
                )
            buffer.write(chunk)
    except httpx.TimeoutException as error:
        raise _download_error(
            "the image host stopped sending it.", retriable=True, detail=repr(error)
        ) from None
    except httpx.TransportError as error:
        raise _download_error(
            "the connection broke off while downloading it.", retriable=True, detail=repr(error)
        ) from None
    data = buffer.getvalue()
    del buffer
    if not data:
        raise _download_error(Message(gettext_noop("the image host sent nothing.")), status=status)
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    return data, content_type.lower()


def _fetch_once(url: str) -> tuple[bytes, str]:
    client = http_client()
    timeout_seconds = float(settings.IMAGES_API_DOWNLOAD_TIMEOUT_SECONDS)
    deadline = time.monotonic() + timeout_seconds * DOWNLOAD_DEADLINE_FACTOR
    cap = int(settings.IMAGES_API_MAX_DOWNLOAD_BYTES)
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        try:
            parsed = httpx.URL(current)
        except httpx.InvalidURL as error:
            raise _download_error(
                Message(gettext_noop("the link is not a valid URL.")), detail=str(error)
            ) from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise _download_error(
                "the link is not an http(s) address.", detail=f"scheme {parsed.scheme!r}"
            )
        request = client.build_request(
            "GET", parsed, headers={"Accept": "image/*,*/*;q=0.5"}, timeout=timeout_seconds
        )
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except BlockedAddressError as error:
            raise _download_error(
                Message(
                    gettext_noop(
                        "the link points into a private network, which Atelier does not fetch from."
                    )
                ),
                detail=str(error),
            ) from None
        except httpx.TimeoutException as error:
            raise _download_error(
                Message(gettext_noop("the image host did not answer in time.")),
                retriable=True,
                detail=repr(error),
            ) from None
        except httpx.TransportError as error:
            raise _download_error(
                Message(gettext_noop("the image host could not be reached.")),
                retriable=True,
                detail=repr(error),
            ) from None
        try:
            if response.has_redirect_location:
                if hop == MAX_REDIRECTS:
                    raise _download_error(
                        Message(
                            gettext_noop("the link redirected more than %(count)s times."),
                            count=MAX_REDIRECTS,
                        ),
                        status=response.status_code,
                    )
                current = str(parsed.join(response.headers["location"]))
                continue
            return _read_image_body(response, cap=cap, deadline=deadline)
        finally:
            response.close()
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def download_image(*, url: str) -> tuple[bytes, str, int]:
    """(bytes, content type, retries made): streamed, capped, http(s) only, at most three
    redirects, never from a private address; transient failures are retried with backoff."""
    max_retries = int(settings.IMAGES_API_MAX_RETRIES)
    retries = 0
    while True:
        try:
            data, content_type = _fetch_once(url)
            return data, content_type, retries
        except DownloadError as error:
            delay = retry_delay(error, retries) if error.retriable else None
            if delay is None or retries >= max_retries:
                error.retries = retries
                raise
            time.sleep(delay)
            retries += 1
