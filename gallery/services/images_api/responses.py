"""Reading answers: successes, errors and their request ids, and what a call returns."""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from gallery.services.images_api.errors import (
    AuthError,
    BadResponseError,
    ImagesAPIError,
    QuotaError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
    redact,
)

logger = logging.getLogger(__name__)

# Headers relays and OpenAI put their request id in, most specific first.
REQUEST_ID_HEADERS = ("x-request-id", "x-oneapi-request-id", "x-new-api-request-id", "request-id")


@dataclass(frozen=True)
class ResultImage:
    index: int
    data: bytes | None = None
    source_url: str = ""
    revised_prompt: str = ""
    error: ImagesAPIError | None = None
    # From the download's Content-Type or a data: URI; informative only, never trusted.
    content_type: str = ""

    def __repr__(self) -> str:
        # Image bytes (and their base64) stay out of logs and tracebacks.
        size = "None" if self.data is None else f"<{len(self.data)} bytes>"
        return (
            f"ResultImage(index={self.index}, data={size}, source_url={self.source_url!r}, "
            f"error={self.error!r})"
        )


@dataclass(frozen=True)
class GenerationResult:
    model: str
    images: list[ResultImage]
    requested_n: int
    created: int | None
    usage: dict[str, Any] | None
    # Exactly what was sent, one body per HTTP call (what would be sent, for the demo).
    request_bodies: list[dict[str, Any]]
    api_ms: int
    download_ms: int
    retries: int = 0
    download_retries: int = 0
    request_ids: list[str] = field(default_factory=list)
    demo: bool = False

    @property
    def missing(self) -> int:
        """How many fewer items came back than were asked for."""
        return max(0, self.requested_n - len(self.images))

    @property
    def succeeded(self) -> list[ResultImage]:
        return [image for image in self.images if image.error is None and image.data]


def request_id_from(headers: httpx.Headers, message: str = "", payload: Any = None) -> str:
    for name in REQUEST_ID_HEADERS:
        if headers.get(name):
            return headers[name].strip()[:100]
    match = re.search(r"request id[:\uff1a]?\s*([\w\-]+)", message, re.IGNORECASE)
    if match:
        return match.group(1)[:100]
    if isinstance(payload, dict) and isinstance(payload.get("request_id"), str):
        return payload["request_id"][:100]
    return ""


def json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def error_fields(payload: Any) -> tuple[str, str, str]:
    """(message, code, type) from either error shape: {"error": {...}} or
    {"error": "text", "code": ...} (and a bare {"message"/"detail": "text"})."""
    if not isinstance(payload, dict):
        return "", "", ""
    error = payload.get("error")
    if isinstance(error, dict):
        source, message = error, error.get("message") or error.get("msg")
    else:
        source = payload
        message = error if isinstance(error, str) else payload.get("message")
        if not message and isinstance(payload.get("detail"), str):
            message = payload["detail"]
    code = source.get("code") or payload.get("code") or ""
    return str(message or "").strip(), str(code).strip(), str(source.get("type") or "").strip()


def describe_body(content: bytes) -> str:
    text = content[:2000].decode("utf-8", "replace").strip()
    if text[:1] == "<":
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return "an HTML page" + (f" ({title.group(1).strip()[:100]})" if title else "")
    if not text:
        return "an empty body"
    return f"{text[:200]!r}"


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def _parse_duration(value: str) -> float | None:
    """'1s', '6m0s', '20ms', '1h2m3.5s' (OpenAI's x-ratelimit-reset-*) or plain seconds."""
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # Some gateways send an epoch timestamp rather than a delay.
        return max(0.0, seconds - time.time()) if seconds > 1e9 else max(0.0, seconds)
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(number) * scale[unit] for number, unit in parts)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """How long the server asked us to wait, from any header that says, or None."""
    if headers.get("retry-after-ms"):
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    if headers.get("retry-after"):
        value = headers["retry-after"].strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(0.0, when.timestamp() - time.time())
    resets = [
        _parse_duration(headers[name])
        for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "x-ratelimit-reset")
        if headers.get(name)
    ]
    resets = [value for value in resets if value is not None]
    return max(resets) if resets else None


_QUOTA_CODES = {"insufficient_user_quota", "insufficient_quota", "quota_exceeded"}
_POLICY_CODES = {"content_policy_violation", "moderation_blocked", "sensitive_words_detected"}
_POLICY_WORDS = ("safety system", "content policy", "违规", "敏感", "不安全")
_QUOTA_WORDS = ("exceeded your current quota", "额度不足", "余额不足", "insufficient balance")


