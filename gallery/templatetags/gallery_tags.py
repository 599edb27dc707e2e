from __future__ import annotations

import re
from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from gallery import i18n, policy
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
    if seconds >= 3600 and seconds % 3600 == 0:
        count = seconds // 3600
        return ngettext("%(count)s hour", "%(count)s hours", count) % {"count": count}
    if seconds >= 60 and seconds % 60 == 0:
        count = seconds // 60
        return ngettext("%(count)s minute", "%(count)s minutes", count) % {"count": count}
    return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds}


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


@register.filter
def lang_attr(text: str) -> SafeString | str:
    """` lang="zh"` when user text (a prompt, a name) is in another language than the page, so
    it is read aloud and hyphenated as what it is; nothing when they agree or it cannot tell."""
    language = i18n.text_language(str(text or ""))
    if not language or language == i18n.page_language():
        return ""
    return format_html(' lang="{}"', language)


@register.filter
def translated_error(generation: Generation) -> str:
    """A generation's error in the viewer's language (stored as a gallery.i18n.Message by
    newer workers; older rows have only their English words)."""
    if generation.error_i18n:
        return str(i18n.Message.from_json(generation.error_i18n))
    return generation.error_message
