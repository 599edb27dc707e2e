"""The typed errors of the images API client, and the scrubbing of credentials from text."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_noop

from gallery.i18n import Message
from gallery.services import catalog


def try_again(retry_after: float | None = None) -> Message:
    """The sentence a retriable error ends with (gallery.services.generations drops it once
    Atelier stops trying)."""
    if retry_after is not None and retry_after >= 1:
        return Message(
            gettext_noop("Try again in about %(seconds)s seconds."), seconds=f"{retry_after:.0f}"
        )
    return Message(gettext_noop("Try again shortly."))


TRY_AGAIN_MSGIDS = frozenset({"Try again shortly.", "Try again in about %(seconds)s seconds."})


class ImagesAPIError(Exception):
    """A failure callers can act on: `kind` is stable; `message` is safe to show, a
    gallery.i18n.Message each viewer reads in their language; `user_message` its English words
    (logs, tests)."""

    kind = "error"
    default_retriable = False
    default_message = gettext_noop("The image service failed.")
    # A default message that ends with "Try again shortly." (as its own sentence).
    default_try_again = False
    # A default message that ends with "Try again shortly." (as its own sentence).
    default_try_again = False

    def __init__(
        self,
        user_message: Message | str = "",
        *,
        status: int | None = None,
        request_id: str = "",
        retriable: bool | None = None,
        retry_after: float | None = None,
        detail: str = "",
        code: str = "",
    ) -> None:
        if isinstance(user_message, str):
            user_message = Message.plain(user_message) if user_message else None
        if user_message is None:
            user_message = Message(self.default_message)
            if self.default_try_again:
                user_message = Message.join([user_message, try_again()])
        self.message: Message = user_message
        self.user_message = self.message.english()
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
    default_message = gettext_noop("The image service refused the request.")

    def __init__(self, *args: Any, content_policy: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.content_policy = content_policy


class AuthError(ImagesAPIError):
    kind = "auth"
    default_message = gettext_noop(
        "The image service is misconfigured: it did not accept Atelier's credentials. "
        "Ask the operator to check the API key."
    )


class QuotaError(ImagesAPIError):
    kind = "quota"
    default_message = gettext_noop(
        "The image service account has run out of credit. Ask the operator to top it up."
    )


class RateLimitedError(ImagesAPIError):
    kind = "rate_limited"
    default_retriable = True
    default_message = gettext_noop("The image service is busy with too many requests.")
    default_try_again = True


class UnavailableError(ImagesAPIError):
    kind = "unavailable"
    default_retriable = True
    default_message = gettext_noop("The image service is unavailable right now.")
    default_try_again = True


class BadResponseError(ImagesAPIError):
    kind = "bad_response"
    default_message = gettext_noop("The image service sent back an answer Atelier could not read.")


class DownloadError(ImagesAPIError):
    kind = "download"
    default_message = gettext_noop("The image could not be downloaded.")


_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-*.]{8,}")
_SK_TOKEN = re.compile(r"\bsk-[A-Za-z0-9_\-*.]+")
_BEARER = re.compile(r"(?i)\bbearer\s+\S+")


def redact(text: str) -> str:
    """Text with every provider's API key, any part of one eight characters or longer (OpenAI
    echoes a masked key in its 401 message), and anything shaped like a key replaced."""
    if not text:
        return ""
    keys = _known_keys()
    for key in keys:
        text = text.replace(key, "[redacted]")
    if keys:

        def scrub(match: re.Match[str]) -> str:
            token = match.group(0)
            pieces = [piece for piece in token.split("*") if len(piece) >= 8]
            return "[redacted]" if any(piece in key for piece in pieces for key in keys) else token

        text = _TOKEN_LIKE.sub(scrub, text)
    text = _SK_TOKEN.sub("sk-[redacted]", text)
    return _BEARER.sub("Bearer [redacted]", text)


def _known_keys() -> list[str]:
    keys = {getattr(settings, "IMAGES_API_KEY", "") or ""}
    # A broken models file must not stop an error from being reported.
    with contextlib.suppress(ImproperlyConfigured):
        keys.update(provider.api_key() for provider in catalog.all_providers())
    return sorted((key for key in keys if key), key=len, reverse=True)
