"""The images API client: the only package in Atelier that talks HTTP (docs/images-api-contract.md).

`generate(request=...)` builds the request body (or bodies) for the model's dialect, makes the
call(s) with a bounded retry policy, reads the answer tolerantly, downloads `url` results at
once, and returns one `GenerationResult`. Call-level failures raise a typed `ImagesAPIError`;
an image whose data could not be decoded or downloaded fails alone (`ResultImage.error`).

What this layer does not do: decide whether bytes are an image. Downloaded and decoded bytes
come through unchanged and `gallery.services.imaging` validates them with Pillow.

The API key goes only into the Authorization header of generation calls: never into bodies,
errors, logs, or downloads. Upstream messages are scrubbed of anything that looks like it.

Downloads never reach private, loopback or link-local addresses (checked where each socket
opens, so on every redirect too) unless IMAGES_API_ALLOW_PRIVATE_URLS; the API's own origin is
exempt. For the same reason proxy variables from the environment are not used.

Modules: errors, dialects (request building), transport (the pooled client and its address
guard), responses (reading answers), retries (the one backoff), downloads, demo, client.
"""

from __future__ import annotations

from gallery.services.images_api.client import api_base_url, generate, generations_url
from gallery.services.images_api.demo import demo_dimensions
from gallery.services.images_api.dialects import (
    ImageRequest,
    OptionValue,
    build_request_bodies,
    call_count,
)
from gallery.services.images_api.downloads import download_image
from gallery.services.images_api.errors import (
    TRY_AGAIN_MSGIDS,
    AuthError,
    BadResponseError,
    DownloadError,
    ImagesAPIError,
    QuotaError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
    redact,
)
from gallery.services.images_api.responses import (
    GenerationResult,
    ResultImage,
    retry_after_seconds,
)
from gallery.services.images_api.retries import (
    backoff_seconds,
    max_posts_per_call,
    queue_delay_seconds,
)
from gallery.services.images_api.transport import BlockedAddressError, http_client

__all__ = [
    "TRY_AGAIN_MSGIDS",
    "AuthError",
    "BadResponseError",
    "BlockedAddressError",
    "DownloadError",
    "GenerationResult",
    "ImageRequest",
    "ImagesAPIError",
    "OptionValue",
    "QuotaError",
    "RateLimitedError",
    "RejectedError",
    "ResultImage",
    "UnavailableError",
    "api_base_url",
    "backoff_seconds",
    "build_request_bodies",
    "call_count",
    "demo_dimensions",
    "download_image",
    "generate",
    "generations_url",
    "http_client",
    "max_posts_per_call",
    "queue_delay_seconds",
    "redact",
    "retry_after_seconds",
]
