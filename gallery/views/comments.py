"""Comments on an image: post (reviewers and above), edit your own, delete your own (admins any).

Plain forms that post and redirect back to the image's page, at the comment: they work without
JavaScript; static/gallery/review.js only adds picking a pin's point on the image.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gallery import policy
from gallery.models import Comment, Image, Membership
from gallery.services import comments
from gallery.views.access import access_comment, access_image, object_view
from gallery.views.htmx import HtmxHttpRequest


def _coordinate(request: HtmxHttpRequest, name: str) -> float | None:
    value = request.POST.get(name, "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return -1.0  # refused by the service with a message


def _to_image(image_id: int, comment_id: int | None = None) -> HttpResponse:
    anchor = f"#comment-{comment_id}" if comment_id else "#comments"
    return redirect(reverse("gallery:image", args=[image_id]) + anchor)


@object_view(access_image, policy.Action.COMMENT)
@require_POST
def comment_add(request: HtmxHttpRequest, image: Image, membership: Membership) -> HttpResponse:
    try:
        comment = comments.add_comment(
            membership=membership,
            image=image,
            body=request.POST.get("body", ""),
            x=_coordinate(request, "x"),
            y=_coordinate(request, "y"),
        )
    except comments.CommentError as error:
        messages.error(request, str(error))
        return _to_image(image.pk)
    return _to_image(image.pk, comment.pk)


@object_view(access_comment, policy.Action.EDIT_COMMENT)
@require_POST
def comment_edit(
    request: HtmxHttpRequest, comment: Comment, membership: Membership
) -> HttpResponse:
    try:
        comments.edit_comment(comment=comment, body=request.POST.get("body", ""))
    except comments.CommentError as error:
        messages.error(request, str(error))
    return _to_image(comment.image_id, comment.pk)


@object_view(access_comment, policy.Action.MANAGE_COMMENT)
@require_POST
def comment_delete(
    request: HtmxHttpRequest, comment: Comment, membership: Membership
) -> HttpResponse:
    comments.delete_comment(comment=comment)
    messages.success(request, _("Comment deleted."))
    return _to_image(comment.image_id)
