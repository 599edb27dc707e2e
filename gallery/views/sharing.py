"""Share links: making and revoking them (members), and the shared pages (anyone with the link).

The shared pages (/s/<token>/...) need no login. They show only what was shared: the picture(s),
the prompt unless the link hides it, who made it only when the link says so, and no id of any
row or member (images are named by a prefix of their content hash). Every answer carries
`X-Robots-Tag: noindex` and `Referrer-Policy: no-referrer` (the token stays out of other sites'
logs); pages and files are throttled per address. An unknown token is a 404; an expired or
revoked link (or a shared image since trashed) a 410 with a plain page.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gallery import policy
from gallery.models import Board, Image, Membership, ShareLink
from gallery.ops import throttle
from gallery.services import sharing
from gallery.views.access import access_board, access_image, member_view, object_view
from gallery.views.htmx import HtmxHttpRequest
from gallery.views.media import CONTENT_TYPES, EXTENSION_CONTENT_TYPES, file_response

# Shared-page answers are never indexed, cached by a shared cache or sent on as a Referer.
NOINDEX = "noindex, nofollow, noarchive"


def _share_options(request: HtmxHttpRequest) -> dict[str, object]:
    hours = request.POST.get("hours", "")
    return {
        "hours": int(hours) if hours.isdigit() else 0,
        "allow_download": request.POST.get("allow_download") == "on",
        "show_prompt": request.POST.get("show_prompt") == "on",
        "show_creator": request.POST.get("show_creator") == "on",
    }


def _create(
    request: HtmxHttpRequest,
    membership: Membership,
    *,
    image: Image | None = None,
    board: Board | None = None,
) -> HttpResponse:
    try:
        link, token = sharing.create_share_link(
            membership=membership, image=image, board=board, **_share_options(request)
        )
    except sharing.SharingError as error:
        messages.error(request, str(error))
        target = reverse("gallery:image", args=[image.pk]) if image else board_url(board)
        return redirect(target)
    new_link = request.build_absolute_uri(reverse("gallery:shared", args=[token]))
    return render(
        request,
        "gallery/shares.html",
        _list_context(membership, new_share=link, new_link=new_link),
    )


def board_url(board: Board | None) -> str:
    return reverse("gallery:board", args=[board.pk]) if board is not None else "/"


@object_view(access_image, policy.Action.SHARE)
@require_POST
def image_share(request: HtmxHttpRequest, image: Image, membership: Membership) -> HttpResponse:
    """Make a link to this image and show it once, in this response (only its hash is kept)."""
    return _create(request, membership, image=image)


@object_view(access_board, policy.Action.SHARE)
@require_POST
def board_share(request: HtmxHttpRequest, board: Board, membership: Membership) -> HttpResponse:
    return _create(request, membership, board=board)


def _list_context(membership: Membership, **extra: object) -> dict[str, object]:
    return {"links": sharing.links_for_member(membership=membership), **extra}


@member_view(policy.Action.VIEW)
@require_GET
def share_list(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    """The workspace's live links: what, by whom, until when, how often opened."""
    return render(request, "gallery/shares.html", _list_context(membership))


@member_view(policy.Action.VIEW)
@require_POST
def share_revoke(request: HtmxHttpRequest, membership: Membership, link_id: int) -> HttpResponse:
    link = sharing.links_for_member(membership=membership).filter(pk=link_id).first()
    if link is None:
        raise Http404("No such link.")
    policy.require(membership, policy.Action.MANAGE_SHARE, link)
    sharing.revoke_share_link(link=link)
    messages.success(request, _("The link no longer opens."))
    return redirect("gallery:shares", slug=membership.workspace.slug)


def _throttled(request: HtmxHttpRequest, kind: str, limit: int) -> bool:
    key = f"share-{kind}:{throttle.client_ip(request) or 'unknown'}"
    return not throttle.allow(key=key, limit=limit, window=timedelta(minutes=1))


def _public(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = NOINDEX
    response["Referrer-Policy"] = "no-referrer"
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _plain(request: HtmxHttpRequest, status: int, message: str) -> HttpResponse:
    return _public(render(request, "gallery/shared_gone.html", {"message": message}, status=status))


def _live_link(request: HtmxHttpRequest, token: str) -> ShareLink | HttpResponse:
    link = sharing.find_share_link(token=token)
    if link is None:
        return _plain(request, 404, _("There is no such link."))
    if sharing.is_gone(link):
        return _plain(request, 410, _("This link has expired or was turned off."))
    return link


@login_not_required
@require_GET
def shared(request: HtmxHttpRequest, token: str) -> HttpResponse:
    if _throttled(request, "page", settings.SHARE_PAGE_RATE_LIMIT):
        return _plain(request, 429, _("Too many requests: wait a minute and try again."))
    link = _live_link(request, token)
    if isinstance(link, HttpResponse):
        return link
    sharing.record_view(link=link)
    images = Paginator(sharing.shared_images(link=link), sharing.PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "link": link,
        "token": token,
        "images": [(sharing.image_key(image), image) for image in images],
        "page": images,
        "title": link.board.name if link.board is not None else _("Shared image"),
    }
    return _public(render(request, "gallery/shared.html", context))


@login_not_required
@require_GET
def shared_file(request: HtmxHttpRequest, token: str, key: str, variant: str) -> HttpResponse:
    """A shared image's thumbnail, or its original when the link allows downloads (as the
    stored file, with no provenance: that names ids of the workspace)."""
    if _throttled(request, "file", settings.SHARE_FILE_RATE_LIMIT):
        return _plain(request, 429, _("Too many requests: wait a minute and try again."))
    link = _live_link(request, token)
    if isinstance(link, HttpResponse):
        return link
    if variant in ("original", "download") and not link.allow_download:
        raise Http404("This link does not allow downloads.")
    image = sharing.shared_image(link=link, key=key)
    if image is None or variant not in ("small", "large", "original", "download"):
        raise Http404("No such image.")
    if variant in ("small", "large"):
        field_file = image.thumbnail_small if variant == "small" else image.thumbnail_large
        extension = PurePosixPath(field_file.name).suffix.lower()
        response = file_response(
            field_file,
            content_type=EXTENSION_CONTENT_TYPES.get(extension, "application/octet-stream"),
        )
    else:
        response = file_response(
            image.original,
            content_type=CONTENT_TYPES.get(image.format, "application/octet-stream"),
        )
        if variant == "download":
            name = f"atelier-{key}.{image.format}"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
    return _public(response)
