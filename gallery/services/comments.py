"""Comments: an image's thread, pins on the image, @name mentions, and the body as safe HTML.

A body is plain text. Shown, it is escaped entirely; then http(s) links become links (rel
nofollow, noopener, noreferrer) and an @name that named a member of the workspace when the
comment was saved is marked as a mention. Nothing the author typed is ever HTML.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from gallery.models import Comment, Image, Membership

if TYPE_CHECKING:
    from django.db.models import QuerySet

MAX_BODY = 4000
# Usernames take letters, digits and @.+-_ (Django's validator); a trailing dot or @ is the
# sentence's, not the name's ("thanks @bea.").
MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]*[\w+-])")
URL_RE = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
URL_TRAILING = ".,;:!?)]}'\""


class CommentError(ValueError):
    """A comment that cannot be saved as given; the message is for the user."""


def mentioned_names(body: str) -> set[str]:
    return set(MENTION_RE.findall(body))


def _clean(body: str, x: float | None, y: float | None) -> tuple[str, float | None, float | None]:
    body = body.strip()
    if not body:
        raise CommentError(_("Write something first."))
    if len(body) > MAX_BODY:
        raise CommentError(f"A comment holds at most {MAX_BODY} characters.")
    if (x is None) != (y is None):
        raise CommentError(_("A pin needs both coordinates."))
    if x is not None and not (0 <= x <= 1 and 0 <= y <= 1):  # type: ignore[operator]
        raise CommentError(_("A pin must be on the image."))
    return body, x, y


def _members_named(*, workspace_id: int, body: str) -> list[int]:
    names = mentioned_names(body)
    if not names:
        return []
    return list(
        get_user_model()
        .objects.filter(username__in=names, memberships__workspace_id=workspace_id)
        .values_list("pk", flat=True)
    )


def add_comment(
    *,
    membership: Membership,
    image: Image,
    body: str,
    x: float | None = None,
    y: float | None = None,
) -> Comment:
    """A new comment by the member on `image` (of their workspace; the caller checked the
    member may comment). Its mentions are the members its @names name."""
    body, x, y = _clean(body, x, y)
    if image.workspace_id != membership.workspace_id:
        raise CommentError(_("That image is not in this workspace."))
    with transaction.atomic():
        comment = Comment.objects.create(
            image=image,
            workspace_id=image.workspace_id,
            created_by_id=membership.user_id,
            body=body,
            x=x,
            y=y,
        )
        mentioned = _members_named(workspace_id=image.workspace_id, body=body)
        if mentioned:
            comment.mentions.set(mentioned)
    comment.mentioned_ids = mentioned  # type: ignore[attr-defined]
    return comment


def edit_comment(*, comment: Comment, body: str) -> Comment:
    """New words for the comment (its pin stays); its mentions follow the new words. Who was
    newly mentioned is left on `comment.mentioned_ids` (for notifications)."""
    body, _, _ = _clean(body, comment.x, comment.y)
    with transaction.atomic():
        before = set(comment.mentions.values_list("pk", flat=True))
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        mentioned = _members_named(workspace_id=comment.workspace_id, body=body)
        comment.mentions.set(mentioned)
    comment.mentioned_ids = [pk for pk in mentioned if pk not in before]  # type: ignore[attr-defined]
    return comment


def delete_comment(*, comment: Comment) -> None:
    Comment.objects.filter(pk=comment.pk).delete()


def thread(*, image: Image) -> list[Comment]:
    """The image's comments, oldest first, with their authors and mentions (two queries);
    pinned ones numbered 1, 2, ... in that order (`pin_number`, None when not pinned)."""
    comments: QuerySet[Comment] = (
        Comment.objects.filter(image=image)
        .select_related("created_by")
        .prefetch_related("mentions")
        .order_by("pk")
    )
    numbered = list(comments)
    number = 0
    for comment in numbered:
        if comment.is_pinned:
            number += 1
            comment.pin_number = number  # type: ignore[attr-defined]
        else:
            comment.pin_number = None  # type: ignore[attr-defined]
    return numbered


def _text_html(text: str, names: set[str]) -> str:
    def mention(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in names:
            return f'<span class="mention">@{escape(name)}</span>'
        return escape(match.group(0))

    pieces, position = [], 0
    for match in MENTION_RE.finditer(text):
        pieces.append(escape(text[position : match.start()]))
        pieces.append(mention(match))
        position = match.end()
    pieces.append(escape(text[position:]))
    return "".join(pieces)


def body_html(comment: Comment) -> SafeString:
    """The body as HTML: escaped, links made clickable, members' @names marked, lines kept."""
    names = {user.get_username() for user in comment.mentions.all()}
    body, pieces, position = comment.body, [], 0
    for match in URL_RE.finditer(body):
        url = match.group(0).rstrip(URL_TRAILING)
        end = match.start() + len(url)
        pieces.append(_text_html(body[position : match.start()], names))
        pieces.append(
            format_html('<a href="{}" rel="nofollow noopener noreferrer">{}</a>', url, url)
        )
        position = end
    pieces.append(_text_html(body[position:], names))
    return mark_safe("".join(pieces).replace("\n", "<br>"))  # noqa: S308 (every piece escaped)
