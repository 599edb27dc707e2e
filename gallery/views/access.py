"""Who may see what, for views: fetch a row (or a workspace) and the viewer's membership together,
in ONE query, then ask gallery.policy whether the member may do the action.

- Not a member of the row's workspace (or no such row): 404, before anything else, the HTTP
  method included, so ids of other workspaces are indistinguishable from ids that do not exist.
- A member whose role does not allow the action: 403 (PermissionDenied). They can see the row
  anyway, so its existence is no secret; the page says why instead of pretending it is gone.

Object pages (/images/N/, /generations/N/) resolve the workspace from the row, so a link copied
by one member opens for any other member. Workspace pages (/w/<slug>/...) resolve it from the
slug with @member_view. Both set request.membership, which templates read (context processor
gallery.views.context.workspace) to build links and to hide what the member may not do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpResponse

from gallery import policy
from gallery.models import Board, Comment, Generation, Image, Membership
from gallery.views.htmx import HtmxHttpRequest

# Where the last workspace page the user opened is remembered: "/" sends them back to it.
SESSION_WORKSPACE = "atelier_workspace"


def _access[M: (Generation, Image, Board, Comment)](
    request: HtmxHttpRequest, queryset: QuerySet[M], pk: int, action: policy.Action
) -> tuple[M, Membership]:
    row = (
        queryset.filter(pk=pk, workspace__memberships__user_id=request.user.pk)
        .select_related("workspace")
        .annotate(
            member_id=F("workspace__memberships__id"),
            member_role=F("workspace__memberships__role"),
        )
        .first()
    )
    if row is None:
        raise Http404(f"No such {queryset.model._meta.verbose_name}.")
    membership = Membership(
        id=row.member_id, workspace=row.workspace, user=request.user, role=row.member_role
    )
    policy.require(membership, action, row)
    request.membership = membership
    return row, membership


def access_generation(
    request: HtmxHttpRequest,
    pk: int,
    action: policy.Action = policy.Action.VIEW,
    *,
    queryset: QuerySet[Generation] | None = None,
) -> tuple[Generation, Membership]:
    """The generation `pk` and the viewer's membership of its workspace (one query; a
    `queryset` narrows or prefetches), or 404 for a non-member, 403 for a role without the
    right."""
    return _access(
        request,
        queryset if queryset is not None else Generation.objects.all(),
        pk,
        policy.Action(action),
    )


def access_image(
    request: HtmxHttpRequest,
    pk: int,
    action: policy.Action = policy.Action.VIEW,
    *,
    live: bool = True,
    queryset: QuerySet[Image] | None = None,
) -> tuple[Image, Membership]:
    """The image `pk` (out of the trash unless live=False) and the viewer's membership of its
    workspace, as access_generation."""
    images = queryset if queryset is not None else Image.objects.select_related("generation")
    if live:
        images = images.live()
    return _access(request, images, pk, policy.Action(action))


def access_board(
    request: HtmxHttpRequest, pk: int, action: policy.Action = policy.Action.VIEW
) -> tuple[Board, Membership]:
    """The board `pk` and the viewer's membership of its workspace (one query), as
    access_generation; another member's "only me" board is a 404, to an admin too."""
    boards = Board.objects.filter(
        Q(visibility=Board.Visibility.WORKSPACE) | Q(created_by_id=request.user.pk)
    )
    return _access(request, boards, pk, policy.Action(action))


def access_comment(
    request: HtmxHttpRequest, pk: int, action: policy.Action = policy.Action.VIEW
) -> tuple[Comment, Membership]:
    """The comment `pk` (on a live image) and the viewer's membership of its workspace (one
    query), as access_generation."""
    comments = Comment.objects.filter(image__deleted_at__isnull=True).select_related("image")
    return _access(request, comments, pk, policy.Action(action))


def access_workspace(request: HtmxHttpRequest, slug: str, action: policy.Action) -> Membership:
    """The viewer's membership of the workspace `slug` (one query), 404 for a non-member,
    403 for a role without the right."""
    membership = (
        Membership.objects.for_user(request.user)
        .filter(workspace__slug=slug)
        .select_related("workspace")
        .first()
    )
    if membership is None:
        raise Http404("No such workspace.")
    membership.user = request.user
    policy.require(membership, action)
    request.membership = membership
    return membership


def member_view(
    action: policy.Action,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """For views under /w/<slug>/: the view receives the membership instead of the slug, once
    the member is known to be allowed `action`; the workspace becomes the one "/" opens."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HtmxHttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = access_workspace(request, slug, action)
            if request.session.get(SESSION_WORKSPACE) != slug:
                request.session[SESSION_WORKSPACE] = slug
            return view(request, membership, *args, **kwargs)

        return wrapper

    return decorator


def object_view(
    access: Callable[..., tuple[Any, Membership]], action: policy.Action, **access_kwargs: Any
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """For views of one row (/images/<pk>/..., /generations/<pk>/...): the row is fetched and
    authorised by `access` (access_image, access_generation) before anything else, the HTTP
    method included; the view receives the row and the membership instead of the pk."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HtmxHttpRequest, pk: int, *args: Any, **kwargs: Any) -> HttpResponse:
            row, membership = access(request, pk, action, **access_kwargs)
            return view(request, row, membership, *args, **kwargs)

        return wrapper

    return decorator
