"""The whole call: request bodies, the call(s) with bounded retries, decoding and downloads."""

from __future__ import annotations

import concurrent.futures
import copy
import logging
import time
from dataclasses import replace
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext_noop

from gallery.i18n import Message
from gallery.services import catalog
from gallery.services.images_api.demo import generate_demo
from gallery.services.images_api.dialects import ImageRequest, build_request_bodies
from gallery.services.images_api.downloads import download_image
from gallery.services.images_api.errors import (
    AuthError,
    BadResponseError,
    DownloadError,
    ImagesAPIError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
    try_again,
)
from gallery.services.images_api.responses import (
    Answer,
    CallOutcome,
    GenerationResult,
    Item,
    ResultImage,
    bounded_usage,
    decode_b64,
    error_for_response,
    read_success,
)
from gallery.services.images_api.retries import retry_delay, setting
from gallery.services.images_api.transport import http_client

logger = logging.getLogger(__name__)

# A generation call needs no long connect phase even when the answer takes minutes.
API_CONNECT_TIMEOUT_SECONDS = 15.0


DEFAULT_BASE_URL = "https://api.openai.com/v1"
GENERATIONS_PATH = "/images/generations"
_warned_base_urls: set[str] = set()


def api_base_url(raw: str) -> str:
    """The base URL requests go under, used as given like the OpenAI SDK's `base_url`
    ({base_url}/images/generations), so a relay rooted anywhere can be reached.

    A value with no path at all ("https://api.openai.com", the old default) predates that
    rule: it gets /v1, with a warning to write it out.
    """
    base = raw.strip().rstrip("/") or DEFAULT_BASE_URL
    try:
        path = httpx.URL(base).path
    except httpx.InvalidURL:
        return base  # the call then fails with a clear "misconfigured" error
    if path in ("", "/"):
        if base not in _warned_base_urls:
            _warned_base_urls.add(base)
            logger.warning(
                "Images API base URL %s has no path; using %s/v1. Write the /v1 (or the "
                "relay's own root) into the setting: it is used as given.",
                base,
                base,
            )
        return f"{base}/v1"
    return base


def generations_url(provider: catalog.Provider | None = None) -> str:
    provider = provider or catalog.DEFAULT
    return api_base_url(provider.resolved_base_url()) + GENERATIONS_PATH


