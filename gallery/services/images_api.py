"""The images API client: the only code in Atelier that talks HTTP (see shared/api/CONTRACT.md).

`generate(request=...)` builds the request body (or bodies) for the model's dialect, makes the
call(s) with a bounded retry policy, reads the answer tolerantly, downloads `url` results at
once, and returns one `GenerationResult`. Call-level failures raise a typed `ImagesAPIError`;
an image whose data could not be decoded or downloaded fails alone (`ResultImage.error`).

What this layer does not do: decide whether bytes are an image. Downloaded and decoded bytes
come through unchanged and `gallery.services.images` validates them with Pillow.

The API key goes only into the Authorization header of generation calls: never into bodies,
errors, logs, or downloads. Upstream messages are scrubbed of anything that looks like it.

Downloads never reach private, loopback or link-local addresses (checked where each socket
opens, so on every redirect too) unless IMAGES_API_ALLOW_PRIVATE_URLS; the API's own origin is
exempt. For the same reason proxy variables from the environment are not used.
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures
import copy
import email.utils
import http.cookiejar
import ipaddress
import json
import logging
import os
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import httpcore
import httpx
from django.conf import settings

from gallery.services import catalog
from gallery.services.catalog import ModelSpec

logger = logging.getLogger(__name__)

OPTION_FIELDS = ("aspect_ratio", "quality", "resolution")
MAX_REDIRECTS = 3
# Headers relays and OpenAI put their request id in, most specific first.
REQUEST_ID_HEADERS = ("x-request-id", "x-oneapi-request-id", "x-new-api-request-id", "request-id")
# Exponential backoff stops growing here, whatever the attempt.
BACKOFF_MAX_SECONDS = 8.0
# A generation call needs no long connect phase even when the answer takes minutes.
API_CONNECT_TIMEOUT_SECONDS = 15.0
# A server that drip-feeds bytes resets the read timeout on every chunk; this bounds the
# whole download so it cannot hold a worker for ever.
DOWNLOAD_DEADLINE_FACTOR = 4
USER_AGENT = "Atelier images client"

OptionValue = str | tuple[str | None, ...]


# ---------------------------------------------------------------------------------------------
# Errors


class ImagesAPIError(Exception):
    """A failure callers can act on: `kind` is stable, `user_message` is safe to show."""

    kind = "error"
    default_retriable = False
    default_message = "The image service failed."

    def __init__(
        self,
        user_message: str = "",
        *,
        status: int | None = None,
        request_id: str = "",
        retriable: bool | None = None,
        retry_after: float | None = None,
        detail: str = "",
        code: str = "",
    ) -> None:
        self.user_message = user_message or self.default_message
        self.status = status
        self.request_id = request_id
        self.retriable = self.default_retriable if retriable is None else retriable
        self.retry_after = retry_after
        # The upstream message or exception text, for logs: scrubbed of credentials.
        self.detail = redact(detail)[:500]
        self.code = code
        # Retries made before giving up (generation calls, or downloads for a DownloadError).
        self.retries = 0
        super().__init__(self.user_message)

    def __str__(self) -> str:
        parts = [f"{self.kind}: {self.user_message}"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return " | ".join(parts)

    def log_fields(self) -> str:
        return (
            f"kind={self.kind} status={self.status} request_id={self.request_id or '-'} "
            f"code={self.code or '-'} retries={self.retries} detail={self.detail!r}"
        )


class RejectedError(ImagesAPIError):
    kind = "rejected"
    default_message = "The image service refused the request."

    def __init__(self, *args: Any, content_policy: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.content_policy = content_policy


class AuthError(ImagesAPIError):
    kind = "auth"
    default_message = (
        "The image service is misconfigured: it did not accept Atelier's credentials. "
        "Ask the operator to check the API key."
    )


class QuotaError(ImagesAPIError):
    kind = "quota"
    default_message = (
        "The image service account has run out of credit. Ask the operator to top it up."
    )


class RateLimitedError(ImagesAPIError):
    kind = "rate_limited"
    default_retriable = True
    default_message = "The image service is busy with too many requests. Try again shortly."


class UnavailableError(ImagesAPIError):
    kind = "unavailable"
    default_retriable = True
    default_message = "The image service is unavailable right now. Try again shortly."


class BadResponseError(ImagesAPIError):
    kind = "bad_response"
    default_message = "The image service sent back an answer Atelier could not read."


class DownloadError(ImagesAPIError):
    kind = "download"
    default_message = "The image could not be downloaded."


# ---------------------------------------------------------------------------------------------
# Requests and results


@dataclass(frozen=True)
class ImageRequest:
    """What to ask for. Unset options are "". An option may also be given per image: a tuple
    of n values (None or "" for unset), as in the seed's own example."""

    model: str
    prompt: str
    n: int = 1
    size: str = ""
    aspect_ratio: OptionValue = ""
    quality: OptionValue = ""
    resolution: OptionValue = ""
    response_format: str = ""
    style: str = ""


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


