"""The one backoff of the images API client: the waits between retries, in a call and queued."""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings

from gallery.services.images_api.errors import ImagesAPIError

# Exponential backoff stops growing here, whatever the attempt.
BACKOFF_MAX_SECONDS = 8.0


def setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter for retry number `attempt` (0-based)."""
    base = float(setting("IMAGES_API_RETRY_BACKOFF_SECONDS", 0.5))
    delay = min(BACKOFF_MAX_SECONDS, base * 2**attempt)
    return delay * (1 - 0.25 * random.random())  # noqa: S311 -- jitter, not a secret


def retry_delay(error: ImagesAPIError, attempt: int) -> float | None:
    """Seconds to wait before retrying after `error`, or None when it must not be retried."""
    cap = float(settings.IMAGES_API_RETRY_AFTER_CAP_SECONDS)
    if error.retry_after is not None:
        # Waiting longer than the cap here would hold a worker; the caller reschedules instead.
        return error.retry_after if error.retry_after <= cap else None
    return backoff_seconds(attempt)
