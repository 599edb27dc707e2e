from __future__ import annotations

import re
from datetime import timedelta

from django import template
from django.utils import timezone

from gallery import policy
from gallery.models import Generation, Membership
from gallery.services import catalog, generations

register = template.Library()


@register.simple_tag
def may(membership: Membership | None, action: str, obj: object = None) -> bool:
    """`{% may membership "trash" image as can_trash %}`: gallery.policy.can, for templates, so
    a page shows only the buttons the member may use."""
    return policy.can(membership, action, obj)


@register.filter
def placeholder_ratio(generation: Generation) -> str:
    """CSS aspect-ratio of the tiles a pending generation will fill, so nothing jumps."""
    if match := re.fullmatch(r"(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)", generation.aspect_ratio or ""):
        return f"{match[1]} / {match[2]}"
    if match := re.fullmatch(r"(\d+)x(\d+)", generation.size or ""):
        return f"{match[1]} / {match[2]}"
    return "1 / 1"


@register.filter
def times(count: int) -> range:
    return range(count)


@register.filter
def model_label(model_id: str) -> str:
    try:
        spec = catalog.get_model(model_id)
    except catalog.UnknownModel:
        return model_id
    return spec.display_label


@register.filter
def is_demo_model(model_id: str) -> bool:
    try:
        return catalog.get_model(model_id).demo
    except catalog.UnknownModel:
        return False


@register.filter
def elapsed_seconds(generation: Generation) -> int:
    end = generation.finished_at or timezone.now()
    return max(0, int((end - generation.created_at).total_seconds()))


@register.filter
def undo_url(tags: str) -> str:
    """The restore URL a message carries in its tags ("undo:/images/5/restore/")."""
    return next((tag.removeprefix("undo:") for tag in tags.split() if tag.startswith("undo:")), "")


@register.filter
def max_upstream_posts(generation: Generation) -> int:
    return generations.max_upstream_posts(model=generation.model, n=generation.n)


@register.filter
def humanize_duration(duration: timedelta) -> str:
    """A cool-off as people say it: "15 minutes", "1 hour", "90 seconds"."""
    seconds = int(duration.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


@register.simple_tag
def share_expiry_choices() -> list[tuple[int, str]]:
    """How long a new share link may open, as the share form offers it."""
    from gallery.services.sharing import EXPIRY_CHOICES

    return EXPIRY_CHOICES


@register.filter
def comment_html(comment) -> str:
    """A comment's body as safe HTML (gallery.services.comments.body_html)."""
    from gallery.services.comments import body_html

    return body_html(comment)