def _read_capped(response: httpx.Response, *, cap: int) -> bytearray:
    """The whole body of a streamed response, refused past `cap` bytes while reading: a relay
    that sends gigabytes never has them in memory. One growing buffer, not a list of chunks
    joined at the end (which holds the body twice)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _oversized(int(declared), cap)
    body = bytearray()
    for chunk in response.iter_bytes():
        if len(body) + len(chunk) > cap:
            raise _oversized(len(body) + len(chunk), cap)
        body += chunk
    return body


def _oversized(size: int, cap: int) -> BadResponseError:
    return BadResponseError(
        Message(
            gettext_noop(
                "The image service sent back more than %(megabytes)s MB, more than Atelier "
                "accepts in one answer."
            ),
            megabytes=f"{cap / 2**20:.0f}",
        ),
        detail=f"at least {size:,} bytes (IMAGES_API_MAX_RESPONSE_BYTES={cap:,})",
    )


def call_generation(*, body: dict[str, Any], key: str, url: str) -> CallOutcome:
    """One generation call, retried per docs/images-api-contract.md: rate limits and failures to
    connect within the retry budget; a 5xx, a 200 carrying an error or a dropped connection at
    most once (the work may be done and billed upstream); a read timeout never. Waits longer
    than the call may sleep are left to the queue (see retries.py)."""
    client = http_client()
    timeout_seconds = float(settings.IMAGES_API_TIMEOUT_SECONDS)
    timeout = httpx.Timeout(
        timeout_seconds, connect=min(timeout_seconds, API_CONNECT_TIMEOUT_SECONDS)
    )
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    max_retries = int(settings.IMAGES_API_MAX_RETRIES)
    cap = int(setting("IMAGES_API_MAX_RESPONSE_BYTES", 160 * 2**20))
    retries = 0
    server_error_retries = 0
    while True:
        should_retry_header = ""
        never_sent = False
        try:
            request = client.build_request("POST", url, json=body, headers=headers, timeout=timeout)
            streamed = client.send(request, stream=True)
            try:
                answer = Answer(
                    status=streamed.status_code,
                    headers=streamed.headers,
                    body=_read_capped(streamed, cap=cap),
                )
            finally:
                streamed.close()
        except ImagesAPIError as exc:
            error: ImagesAPIError = exc
        except httpx.ReadTimeout as exc:
            error = UnavailableError(
                Message(
                    gettext_noop(
                        "The image service did not answer within %(seconds)s seconds. It may "
                        "still make the images, so Atelier did not ask again."
                    ),
                    seconds=f"{timeout_seconds:g}",
                ),
                retriable=False,
                detail=str(exc) or "read timeout",
            )
        except (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.PoolTimeout,
            httpx.WriteTimeout,
        ) as exc:
            # The request never reached the service in full, so asking again cannot double-bill.
            never_sent = True
            error = UnavailableError(
                Message.join(
                    [
                        Message(gettext_noop("Atelier could not reach the image service.")),
                        try_again(),
                    ]
                ),
                detail=f"{type(exc).__name__}: {exc}",
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            error = UnavailableError(
                Message(
                    gettext_noop(
                        "The image service address is misconfigured; the operator should check "
                        "IMAGES_API_BASE_URL."
                    )
                ),
                retriable=False,
                detail=str(exc),
            )
        except httpx.TransportError as exc:
            error = UnavailableError(
                Message.join(
                    [
                        Message(gettext_noop("The connection to the image service broke off.")),
                        try_again(),
                    ]
                ),
                detail=f"{type(exc).__name__}: {exc}",
            )
        else:
            should_retry_header = answer.headers.get("x-should-retry", "").strip().lower()
            if 200 <= answer.status < 300:
                try:
                    outcome = read_success(answer, requested=int(body["n"]))
                except ImagesAPIError as exc:
                    error = exc
                else:
                    return replace(outcome, retries=retries)
            else:
                error = error_for_response(answer)
            del answer

        delay: float | None = None
        if error.retriable and retries < max_retries and should_retry_header != "false":
            if isinstance(error, RateLimitedError) or never_sent:
                delay = retry_delay(error, retries)
            elif isinstance(error, UnavailableError) and server_error_retries < 1:
                delay = retry_delay(error, retries)
                server_error_retries += 1
        if delay is None:
            error.retries = retries
            if isinstance(error, UnavailableError) and not never_sent:
                # The request reached the service (a 5xx, or a connection that broke off after
                # sending): its one retry is spent, so the task must not ask again either.
                error.retriable = False
            raise error
        logger.info(
            "Images API call failed, retrying in %.2f s (retry %s of %s): %s",
            delay,
            retries + 1,
            max_retries,
            error.log_fields(),
        )
        time.sleep(delay)
        retries += 1


def _sum_usage(usages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Usage of several calls added up, numbers summed at any depth."""
    if not usages:
        return None
    if len(usages) == 1:
        return usages[0]
    total: dict[str, Any] = copy.deepcopy(usages[0])
    for usage in usages[1:]:
        for key, value in usage.items():
            current = total.get(key)
            if isinstance(value, bool) or isinstance(current, bool):
                continue
            if isinstance(value, int | float) and isinstance(current, int | float):
                total[key] = current + value
            elif isinstance(value, dict) and isinstance(current, dict):
                total[key] = _sum_usage([current, value])
            elif key not in total:
                total[key] = copy.deepcopy(value)
    return total


def _run_calls(
    bodies: list[dict[str, Any]], *, key: str, url: str
) -> list[CallOutcome | ImagesAPIError]:
    def call(body: dict[str, Any]) -> CallOutcome | ImagesAPIError:
        try:
            return call_generation(body=body, key=key, url=url)
        except ImagesAPIError as error:
            return error

    if len(bodies) == 1:
        return [call(bodies[0])]
    # Models that make one image a request (dall-e-3) get their n requests side by side.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(call, bodies))


def _decode_item(index: int, item: Item) -> ResultImage:
    """The image of one answer item: its base64 decoded, or its url to download. An item with
    both falls back to the url when the base64 cannot be used (broken, or over the cap)."""
    b64 = item.b64 or (item.url if item.url.startswith("data:") else "")
    url = "" if item.url.startswith("data:") else item.url
    if b64:
        try:
            data, content_type = decode_b64(b64)
        except BadResponseError as error:
            if url:
                logger.info("Image %s: base64 unusable (%s); using its url", index, error.detail)
                return ResultImage(index=index, source_url=url, revised_prompt=item.revised_prompt)
            return ResultImage(index=index, revised_prompt=item.revised_prompt, error=error)
        return ResultImage(
            index=index,
            data=data,
            revised_prompt=item.revised_prompt,
            content_type=content_type,
            fallback_url=url,
        )
    if url:
        return ResultImage(index=index, source_url=url, revised_prompt=item.revised_prompt)
    return ResultImage(
        index=index,
        revised_prompt=item.revised_prompt,
        error=BadResponseError(
            Message(gettext_noop("The image service sent an entry with no image in it."))
        ),
    )


