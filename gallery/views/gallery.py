"""The gallery page of a workspace: the generate form, the generations under way, the images."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from gallery import policy
from gallery.forms import GenerateForm
from gallery.models import Board, Generation, Membership
from gallery.services import browse, catalog
from gallery.views.access import member_view
from gallery.views.common import generate_form_for
from gallery.views.htmx import HtmxHttpRequest

# Failures stay on top of the gallery this long, so the user sees them and can retry.
RECENT_PROBLEMS = timedelta(hours=24)
VIEWS = ("images", "generations")
IMAGE_STATUSES = (Generation.Status.SUCCEEDED, Generation.Status.PARTIAL)
# The queue tray shows this many generations at most, and queue positions up to this one.
QUEUE_TRAY_SIZE = 20
QUEUE_POSITIONS = 500
QUEUE_SUMMARY = ("running", "queued", "failed")
IMAGES_PER_PAGE = 48
GENERATIONS_PER_PAGE = 24


def gallery_context(
    request: HtmxHttpRequest, membership: Membership, *, board: Board | None = None
) -> dict[str, Any]:
    """The grid (images or generations) for the filters and cursor in the URL of the gallery, or
    of a board's page (the same grid, filters and overlay, of the board's images only)."""
    grid_pages = ("board",) if board is not None else ("index",)
    query = request.GET if request.resolver_match.url_name in grid_pages else QueryDict()
    filters = browse.GridFilters.from_query(query)
    view = query.get("view") if query.get("view") in VIEWS else VIEWS[0]
    if board is not None:
        view = "images"  # a board holds images, not generations
    elif filters.status and filters.status not in IMAGE_STATUSES:
        # Queued, running, failed and canceled generations have no images to show as tiles.
        view = "generations"
    cursor = query.get("cursor")
    if view == "images":
        page = browse.image_page(
            membership=membership,
            filters=filters,
            cursor=cursor,
            per_page=IMAGES_PER_PAGE,
            board=board,
        )
    else:
        page = browse.generation_page(
            membership=membership,
            filters=filters,
            cursor=cursor,
            per_page=GENERATIONS_PER_PAGE,
        )
    base_query = {**filters.as_query(), **({"view": view} if view != VIEWS[0] else {})}
    return {
        "board": board,
        "grid_url": reverse("gallery:board", args=[board.pk])
        if board is not None
        else reverse("gallery:index", args=[membership.workspace.slug]),
        # The boards the selection form can put ticked images on (lazy: read by the template
        # only when the member may add to boards).
        "selection_boards": Board.objects.for_member(membership).only("id", "name"),
        "filters": filters,
        "view": view,
        "page": page,
        "is_first_page": not cursor,
        "next_query": urlencode({**base_query, "cursor": page.next_cursor})
        if page.has_next
        else "",
        "images_view_query": urlencode(filters.as_query()),
        "first_page_query": urlencode(base_query),
        "generations_view_query": urlencode({**filters.as_query(), "view": "generations"}),
        "models": catalog.all_models(),
        "sizes": sorted({size for spec in catalog.all_models() for size in spec.sizes}),
        "aspect_ratios": list(
            dict.fromkeys(ratio for spec in catalog.all_models() for ratio in spec.aspect_ratios)
        ),
        "statuses": Generation.Status.choices,
        # A team's gallery can be narrowed to what one member made.
        "makers": []
        if membership.workspace.is_personal
        else Membership.objects.filter(workspace_id=membership.workspace_id)
        .select_related("user")
        .order_by("user__username"),
    }


def index_context(
    request: HtmxHttpRequest, membership: Membership, *, form: GenerateForm | None = None
) -> dict[str, Any]:
    pending = list(
        Generation.objects.for_member(membership)
        .live()
        .needing_attention(failed_since=timezone.now() - RECENT_PROBLEMS)
        .with_live_images()
        .order_by("-id")[:QUEUE_TRAY_SIZE]
    )
    if any(generation.status == Generation.Status.QUEUED for generation in pending):
        # Where each queued one stands in the workspace's queue (one query, not one each).
        line = list(
            Generation.objects.for_member(membership)
            .live()
            .filter(status=Generation.Status.QUEUED)
            .order_by("id")
            .values_list("id", flat=True)[:QUEUE_POSITIONS]
        )
        positions = {pk: number for number, pk in enumerate(line, start=1)}
        for generation in pending:
            generation.queue_position = positions.get(generation.pk)
    counts = Counter(generation.status for generation in pending)
    return {
        **gallery_context(request, membership),
        "form": form or generate_form_for(request, membership),
        "pending": pending,
        "queue_counts": {status: counts[status] for status in QUEUE_SUMMARY},
    }


@member_view(policy.Action.VIEW)
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def index(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    if request.htmx and request.htmx.target == "load-more":
        return render(request, "gallery/index.html#grid-page", gallery_context(request, membership))
    if request.htmx and request.htmx.target == "gallery-results":
        context = gallery_context(request, membership)
        return render(request, "gallery/index.html#gallery-results", context)
    return render(request, "gallery/index.html", index_context(request, membership))