# ---------------------------------------------------------------------------------------------
# Request building


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _entries(value: OptionValue, *, n: int, name: str) -> list[str]:
    """One clean value per image ("" when unset) from a single value or a per-image tuple."""
    if isinstance(value, str):
        return [_clean(value)] * n
    entries = [_clean(item) for item in value]
    if len(entries) != n:
        raise RejectedError(f"{name} was given {len(entries)} values for {n} images.")
    return entries


def _chunk_sizes(n: int, per_request: int) -> list[int]:
    full, rest = divmod(n, per_request)
    return [per_request] * full + ([rest] if rest else [])


def build_request_bodies(spec: ModelSpec, request: ImageRequest) -> list[dict[str, Any]]:
    """The JSON body of each HTTP call for this request, in the model's dialect.

    Raises RejectedError for values the model does not offer, before anything is sent.
    """
    n = request.n
    if not 1 <= n <= spec.max_n:
        raise RejectedError(f"{spec.display_label} makes 1 to {spec.max_n} images at a time.")
    prompt = request.prompt.strip()
    if not prompt:
        raise RejectedError("The prompt is empty.")
    if len(prompt) > spec.prompt_max_chars:
        raise RejectedError(
            f"The prompt is {len(prompt)} characters long; {spec.display_label} takes at most "
            f"{spec.prompt_max_chars}."
        )
    size = _clean(request.size)
    if size and size not in spec.sizes:
        raise RejectedError(f"{spec.display_label} does not offer the size {size}.")
    allowed = {
        "aspect_ratio": spec.aspect_ratios,
        "quality": spec.qualities,
        "resolution": spec.resolutions,
    }
    options: dict[str, list[str]] = {}
    for name in OPTION_FIELDS:
        entries = _entries(getattr(request, name), n=n, name=name)
        for value in entries:
            if value and value not in allowed[name]:
                label = name.replace("_", " ")
                raise RejectedError(f"{spec.display_label} does not offer the {label} {value}.")
        options[name] = entries
    style = _clean(request.style)
    if style and style not in spec.styles:
        raise RejectedError(f"{spec.display_label} does not offer the style {style}.")
    # A model with no response_formats (gpt-image) rejects the field and always answers
    # b64_json, so a format asked for anyway is dropped rather than refused.
    response_format = ""
    if spec.response_formats:
        response_format = _clean(request.response_format) or spec.default_response_format
        if response_format not in spec.response_formats:
            raise RejectedError(
                f"{spec.display_label} does not offer the response format {response_format}."
            )

    bodies = []
    offset = 0
    for chunk_n in _chunk_sizes(n, spec.max_n_per_request):
        body: dict[str, Any] = {"model": spec.id, "prompt": prompt}
        if size:
            body["size"] = size
        body["n"] = chunk_n
        for name in OPTION_FIELDS:
            if not allowed[name]:
                continue
            entries = options[name][offset : offset + chunk_n]
            if spec.array_options:
                # The seed lists these as required: unset entries are null, never "".
                body[name] = [value or None for value in entries]
            else:
                chosen = set(entries)
                if len(chosen) > 1:
                    raise RejectedError(
                        f"{spec.display_label} takes one {name.replace('_', ' ')} for all images."
                    )
                if entries[0]:
                    body[name] = entries[0]
        if style:
            body["style"] = style
        if response_format:
            body["response_format"] = response_format
        bodies.append(body)
        offset += chunk_n
    return bodies


# ---------------------------------------------------------------------------------------------
# Scrubbing credentials

_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-*.]{8,}")
_SK_TOKEN = re.compile(r"\bsk-[A-Za-z0-9_\-*.]+")
_BEARER = re.compile(r"(?i)\bbearer\s+\S+")


