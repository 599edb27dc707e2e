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
)
from gallery.services.images_api.responses import (
    CallOutcome,
    GenerationResult,
    Item,
    ResultImage,
    decode_b64,
    error_for_response,
    read_success,
)
from gallery.services.images_api.retries import retry_delay, setting
from gallery.services.images_api.transport import http_client

logger = logging.getLogger(__name__)

# A generation call needs no long connect phase even when the answer takes minutes.
API_CONNECT_TIMEOUT_SECONDS = 15.0


def generations_url() -> str:
    base = settings.IMAGES_API_BASE_URL.strip().rstrip("/")
    # Operators copy base URLs both with and without the version segment.
    return f"{base}/images/generations" if base.endswith("/v1") else f"{base}/v1/images/generations"


def call_generation(*, body: dict[str, Any], key: str) -> CallOutcome:
    """One generation call, retried per CONTRACT.md: rate limits and failures to connect within
    the retry budget; a 5xx or a dropped connection at most once (the work may be done and
    billed upstream); a read timeout never."""
    client = http_client()
    timeout_seconds = float(settings.IMAGES_API_TIMEOUT_SECONDS)
    timeout = httpx.Timeout(
        timeout_seconds, connect=min(timeout_seconds, API_CONNECT_TIMEOUT_SECONDS)
    )
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    max_retries = int(settings.IMAGES_API_MAX_RETRIES)
    url = generations_url()
    retries = 0
    server_error_retries = 0
    while True:
        should_retry_header = ""
        never_sent = False
        try:
            response = client.post(url, json=body, headers=headers, timeout=timeout)
        except httpx.ReadTimeout as exc:
            error: ImagesAPIError = UnavailableError(
                f"The image service did not answer within {timeout_seconds:g} seconds. It may "
                "still make the images, so Atelier did not ask again.",
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
                "Atelier could not reach the image service. Try again shortly.",
                detail=f"{type(exc).__name__}: {exc}",
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            error = UnavailableError(
                "The image service address is misconfigured; the operator should check "
                "IMAGES_API_BASE_URL.",
                retriable=False,
                detail=str(exc),
            )
        except httpx.TransportError as exc:
            error = UnavailableError(
                "The connection to the image service broke off. Try again shortly.",
                detail=f"{type(exc).__name__}: {exc}",
            )
        else:
            if response.is_success:
                outcome = read_success(response, requested=int(body["n"]))
                return replace(outcome, retries=retries)
            error = error_for_response(response)
            should_retry_header = response.headers.get("x-should-retry", "").strip().lower()

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


def _run_calls(bodies: list[dict[str, Any]], key: str) -> list[CallOutcome | ImagesAPIError]:
    def call(body: dict[str, Any]) -> CallOutcome | ImagesAPIError:
        try:
            return call_generation(body=body, key=key)
        except ImagesAPIError as error:
            return error

    if len(bodies) == 1:
        return [call(bodies[0])]
    # Models that make one image a request (dall-e-3) get their n requests side by side.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(call, bodies))


def _decode_item(index: int, item: Item) -> ResultImage:
    if item.b64:
        try:
            data, content_type = decode_b64(item.b64)
        except BadResponseError as error:
            return ResultImage(index=index, revised_prompt=item.revised_prompt, error=error)
        return ResultImage(
            index=index, data=data, revised_prompt=item.revised_prompt, content_type=content_type
        )
    if item.url.startswith("data:"):
        return _decode_item(index, replace(item, b64=item.url, url=""))
    if item.url:
        return ResultImage(index=index, source_url=item.url, revised_prompt=item.revised_prompt)
    return ResultImage(
        index=index,
        revised_prompt=item.revised_prompt,
        error=BadResponseError("The image service sent an entry with no image in it."),
    )


def _download_all(images: list[ResultImage]) -> tuple[list[ResultImage], int]:
    pending = [image for image in images if image.data is None and image.error is None]
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
        raise RejectedError(f"The model {request.model!r} is not offered.") from None
    bodies = build_request_bodies(spec, request)
    if spec.demo:
        return generate_demo(spec, request, bodies)
    key = setting("IMAGES_API_KEY", "")
    if not key:
        raise AuthError(
            "The image service is not configured (no API key); only the demo model works."
        )

    started = time.perf_counter()
    outcomes = _run_calls(bodies, key)
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
        for item in outcome.items:
            images.append(_decode_item(len(images), item))

    download_started = time.perf_counter()
    images, download_retries = _download_all(images)
    download_ms = round((time.perf_counter() - download_started) * 1000)
    result = GenerationResult(
        model=spec.id,
        images=images,
        requested_n=request.n,
        created=created,
        usage=_sum_usage(usages),
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
