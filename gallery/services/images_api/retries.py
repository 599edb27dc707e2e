"""The one backoff of the images API client, and where each wait happens.

A wait the call can afford (up to IMAGES_API_IN_CALL_MAX_WAIT_SECONDS) is slept inside the
call; a longer one (a Retry-After of a minute) is handed to the queue: the error stays
retriable and the generation is enqueued again after `queue_delay_seconds`, so no worker thread
sleeps through it. Both use `backoff_seconds`.

The most POSTs one generation can send upstream: `GENERATION_MAX_ATTEMPTS` runs, each making
one call per request body (dall-e-3 sends one body per image), each call at most
`1 + IMAGES_API_MAX_RETRIES` POSTs. A relay that retries on its own multiplies that.
"""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings

from gallery.services.images_api.errors import ImagesAPIError

# Exponential backoff inside a call stops growing here, whatever the attempt.
BACKOFF_MAX_SECONDS = 8.0
# Between runs of a generation in the queue: from 5 s, doubling, at most a minute.
QUEUE_BACKOFF_BASE_SECONDS = 5.0
QUEUE_BACKOFF_MAX_SECONDS = 60.0


def setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def backoff_seconds(
    attempt: int, *, base: float | None = None, cap: float = BACKOFF_MAX_SECONDS
) -> float:
    """Exponential backoff with jitter for retry number `attempt` (0-based): base * 2**attempt,
    at most `cap`, less up to a quarter so that callers who failed together spread out."""
    if base is None:
        base = float(setting("IMAGES_API_RETRY_BACKOFF_SECONDS", 0.5))
    delay = min(cap, base * 2 ** max(0, attempt))
    return delay * (1 - 0.25 * random.random())  # noqa: S311 -- jitter, not a secret


def in_call_max_wait() -> float:
    return float(setting("IMAGES_API_IN_CALL_MAX_WAIT_SECONDS", BACKOFF_MAX_SECONDS))


def retry_delay(error: ImagesAPIError, attempt: int) -> float | None:
    """Seconds to wait inside the call before retrying after `error`, or None when the call
    must not wait: the error is then raised (and the queue retries it if it is retriable)."""
    if error.retry_after is not None:
        # Sleeping through a long Retry-After would hold a worker thread: the queue waits.
        return error.retry_after if error.retry_after <= in_call_max_wait() else None
    return min(backoff_seconds(attempt), in_call_max_wait())


def queue_delay_seconds(*, attempt: int, retry_after: float | None) -> float:
    """Seconds before the queue runs a generation again after its run number `attempt`
    (1-based) failed retriably: what the server asked for (at most
    IMAGES_API_RETRY_AFTER_CAP_SECONDS), else the same backoff on the queue's scale."""
    if retry_after is not None:
        return min(retry_after, float(settings.IMAGES_API_RETRY_AFTER_CAP_SECONDS))
    return backoff_seconds(
        attempt - 1, base=QUEUE_BACKOFF_BASE_SECONDS, cap=QUEUE_BACKOFF_MAX_SECONDS
    )


def max_posts_per_call() -> int:
    """The most POSTs one call (one request body) sends before it gives up."""
    return 1 + max(0, int(settings.IMAGES_API_MAX_RETRIES))