def redact(text: str) -> str:
    """Text with the API key, any part of it eight characters or longer (OpenAI echoes a
    masked key in its 401 message), and anything shaped like a key replaced."""
    if not text:
        return ""
    key = getattr(settings, "IMAGES_API_KEY", "") or ""
    if key:
        text = text.replace(key, "[redacted]")

        def scrub(match: re.Match[str]) -> str:
            token = match.group(0)
            pieces = [piece for piece in token.split("*") if len(piece) >= 8]
            return "[redacted]" if any(piece in key for piece in pieces) else token

        text = _TOKEN_LIKE.sub(scrub, text)
    text = _SK_TOKEN.sub("sk-[redacted]", text)
    return _BEARER.sub("Bearer [redacted]", text)


# ---------------------------------------------------------------------------------------------
# The HTTP client: one per process, with downloads kept off private networks


class BlockedAddressError(Exception):
    """A download tried to connect to an address on a private, loopback or link-local net."""


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _api_origin() -> tuple[str, int]:
    try:
        url = httpx.URL(settings.IMAGES_API_BASE_URL)
    except httpx.InvalidURL:
        return "", 0
    return url.host.lower(), url.port or (443 if url.scheme == "https" else 80)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise httpcore.ConnectError(f"could not resolve {host}: {error}") from error
    addresses: list[str] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class _PublicOnlyBackend(httpcore.NetworkBackend):
    """Connects only to public addresses, except to the configured API's own origin.

    The check runs where the socket is opened, on the addresses it then connects to, so a
    redirect or a DNS answer that changes between a check and the connection cannot slip a
    private address through. The API origin is trusted because the operator chose it, and a
    relay on the local network often serves its images from its own host.
    """

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        if settings.IMAGES_API_ALLOW_PRIVATE_URLS or (host.lower(), port) == _api_origin():
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = _resolve(host, port)
        blocked = [address for address in addresses if not _address_is_public(address)]
        if blocked:
            raise BlockedAddressError(
                f"{host} resolves to a non-public address ({', '.join(blocked)})"
            )
        last_error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise last_error or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        super().__init__(limits=limits)
        # httpx takes no network backend, so its pool (httpcore's, built with the same
        # arguments) is replaced by one that connects through the address check.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PublicOnlyBackend(),
        )


