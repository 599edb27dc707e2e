"""Request building: the JSON body of each call, in the model's dialect.

See docs/images-api-contract.md for what each dialect accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_noop

from gallery.i18n import Message
from gallery.services.catalog import ModelSpec
from gallery.services.images_api.errors import RejectedError

OPTION_FIELDS = ("aspect_ratio", "quality", "resolution")

OptionValue = str | tuple[str | None, ...]


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


def clean(value: str | None) -> str:
    return (value or "").strip()


def per_image_values(value: OptionValue, *, n: int, name: str) -> list[str]:
    """One clean value per image ("" when unset) from a single value or a per-image tuple."""
    if isinstance(value, str):
        return [clean(value)] * n
    entries = [clean(item) for item in value]
    if len(entries) != n:
        raise RejectedError(f"{name} was given {len(entries)} values for {n} images.")
    return entries


NOT_OFFERED = {
    "size": gettext_noop("%(model)s does not offer the size %(value)s."),
    "aspect_ratio": gettext_noop("%(model)s does not offer the aspect ratio %(value)s."),
    "quality": gettext_noop("%(model)s does not offer the quality %(value)s."),
    "resolution": gettext_noop("%(model)s does not offer the resolution %(value)s."),
    "style": gettext_noop("%(model)s does not offer the style %(value)s."),
    "response_format": gettext_noop("%(model)s does not offer the response format %(value)s."),
}


def _not_offered(option: str, spec: ModelSpec, value: str) -> Message:
    return Message(NOT_OFFERED[option], model=spec.display_label, value=value)


def chunk_sizes(n: int, per_request: int) -> list[int]:
    full, rest = divmod(n, per_request)
    return [per_request] * full + ([rest] if rest else [])


def build_request_bodies(spec: ModelSpec, request: ImageRequest) -> list[dict[str, Any]]:
    """The JSON body of each HTTP call for this request, in the model's dialect.

    Raises RejectedError for values the model does not offer, before anything is sent.
    """
    n = request.n
    if not 1 <= n <= spec.max_n:
        raise RejectedError(
            Message(
                gettext_noop("%(model)s makes 1 to %(max)s images at a time."),
                model=spec.display_label,
                max=spec.max_n,
            )
        )
    prompt = request.prompt.strip()
    if not prompt:
        raise RejectedError(Message(gettext_noop("The prompt is empty.")))
    if len(prompt) > spec.prompt_max_chars:
        raise RejectedError(
            Message(
                gettext_noop(
                    "The prompt is %(length)s characters long; %(model)s takes at most %(max)s."
                ),
                length=len(prompt),
                model=spec.display_label,
                max=spec.prompt_max_chars,
            )
        )
    size = clean(request.size)
    if size and size not in spec.sizes:
        raise RejectedError(_not_offered("size", spec, size))
    allowed = {
        "aspect_ratio": spec.aspect_ratios,
        "quality": spec.qualities,
        "resolution": spec.resolutions,
    }
    options: dict[str, list[str]] = {}
    for name in OPTION_FIELDS:
        entries = per_image_values(getattr(request, name), n=n, name=name)
        for value in entries:
            if value and value not in allowed[name]:
                raise RejectedError(_not_offered(name, spec, value))
        options[name] = entries
    style = clean(request.style)
    if style and style not in spec.styles:
        raise RejectedError(_not_offered("style", spec, style))
    # A model with no response_formats (gpt-image) rejects the field and always answers
    # b64_json, so a format asked for anyway is dropped rather than refused.
    response_format = ""
    if spec.response_formats:
        response_format = clean(request.response_format) or spec.default_response_format
        if response_format not in spec.response_formats:
            raise RejectedError(_not_offered("response_format", spec, response_format))

    bodies = []
    offset = 0
    for chunk_n in chunk_sizes(n, spec.max_n_per_request):
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
        # A relay may reject the field for a model (send_response_format off in the catalog):
        # it then answers as it likes, and url and b64_json are both read.
        if response_format and spec.send_response_format:
            body["response_format"] = response_format
        bodies.append(body)
        offset += chunk_n
    return bodies


def call_count(spec: ModelSpec, n: int) -> int:
    """How many HTTP calls (request bodies) a request for n images makes: 0 for the demo."""
    if spec.demo:
        return 0
    return len(chunk_sizes(max(1, n), spec.max_n_per_request))
