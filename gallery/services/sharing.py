"""Share links: a read-only link to one image or one board for people outside the workspace.

A link's token is a split token, `selector + verifier`: the selector (16 characters, public,
unique) finds the row by index; the verifier (43 characters, 256 random bits) is checked against
its stored SHA-256 in constant time, so neither a lookup by the secret nor a comparison of it
tells an attacker how close a guess came. The token is shown once, when the link is made.

A shared page names its images by the first 16 hex characters of their content hash, never by
id: the page shows no id of the workspace, its rows or its members.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gallery.models import Board, Image, Membership, ShareLink

MIN_HOURS = 1
MAX_HOURS = 30 * 24
# What the form offers: an hour to thirty days.
EXPIRY_CHOICES: list[tuple[int, str]] = [
    (1, gettext_lazy("1 hour")),
    (24, gettext_lazy("1 day")),
    (72, gettext_lazy("3 days")),
    (168, gettext_lazy("7 days")),
    (720, gettext_lazy("30 days")),
]
SELECTOR_LENGTH = 16
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{40,80}")
IMAGE_KEY_LENGTH = 16
# A board's shared page shows this many images per page.
PER_PAGE = 60


class SharingError(Exception):
    """A link that cannot be made as asked; the message is for the user."""


def _verifier_hash(verifier: str) -> str:
    return hashlib.sha256(verifier.encode()).hexdigest()


def create_share_link(
    *,
    membership: Membership,
    image: Image | None = None,
    board: Board | None = None,
    hours: int,
    allow_download: bool = False,
    show_prompt: bool = True,
    show_creator: bool = False,
) -> tuple[ShareLink, str]:
    """A link to `image` or `board` (one of them, of the member's workspace; the caller has
    checked the member may see it and may share), valid for `hours`, and its token."""
    if (image is None) == (board is None):
        raise SharingError(_("Share one image or one board."))
    target = image if image is not None else board
    if target.workspace_id != membership.workspace_id:  # type: ignore[union-attr]
        raise SharingError(_("That is not in this workspace."))
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise SharingError(_("A link lasts from an hour to thirty days."))
    selector = secrets.token_urlsafe(12)[:SELECTOR_LENGTH]
    verifier = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        workspace_id=membership.workspace_id,
        image=image,
        board=board,
        created_by_id=membership.user_id,
        selector=selector,
        verifier_hash=_verifier_hash(verifier),
        allow_download=allow_download,
        show_prompt=show_prompt,
        show_creator=show_creator,
        expires_at=timezone.now() + timedelta(hours=hours),
    )
    return link, selector + verifier


def find_share_link(*, token: str) -> ShareLink | None:
    """The link the token names, whatever its state (the caller tells a live link from an
    expired or revoked one, which answer 410), or None when no link has this token."""
    if not TOKEN_RE.fullmatch(token):
        return None
    selector, verifier = token[:SELECTOR_LENGTH], token[SELECTOR_LENGTH:]
    link = (
        ShareLink.objects.select_related("image__generation", "board")
        .filter(selector=selector)
        .first()
    )
    # Compare even when no row was found, so a miss takes as long as a wrong verifier.
    expected = link.verifier_hash if link is not None else "0" * 64
    if not hmac.compare_digest(expected, _verifier_hash(verifier)) or link is None:
        return None
    return link


def is_gone(link: ShareLink) -> bool:
    """Expired, revoked, or what it shared was trashed: the shared page answers 410."""
    if not link.is_live:
        return True
    return link.image is not None and link.image.deleted_at is not None


def record_view(*, link: ShareLink) -> None:
    now = timezone.now()
    ShareLink.objects.filter(pk=link.pk).update(views=F("views") + 1, last_viewed_at=now)


def revoke_share_link(*, link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def shared_images(*, link: ShareLink):
    """The live images the link shows, newest first: the one image, or the board's images as
    they are now (an image put on the board later shows too; one taken off no longer does)."""
    images = Image.objects.live().select_related("generation")
    if link.show_creator:
        images = images.select_related("created_by")
    if link.image_id is not None:
        return images.filter(pk=link.image_id)
    return images.in_board(link.board).order_by("-pk")  # type: ignore[arg-type]


def image_key(image: Image) -> str:
    return image.sha256[:IMAGE_KEY_LENGTH]


def shared_image(*, link: ShareLink, key: str) -> Image | None:
    """One image the link shows, named by its key (see image_key), or None."""
    if len(key) != IMAGE_KEY_LENGTH or not re.fullmatch(r"[0-9a-f]+", key):
        return None
    return shared_images(link=link).filter(sha256__startswith=key).first()


def links_for_member(*, membership: Membership):
    """The workspace's live links the member may see (a link to another member's "only me"
    board is left out, as the board is), newest first, with what they point at."""
    return (
        ShareLink.objects.live()
        .filter(workspace_id=membership.workspace_id)
        .filter(
            Q(board__isnull=True)
            | Q(board__visibility=Board.Visibility.WORKSPACE)
            | Q(board__created_by_id=membership.user_id)
        )
        .select_related("image__generation", "board", "created_by")
        .order_by("-pk")
    )