def _build_client() -> httpx.Client:
    # Cookies one server sets must not follow the next user's request to it.
    no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(
        transport=_GuardedTransport(),
        # Proxies from the environment would bypass the address check, and .netrc would add
        # credentials to downloads.
        trust_env=False,
        cookies=no_cookies,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


_client_lock = threading.Lock()
_client: tuple[tuple[Any, ...], httpx.Client] | None = None


def http_client() -> httpx.Client:
    """The process's pooled client, made on first use.

    A forked child makes its own, as connections inherited from the parent would be shared
    with it. So does a change of the address policy (in tests): a pooled connection was
    checked against the policy it was opened under.
    """
    global _client
    key = (os.getpid(), bool(settings.IMAGES_API_ALLOW_PRIVATE_URLS), _api_origin())
    current = _client
    if current is not None and current[0] == key:
        return current[1]
    with _client_lock:
        if _client is None or _client[0] != key:
            stale = _client
            _client = (key, _build_client())
            if stale is not None and stale[0][0] == key[0]:
                stale[1].close()
        return _client[1]


def _reset_after_fork() -> None:
    global _client_lock, _client
    # The parent's lock may have been held by a thread that does not exist in the child.
    _client_lock = threading.Lock()
    _client = None


os.register_at_fork(after_in_child=_reset_after_fork)


# ---------------------------------------------------------------------------------------------
# Reading answers and errors


def _request_id(headers: httpx.Headers, message: str = "", payload: Any = None) -> str:
    for name in REQUEST_ID_HEADERS:
        if headers.get(name):
            return headers[name].strip()[:100]
    match = re.search(r"request id[:\uff1a]?\s*([\w\-]+)", message, re.IGNORECASE)
    if match:
        return match.group(1)[:100]
    if isinstance(payload, dict) and isinstance(payload.get("request_id"), str):
        return payload["request_id"][:100]
    return ""


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def _error_fields(payload: Any) -> tuple[str, str, str]:
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


def _describe_body(content: bytes) -> str:
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


def _error_for_response(response: httpx.Response, *, as_status: int = 0) -> ImagesAPIError:
    """The typed error for a non-2xx answer; `as_status` classifies a 2xx that carries only
    an error as if it had that status."""
    status = as_status or response.status_code
    payload = _json_or_none(response.content)
    message, code, error_type = _error_fields(payload)
    request_id = _request_id(response.headers, message, payload)
    shown = redact(message)[:500]
    detail = message or _describe_body(response.content)
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
class _Item:
    url: str
    b64: str
    revised_prompt: str


@dataclass(frozen=True)
class _CallOutcome:
    items: list[_Item]
    created: int | None
    usage: dict[str, Any] | None
    retries: int
    request_id: str


def _read_success(response: httpx.Response, *, requested: int) -> _CallOutcome:
    content = response.content
    payload = _json_or_none(content)
    request_id = _request_id(response.headers, payload=payload)
    common = {"status": response.status_code, "request_id": request_id}
    if payload is None:
        described = _describe_body(content)
        kind = "an HTML page" if described.startswith("an HTML page") else "broken JSON"
        raise BadResponseError(
            f"The image service sent back {kind} instead of images.", detail=described, **common
        )
    if not isinstance(payload, dict):
        raise BadResponseError(detail=f"top level is {type(payload).__name__}", **common)
    if payload.get("error") and not payload.get("data"):
        # Some relays wrap a refusal in a 200; it is read like the 400 it stands for.
        raise _error_for_response(response, as_status=400)
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
            _Item(
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
    return _CallOutcome(
        items=items,
        created=created,
        usage=usage if isinstance(usage, dict) else None,
        retries=0,
        request_id=request_id,
    )


_DATA_URI_PREFIX = re.compile(r"^data:([^,;]*)(?:;[^,]*)?,", re.IGNORECASE)


def _decode_b64(value: str) -> tuple[bytes, str]:
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


# ---------------------------------------------------------------------------------------------
# Calling the API with retries


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter for retry number `attempt` (0-based)."""
    base = float(_setting("IMAGES_API_RETRY_BACKOFF_SECONDS", 0.5))
    delay = min(BACKOFF_MAX_SECONDS, base * 2**attempt)
    return delay * (1 - 0.25 * random.random())  # noqa: S311 -- jitter, not a secret


def _retry_delay(error: ImagesAPIError, attempt: int) -> float | None:
    """Seconds to wait before retrying after `error`, or None when it must not be retried."""
    cap = float(settings.IMAGES_API_RETRY_AFTER_CAP_SECONDS)
    if error.retry_after is not None:
        # Waiting longer than the cap here would hold a worker; the caller reschedules instead.
        return error.retry_after if error.retry_after <= cap else None
    return backoff_seconds(attempt)


def generations_url() -> str:
    base = settings.IMAGES_API_BASE_URL.strip().rstrip("/")
    # Operators copy base URLs both with and without the version segment.
    return f"{base}/images/generations" if base.endswith("/v1") else f"{base}/v1/images/generations"


def _call_generation(*, body: dict[str, Any], key: str) -> _CallOutcome:
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
                outcome = _read_success(response, requested=int(body["n"]))
                return replace(outcome, retries=retries)
            error = _error_for_response(response)
            should_retry_header = response.headers.get("x-should-retry", "").strip().lower()

        delay: float | None = None
        if error.retriable and retries < max_retries and should_retry_header != "false":
            if isinstance(error, RateLimitedError) or never_sent:
                delay = _retry_delay(error, retries)
            elif isinstance(error, UnavailableError) and server_error_retries < 1:
                delay = _retry_delay(error, retries)
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


# ---------------------------------------------------------------------------------------------
# Downloading url results


def _download_error(message: str, *, retriable: bool = False, **kwargs: Any) -> DownloadError:
    return DownloadError(
        f"The image could not be downloaded: {message}", retriable=retriable, **kwargs
    )


def _read_image_body(response: httpx.Response, *, cap: int, deadline: float) -> tuple[bytes, str]:
    status = response.status_code
    if status in (404, 403, 410):
        raise _download_error(
            f"the link has expired or is not found (HTTP {status}).", status=status
        )
    if status == 429 or status >= 500:
        raise _download_error(
            f"the image host answered HTTP {status}.",
            status=status,
            retriable=True,
            retry_after=retry_after_seconds(response.headers),
        )
    if status != 200:
        raise _download_error(f"the image host answered HTTP {status}.", status=status)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _download_error(
            f"the image is {int(declared):,} bytes, over the {cap:,}-byte limit.", status=status
        )
    chunks: list[bytes] = []
    received = 0
    try:
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > cap:
                raise _download_error(f"the image is over the {cap:,}-byte limit.", status=status)
            if time.monotonic() > deadline:
                raise _download_error(
                    "the image host sent it too slowly.", status=status, retriable=True
                )
            chunks.append(chunk)
    except httpx.TimeoutException as error:
        raise _download_error(
            "the image host stopped sending it.", retriable=True, detail=repr(error)
        ) from None
    except httpx.TransportError as error:
        raise _download_error(
            "the connection broke off while downloading it.", retriable=True, detail=repr(error)
        ) from None
    data = b"".join(chunks)
    if not data:
        raise _download_error("the image host sent nothing.", status=status)
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
            raise _download_error("the link is not a valid URL.", detail=str(error)) from None
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
                "the link points into a private network, which Atelier does not fetch from.",
                detail=str(error),
            ) from None
        except httpx.TimeoutException as error:
            raise _download_error(
                "the image host did not answer in time.", retriable=True, detail=repr(error)
            ) from None
        except httpx.TransportError as error:
            raise _download_error(
                "the image host could not be reached.", retriable=True, detail=repr(error)
            ) from None
        try:
            if response.has_redirect_location:
                if hop == MAX_REDIRECTS:
                    raise _download_error(
                        f"the link redirected more than {MAX_REDIRECTS} times.",
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
            delay = _retry_delay(error, retries) if error.retriable else None
            if delay is None or retries >= max_retries:
                error.retries = retries
                raise
            time.sleep(delay)
            retries += 1


# ---------------------------------------------------------------------------------------------
# The offline demo provider


def demo_dimensions(*, size: str, aspect_ratio: str, resolution: str = "") -> tuple[int, int]:
    """Width and height of a demo image: the aspect ratio when one is chosen (scaled to the
    size's long side, or ~1024 px, 2048 for "2k"), else the size, else 1024x1024."""
    long_side = 2048 if resolution == "2k" else 1024
    width = height = 0
    match = re.fullmatch(r"(\d{1,5})x(\d{1,5})", size)
    if match:
        width, height = int(match.group(1)), int(match.group(2))
        long_side = max(width, height)
    ratio = re.fullmatch(r"(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)", aspect_ratio)
    if ratio and float(ratio.group(1)) > 0 and float(ratio.group(2)) > 0:
        across, down = float(ratio.group(1)), float(ratio.group(2))
        if across >= down:
            return long_side, max(1, round(long_side * down / across))
        return max(1, round(long_side * across / down)), long_side
    if width and height:
        return width, height
    return long_side, long_side


def _generate_demo(
    spec: ModelSpec, request: ImageRequest, bodies: list[dict[str, Any]]
) -> GenerationResult:
    # Imported here: images.py is the only module that imports Pillow, and real calls never
    # need it loaded in this module.
    from gallery.services.images import draw_demo_image

    started = time.perf_counter()
    prompt = request.prompt.strip()
    size = _clean(request.size) or spec.default_size
    aspect_ratios = _entries(request.aspect_ratio, n=request.n, name="aspect_ratio")
    resolutions = _entries(request.resolution, n=request.n, name="resolution")
    results = []
    for index in range(request.n):
        width, height = demo_dimensions(
            size=size, aspect_ratio=aspect_ratios[index], resolution=resolutions[index]
        )
        data = draw_demo_image(prompt=prompt, index=index, width=width, height=height)
        results.append(ResultImage(index=index, data=data, content_type="image/png"))
    return GenerationResult(
        model=spec.id,
        images=results,
        requested_n=request.n,
        created=int(time.time()),
        usage=None,
        request_bodies=bodies,
        api_ms=round((time.perf_counter() - started) * 1000),
        download_ms=0,
        demo=True,
    )


# ---------------------------------------------------------------------------------------------
# The whole call


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


def _run_calls(bodies: list[dict[str, Any]], key: str) -> list[_CallOutcome | ImagesAPIError]:
    def call(body: dict[str, Any]) -> _CallOutcome | ImagesAPIError:
        try:
            return _call_generation(body=body, key=key)
        except ImagesAPIError as error:
            return error

    if len(bodies) == 1:
        return [call(bodies[0])]
    # Models that make one image a request (dall-e-3) get their n requests side by side.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(call, bodies))


def _decode_item(index: int, item: _Item) -> ResultImage:
    if item.b64:
        try:
            data, content_type = _decode_b64(item.b64)
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
        return _generate_demo(spec, request, bodies)
    key = _setting("IMAGES_API_KEY", "")
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
