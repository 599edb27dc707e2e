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
from django.conf import settings
from django.utils.translation import gettext_noop

from gallery.i18n import Message
from gallery.services.images_api.errors import (
    AuthError,
    BadResponseError,
    ImagesAPIError,
    QuotaError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
    redact,
    try_again,
)

logger = logging.getLogger(__name__)

# Headers OpenAI, relays and gateways put a request id in. Every one present is kept (a relay
# may pass the upstream's x-request-id on beside its own): the operator can then find the call
# in any of their logs. OpenAI and most gateways: x-request-id; Anthropic-style and some
# relays: request-id; one-api and new-api: x-oneapi-request-id (new-api also
# x-new-api-request-id); LiteLLM: x-litellm-call-id; AWS, Azure: their own.
REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-oneapi-request-id",
    "x-new-api-request-id",
    "x-litellm-call-id",
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-ms-request-id",
    "apim-request-id",
    "x-correlation-id",
    "x-trace-id",
)
# Cloudflare's ray id names the edge's hop, not the call: only when nothing else does.
LAST_RESORT_REQUEST_ID_HEADERS = ("cf-ray",)
REQUEST_ID_MAX_CHARS = 200
# Stored usage past this many bytes of JSON is cut down to its top-level numbers.
USAGE_MAX_BYTES = 4096
# gpt-image prompts run to 32,000 characters; a revised prompt longer than that is noise.
REVISED_PROMPT_MAX_CHARS = 32_000
# Words relays put in an answer that has no channel or upstream free for the model.
_AVAILABILITY_WORDS = ("无可用渠道", "no available channel", "no channel available", "负载已饱和")


@dataclass(frozen=True)
class ResultImage:
    index: int
    data: bytes | None = None
    source_url: str = ""
    revised_prompt: str = ""
    error: ImagesAPIError | None = None
    # From the download's Content-Type or a data: URI; informative only, never trusted.
    content_type: str = ""
    # The item's url when its image came from its base64: the other form to fetch, should
    # those bytes turn out not to be an image.
    fallback_url: str = ""

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
    found: list[str] = []
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name, "").strip()
        if value and value not in found:
            found.append(value)
    if found:
        return ", ".join(found)[:REQUEST_ID_MAX_CHARS]
    match = re.search(r"request id[:\uff1a]?\s*([\w\-]+)", message, re.IGNORECASE)
    if match:
        return match.group(1)[:100]
    if isinstance(payload, dict) and isinstance(payload.get("request_id"), str):
        return payload["request_id"][:100]
    for name in LAST_RESORT_REQUEST_ID_HEADERS:
        if headers.get(name, "").strip():
            return f"{name} {headers[name].strip()}"[:REQUEST_ID_MAX_CHARS]
    return ""