def _download_all(images: list[ResultImage]) -> tuple[list[ResultImage], int]:
    pending = [
        image for image in images if image.data is None and image.error is None and image.source_url
    ]
    if not pending:
        return images, 0

    def fetch(image: ResultImage) -> tuple[ResultImage, int]:
        try:
            data, content_type, retries = download_image(url=image.source_url)
        except DownloadError as error:
            logger.warning(
                "Image %s download failed from %s: %s",
                image.index,
                _loggable_url(image.source_url),
                error.log_fields(),
            )
            return replace(image, error=error), error.retries
        return replace(image, data=data, content_type=content_type), retries

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(pending), 10)) as pool:
        fetched = {
            image.index: pair for image, pair in zip(pending, pool.map(fetch, pending), strict=True)
        }
    retries = sum(pair[1] for pair in fetched.values())
    return [
        fetched[image.index][0] if image.index in fetched else image for image in images
    ], retries


def _loggable_url(url: str) -> str:
    # Signed links carry their credentials in the query string.
    return url.split("?", 1)[0][:200]


def generate(*, request: ImageRequest) -> GenerationResult:
    """Make the images `request` asks for: the call(s), then the downloads of url results.

    Raises an ImagesAPIError subclass when no call succeeded. A call of several (dall-e-3
    with n > 1) that failed while others succeeded yields failed ResultImages instead.
    """
    try:
        spec = catalog.get_model(request.model)
    except catalog.UnknownModel:
        raise RejectedError(
            Message(gettext_noop("The model '%(model)s' is not offered."), model=request.model)
        ) from None
    bodies = build_request_bodies(spec, request)
    if spec.demo:
        return generate_demo(spec, request, bodies)
    provider = catalog.provider_for(spec)
    key = provider.api_key()
    if not key:
        raise AuthError(
            Message(
                gettext_noop(
                    "The image service is not configured (no API key); only the demo model works."
                )
            ),
            detail=f"provider {provider.name!r} has no key"
            + (f" (set {provider.api_key_env})" if provider.api_key_env else ""),
        )

    started = time.perf_counter()
    outcomes = _run_calls(bodies, key=key, url=generations_url(provider))
    api_ms = round((time.perf_counter() - started) * 1000)
    errors = [outcome for outcome in outcomes if isinstance(outcome, ImagesAPIError)]
    if len(errors) == len(outcomes):
        error = errors[0]
        logger.warning("Images API call failed for model %s: %s", spec.id, error.log_fields())
        raise error

    images: list[ResultImage] = []
    usages: list[dict[str, Any]] = []
    created: int | None = None
    request_ids: list[str] = []
    retries = 0
    for body, outcome in zip(bodies, outcomes, strict=True):
        if isinstance(outcome, ImagesAPIError):
            logger.warning("One of several images API calls failed: %s", outcome.log_fields())
            retries += outcome.retries
            for _ in range(body["n"]):
                images.append(ResultImage(index=len(images), error=outcome))
            continue
        retries += outcome.retries
        created = created if created is not None else outcome.created
        if outcome.usage is not None:
            usages.append(outcome.usage)
        if outcome.request_id:
            request_ids.append(outcome.request_id)
        # Each item's base64 is let go as soon as it is decoded: a response near its cap then
        # never holds its text and all its decoded images at once.
        while outcome.items:
            images.append(_decode_item(len(images), outcome.items.pop(0)))

    download_started = time.perf_counter()
    images, download_retries = _download_all(images)
    download_ms = round((time.perf_counter() - download_started) * 1000)
    result = GenerationResult(
        model=spec.id,
        images=images,
        requested_n=request.n,
        created=created,
        usage=bounded_usage(_sum_usage(usages)),
        request_bodies=copy.deepcopy(bodies),
        api_ms=api_ms,
        download_ms=download_ms,
        retries=retries,
        download_retries=download_retries,
        request_ids=request_ids,
    )
    logger.info(
        "Images API: model=%s n=%s got=%s ok=%s api_ms=%s download_ms=%s retries=%s request_ids=%s",
        spec.id,
        request.n,
        len(images),
        len(result.succeeded),
        api_ms,
        download_ms,
        retries + download_retries,
        ",".join(request_ids) or "-",
    )
    return result
