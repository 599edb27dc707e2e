"""Boards: the list of a workspace's boards, one board's grid (the gallery's, narrowed to it),
and putting images on and taking them off a board."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from gallery import policy
from gallery.forms import BoardForm
from gallery.models import Board, Membership
from gallery.services import boards
from gallery.views.access import access_board, member_view, object_view
from gallery.views.gallery import gallery_context
from gallery.views.htmx import HtmxHttpRequest


def _image_ids(request: HtmxHttpRequest) -> list[int]:
    return [int(value) for value in request.POST.getlist("image") if value.isdigit()]


def _back(request: HtmxHttpRequest, fallback: str) -> HttpResponse:
    """To the page the form was on (`next`, when it is ours), else to `fallback`."""
    following = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(following, allowed_hosts={request.get_host()})
    return redirect(following if following and allowed else fallback)


@member_view(policy.Action.VIEW)
@require_http_methods(["GET", "POST"])
def board_list(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    """GET: the boards the member sees, with counts and covers. POST: make one (editor+)."""
    form = BoardForm()
    if request.method == "POST":
        policy.require(membership, policy.Action.ADD_TO_BOARD)
        form = BoardForm(request.POST)
        if form.is_valid():
            board = boards.create_board(
                membership=membership,
                name=form.cleaned_data["name"],
                visibility=form.cleaned_data["visibility"],
            )
            messages.success(request, _("Board “%(board)s” made.") % {"board": board.name})
            return redirect("gallery:board", pk=board.pk)
    context = {"boards": boards.board_list(membership=membership), "form": form}
    return render(request, "gallery/boards.html", context, status=400 if form.errors else 200)


@object_view(access_board, policy.Action.VIEW)
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def board_detail(request: HtmxHttpRequest, board: Board, membership: Membership) -> HttpResponse:
    context = gallery_context(request, membership, board=board)
    if request.htmx and request.htmx.target == "load-more":
        return render(request, "gallery/index.html#grid-page", context)
    if request.htmx and request.htmx.target == "gallery-results":
        return render(request, "gallery/index.html#gallery-results", context)
    context["form"] = BoardForm(
        initial={"name": board.name, "visibility": board.visibility, "cover": board.cover_id}
    )
    return render(request, "gallery/board.html", context)


@object_view(access_board, policy.Action.MANAGE_BOARD)
@require_POST
def board_edit(request: HtmxHttpRequest, board: Board, membership: Membership) -> HttpResponse:
    form = BoardForm(request.POST)
    if not form.is_valid():
        context = {**gallery_context(request, membership, board=board), "form": form}
        return render(request, "gallery/board.html", context, status=400)
    boards.update_board(
        board=board,
        membership=membership,
        name=form.cleaned_data["name"],
        visibility=form.cleaned_data["visibility"],
        cover_id=form.cleaned_data["cover"],
    )
    messages.success(request, _("Board saved."))
    return _back(request, board_url(board))


@object_view(access_board, policy.Action.MANAGE_BOARD)
@require_POST
def board_delete(request: HtmxHttpRequest, board: Board, membership: Membership) -> HttpResponse:
    name = board.name
    boards.delete_board(board=board)
    messages.success(
        request, _("Board “%(board)s” deleted; its images stay in the gallery.") % {"board": name}
    )
    return redirect("gallery:boards", slug=membership.workspace.slug)


@member_view(policy.Action.ADD_TO_BOARD)
@require_POST
def board_add_images(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    """Put the ticked images (or the overlay's one) on the board chosen in the form. The board
    comes from the body, so the selection form works without JavaScript."""
    board_id = request.POST.get("board", "")
    board = (
        Board.objects.for_member(membership).filter(pk=board_id).first()
        if board_id.isdigit()
        else None
    )
    if board is None:
        raise Http404("No such board.")
    ids = _image_ids(request)
    if not ids:
        messages.error(request, _("Select at least one image to put on the board."))
    else:
        added = boards.add_images(board=board, membership=membership, ids=ids)
        messages.success(
            request,
            ngettext(
                "Added %(count)s image to “%(board)s”.",
                "Added %(count)s images to “%(board)s”.",
                added,
            )
            % {"count": added, "board": board.name},
        )
    return _back(request, board_url(board))


@object_view(access_board, policy.Action.MANAGE_BOARD)
@require_POST
def board_remove_images(
    request: HtmxHttpRequest, board: Board, membership: Membership
) -> HttpResponse:
    removed = boards.remove_images(board=board, ids=_image_ids(request))
    messages.success(
        request,
        ngettext(
            "Took %(count)s image off “%(board)s”.",
            "Took %(count)s images off “%(board)s”.",
            removed,
        )
        % {"count": removed, "board": board.name},
    )
    return _back(request, board_url(board))


def board_url(board: Board) -> str:
    return reverse("gallery:board", args=[board.pk])