def json_or_none(content: bytes | bytearray | str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


_REASON_KEYS = ("msg", "message", "detail", "reason")
_WHERE_KEYS = ("loc", "field", "pointer", "path", "name", "param")


def _reason(entry: Any) -> str:
    """One validation entry as "where: what": FastAPI's {"loc": [...], "msg": ...}, or a
    problem+json's {"field"/"pointer"/"name": ..., "message"/"detail"/"reason": ...}."""
    if not isinstance(entry, dict):
        return str(entry).strip() if isinstance(entry, str | int | float) else ""
    what = next(
        (
            str(entry[key]).strip()
            for key in ("msg", "message", "detail", "reason")
            if entry.get(key)
        ),
        "",
    )
    where: Any = next(
        (
            entry[key]
            for key in ("loc", "field", "pointer", "path", "name", "param")
            if entry.get(key)
        ),
        "",
    )
    if isinstance(where, list):
        # FastAPI puts where the value came from first ("body", "query"): not worth showing.
        parts = [str(part) for part in where]
        where = ".".join(parts[1:] if len(parts) > 1 and parts[0] in ("body", "query") else parts)
    where = str(where).strip().lstrip("#/").replace("/", ".")
    if where and what:
        return f"{where}: {what}"
    return what or where


def _reasons(entries: Any) -> str:
    if not isinstance(entries, list):
        return ""
    return "; ".join(reason for reason in map(_reason, entries[:10]) if reason)


def error_fields(payload: Any) -> tuple[str, str, str]:
    """(message, code, type) from every error shape seen: {"error": {...}},
    {"error": "text", "code": ...}, a bare {"message"/"detail": "text"}, FastAPI's list-shaped
    {"detail": [{"loc": ..., "msg": ...}]}, and problem+json (RFC 9457: title, detail, and a
    validation[] or errors[] list)."""
    if not isinstance(payload, dict):
        return "", "", ""
    error = payload.get("error")
    if isinstance(error, dict):
        source, message = error, error.get("message") or error.get("msg")
    else:
        source = payload
        message = error if isinstance(error, str) else payload.get("message")
        detail = payload.get("detail")
        if not message and isinstance(detail, str):
            message = detail
        if not message and isinstance(detail, list):
            message = _reasons(detail)
    listed = _reasons(payload.get("validation")) or _reasons(payload.get("errors"))
    title = payload.get("title") if isinstance(payload.get("title"), str) else ""
    if listed:
        message = "; ".join(part for part in (str(message or title or "").strip(), listed) if part)
    elif not message and title:
        message = title
    code = source.get("code") or payload.get("code") or ""
    error_type = source.get("type") or ""
    if error_type and not isinstance(error_type, str):
        error_type = ""
    if isinstance(error_type, str) and error_type.startswith(("http://", "https://")):
        error_type = ""  # a problem+json type is a URI, not a kind
    return str(message or "").strip(), str(code).strip(), str(error_type).strip()


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


@dataclass
class Answer:
    """An HTTP answer with its body read (within the response cap). `read_success` consumes
    the body: it lets the bytes go as soon as they are text, and the text once parsed."""

    status: int
    headers: httpx.Headers
    body: bytearray


def error_for_response(answer: Answer, *, as_status: int = 0) -> ImagesAPIError:
    """The typed error for a non-2xx answer."""
    head = bytes(answer.body[:2000])
    return error_for(
        status_code=answer.status,
        headers=answer.headers,
        payload=json_or_none(answer.body),
        head=head,
        as_status=as_status,
    )


def error_for(
    *, status_code: int, headers: httpx.Headers, payload: Any, head: bytes, as_status: int = 0
) -> ImagesAPIError:
    """The typed error an answer stands for, from its parsed payload and the first bytes of its
    body; `as_status` classifies a 2xx that carries only an error as if it had that status."""
    status = as_status or status_code
    message, code, error_type = error_fields(payload)
    request_id = request_id_from(headers, message, payload)
    shown = redact(message)[:500]
    detail = message or describe_body(head)
    common = {
        "status": status_code,
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
        retry_after = retry_after_seconds(headers)
        return RateLimitedError(
            Message.join(
                [
                    Message(gettext_noop("The image service is busy with too many requests.")),
                    try_again(retry_after),
                ]
            ),
            retry_after=retry_after,
            **common,
        )
    if status in (408, 409) or status >= 500:
        return UnavailableError(
            Message.join(
                [
                    Message(
                        gettext_noop(
                            "The image service is unavailable right now (HTTP %(status)s)."
                        ),
                        status=status,
                    ),
                    try_again(),
                ]
            ),
            retry_after=retry_after_seconds(headers),
            **common,
        )
    if 400 <= status < 500:
        content_policy = (
            code in _POLICY_CODES
            or error_type == "image_generation_user_error"
            or any(word in lowered for word in _POLICY_WORDS)
        )
        if content_policy and shown:
            text = Message(
                gettext_noop(
                    "The image service refused this prompt under its content policy: %(reason)s"
                ),
                reason=shown,
            )
        elif content_policy:
            text = Message(
                gettext_noop("The image service refused this prompt under its content policy.")
            )
        elif shown:
            text = Message(
                gettext_noop("The image service refused the request: %(reason)s"), reason=shown
            )
        else:
            text = Message(gettext_noop("The image service refused the request."))
        return RejectedError(text, content_policy=content_policy, **common)
    if 300 <= status < 400:
        return BadResponseError(
            Message(
                gettext_noop(
                    "The image service address redirects elsewhere; the operator should check "
                    "IMAGES_API_BASE_URL."
                )
            ),
            **(common | {"detail": f"redirect to {headers.get('location', '?')}"}),
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


def read_success(answer: Answer, *, requested: int) -> CallOutcome:
    """The items of a 2xx answer, consuming its body. At the response cap the bytes, their text
    and the parsed payload would be three copies at once: the bytes go once they are text, the
    text once parsed, and each item's base64 once decoded (by the caller)."""
    head = bytes(answer.body[:2000])
    text = answer.body.decode("utf-8", "replace")
    answer.body.clear()
    payload = json_or_none(text)
    del text
    request_id = request_id_from(answer.headers, payload=payload)
    common = {"status": answer.status, "request_id": request_id}
    if payload is None:
        described = describe_body(head)
        if _says_unavailable(head.decode("utf-8", "replace")):
            raise _unavailable_in_200(detail=described, **common)
        if described.startswith("an HTML page"):
            said = gettext_noop("The image service sent back an HTML page instead of images.")
        else:
            said = gettext_noop("The image service sent back broken JSON instead of images.")
        raise BadResponseError(Message(said), detail=described, **common)
    if not isinstance(payload, dict):
        raise BadResponseError(detail=f"top level is {type(payload).__name__}", **common)
    if payload.get("error") and not payload.get("data"):
        # Relays wrap errors in a 200. A refusal (content policy) or an empty account is read
        # like the 4xx it stands for; anything else is the relay having no way to the model
        # (无可用渠道) and is retried like a 503.
        error = error_for(
            status_code=answer.status,
            headers=answer.headers,
            payload=payload,
            head=head,
            as_status=400,
        )
        if isinstance(error, QuotaError | AuthError) or (
            isinstance(error, RejectedError) and error.content_policy
        ):
            raise error
        raise _unavailable_in_200(detail=error.detail, code=error.code, **common)
    data = payload.get("data")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise BadResponseError(detail=f"data is {type(data).__name__}", **common)
    if not data:
        raise BadResponseError(
            Message(gettext_noop("The image service answered but sent no images.")), **common
        )
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
                revised_prompt=str(entry.get("revised_prompt") or "").strip()[
                    :REVISED_PROMPT_MAX_CHARS
                ],
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
        usage=bounded_usage(usage) if isinstance(usage, dict) else None,
        retries=0,
        request_id=request_id,
    )


_DATA_URI_PREFIX = re.compile(r"^data:([^,;]*)(?:;[^,]*)?,", re.IGNORECASE)


def _says_unavailable(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _AVAILABILITY_WORDS)


def _unavailable_in_200(*, detail: str, **fields: Any) -> UnavailableError:
    said = redact(detail)[:300].strip()
    if said and not said.startswith("an HTML page"):
        text = Message(
            gettext_noop("The image service answered with an error instead of images (%(said)s)."),
            said=said,
        )
    else:
        text = Message(gettext_noop("The image service answered with an error instead of images."))
    return UnavailableError(
        Message.join([text, try_again()]),
        detail=detail,
        **fields,
    )


def bounded_usage(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    """Usage as given while its JSON fits USAGE_MAX_BYTES; past that its top-level numbers
    only, marked as truncated (a 20 MB usage object was once stored and rendered)."""
    if usage is None:
        return None
    text = json.dumps(usage, ensure_ascii=False, default=str)
    size = len(text.encode())
    if size <= USAGE_MAX_BYTES:
        return usage
    kept: dict[str, Any] = {"truncated": f"usage was {size:,} bytes; kept its top-level numbers"}
    for key, value in usage.items():
        if len(kept) >= 50:
            break
        if isinstance(value, int | float) and not isinstance(value, bool) and len(str(key)) <= 64:
            kept[str(key)] = value
    return kept


def decode_b64(value: str, *, max_bytes: int | None = None) -> tuple[bytes, str]:
    """(bytes, content type from a data: prefix) from tolerant base64: a data: URI prefix,
    whitespace, missing padding and the URL-safe alphabet are all accepted.

    Refused before any decoding when its length says it holds more than `max_bytes`
    (IMAGES_API_MAX_DOWNLOAD_BYTES, the cap on one image however it comes).
    """
    if max_bytes is None:
        max_bytes = int(settings.IMAGES_API_MAX_DOWNLOAD_BYTES)
    # Four characters carry three bytes; whitespace and a data: prefix only make it smaller.
    if len(value) // 4 * 3 > max_bytes + 3 * 1024:
        raise BadResponseError(
            _over_the_limit(max_bytes), detail=f"{len(value):,} characters of base64"
        )
    content_type = ""
    if value[:5].lower() == "data:" or value[:1].isspace():
        value = value.strip()
        match = _DATA_URI_PREFIX.match(value)
        if match:
            content_type = match.group(1).strip().lower()
            value = value[match.end() :]
    # Copies of megabytes are made only when needed: wrapped lines, missing padding.
    compact = "".join(value.split()) if any(ch in value for ch in " \n\r\t") else value
    if len(compact) % 4:
        compact += "=" * (-len(compact) % 4)
    altchars = b"-_" if ("-" in compact or "_" in compact) else None
    try:
        data = base64.b64decode(compact, altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadResponseError(
            Message(gettext_noop("The image service sent image data that could not be decoded.")),
            detail=str(error),
        ) from None
    if not data:
        raise BadResponseError(Message(gettext_noop("The image service sent an empty image.")))
    if len(data) > max_bytes:
        raise BadResponseError(_over_the_limit(max_bytes), detail=f"{len(data):,} bytes")
    return data, content_type


def _over_the_limit(max_bytes: int) -> Message:
    return Message(
        gettext_noop("The image service sent an image over the %(megabytes)s MB limit."),
        megabytes=f"{max_bytes / 2**20:.0f}",
    )