def error_for_response(response: httpx.Response, *, as_status: int = 0) -> ImagesAPIError:
    """The typed error for a non-2xx answer; `as_status` classifies a 2xx that carries only
    an error as if it had that status."""
    status = as_status or response.status_code
    payload = json_or_none(response.content)
    message, code, error_type = error_fields(payload)
    request_id = request_id_from(response.headers, message, payload)
    shown = redact(message)[:500]
    detail = message or describe_body(response.content)
    common = {
        "status": response.status_code,
        "request_id": request_id,
        "detail": detail,
        "code": code,
    }
    lowered = message.lower()

    is_quota = (
        code in _QUOTA_CODES
        or error_type in _QUOTA_CODES
        or any(word in lowered for word in _QUOTA_WORDS)
    )
    if is_quota and status in (400, 402, 403, 429):
        return QuotaError(**common)
    if status == 401 or status == 403:
        return AuthError(**common)
    if status == 429:
        retry_after = retry_after_seconds(response.headers)
        if retry_after is not None and retry_after >= 1:
            wait = f"Try again in about {retry_after:.0f} seconds."
        else:
            wait = "Try again shortly."
        return RateLimitedError(
            f"The image service is busy with too many requests. {wait}",
            retry_after=retry_after,
            **common,
        )
    if status in (408, 409) or status >= 500:
        return UnavailableError(
            f"The image service is unavailable right now (HTTP {status}). Try again shortly.",
            retry_after=retry_after_seconds(response.headers),
            **common,
        )
    if 400 <= status < 500:
        content_policy = (
            code in _POLICY_CODES
            or error_type == "image_generation_user_error"
            or any(word in lowered for word in _POLICY_WORDS)
        )
        if content_policy:
            text = "The image service refused this prompt under its content policy"
        else:
            text = "The image service refused the request"
        return RejectedError(
            f"{text}: {shown}" if shown else f"{text}.", content_policy=content_policy, **common
        )
    if 300 <= status < 400:
        return BadResponseError(
            "The image service address redirects elsewhere; the operator should check "
            "IMAGES_API_BASE_URL.",
            **(common | {"detail": f"redirect to {response.headers.get('location', '?')}"}),
        )
    return BadResponseError(**common)


@dataclass(frozen=True)
class Item:
    url: str
    b64: str
    revised_prompt: str


@dataclass(frozen=True)
class CallOutcome:
    items: list[Item]
    created: int | None
    usage: dict[str, Any] | None
    retries: int
    request_id: str


def read_success(response: httpx.Response, *, requested: int) -> CallOutcome:
    content = response.content
    payload = json_or_none(content)
    request_id = request_id_from(response.headers, payload=payload)
    common = {"status": response.status_code, "request_id": request_id}
    if payload is None:
        described = describe_body(content)
        kind = "an HTML page" if described.startswith("an HTML page") else "broken JSON"
        raise BadResponseError(
            f"The image service sent back {kind} instead of images.", detail=described, **common
        )
    if not isinstance(payload, dict):
        raise BadResponseError(detail=f"top level is {type(payload).__name__}", **common)
    if payload.get("error") and not payload.get("data"):
        # Some relays wrap a refusal in a 200; it is read like the 400 it stands for.
        raise error_for_response(response, as_status=400)
    data = payload.get("data")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise BadResponseError(detail=f"data is {type(data).__name__}", **common)
    if not data:
        raise BadResponseError("The image service answered but sent no images.", **common)
    if len(data) > requested:
        logger.info(
            "Images API sent %s items for n=%s; keeping %s", len(data), requested, requested
        )
    items = []
    for entry in data[:requested]:
        # Keys are read tolerantly: the relay's own example has "b64_json " with a space.
        entry = (
            {str(key).strip(): value for key, value in entry.items()}
            if isinstance(entry, dict)
            else {}
        )
        items.append(
            Item(
                url=entry["url"].strip() if isinstance(entry.get("url"), str) else "",
                b64=entry["b64_json"] if isinstance(entry.get("b64_json"), str) else "",
                revised_prompt=str(entry.get("revised_prompt") or "").strip(),
            )
        )
    created = payload.get("created")
    try:
        created = int(created) if created is not None else None
    except (TypeError, ValueError):
        created = None
    usage = payload.get("usage")
    return CallOutcome(
        items=items,
        created=created,
        usage=usage if isinstance(usage, dict) else None,
        retries=0,
        request_id=request_id,
    )


_DATA_URI_PREFIX = re.compile(r"^data:([^,;]*)(?:;[^,]*)?,", re.IGNORECASE)


def decode_b64(value: str) -> tuple[bytes, str]:
    """(bytes, content type from a data: prefix) from tolerant base64: a data: URI prefix,
    whitespace, missing padding and the URL-safe alphabet are all accepted."""
    content_type = ""
    match = _DATA_URI_PREFIX.match(value.strip())
    if match:
        content_type = match.group(1).strip().lower()
        value = value.strip()[match.end() :]
    compact = "".join(value.split())  # 20x faster than re.sub on megabytes of base64
    compact += "=" * (-len(compact) % 4)
    altchars = b"-_" if ("-" in compact or "_" in compact) else None
    try:
        data = base64.b64decode(compact, altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadResponseError(
            "The image service sent image data that could not be decoded.", detail=str(error)
        ) from None
    if not data:
        raise BadResponseError("The image service sent an empty image.")
    return data, content_type
