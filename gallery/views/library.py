"""The user's library around the gallery: prompt history, usage, and the trash."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from gallery.models import Image
from gallery.services import browse, trash
from gallery.views.htmx import HtmxHttpRequest

TRASH_PER_PAGE = 60


@require_GET
@vary_on_headers("HX-Request")
def prompts(request: HtmxHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    page = browse.prompt_history(
        user=request.user, query=query, cursor=request.GET.get("cursor"), per_page=30
    )
    context = {
        "page": page,
        "q": query,
        "next_query": urlencode(
            {"q": query, "cursor": page.next_cursor} if query else {"cursor": page.next_cursor}
        ),
    }
    if request.htmx:
        return render(request, "gallery/prompts.html#prompt-results", context)
    return render(request, "gallery/prompts.html", context)


@require_GET
def usage(request: HtmxHttpRequest) -> HttpResponse:
    days = request.GET.get("days", "30")
    days = int(days) if days.isdigit() and 1 <= int(days) <= 366 else 30
    summary = browse.usage_summary(user=request.user, days=days)
    busiest = max((day.total.images for day in summary.days), default=0)
    return render(
        request, "gallery/usage.html", {"summary": summary, "days": days, "busiest": busiest}
    )


@require_GET
def trash_page(request: HtmxHttpRequest) -> HttpResponse:
    trashed = Image.objects.for_user(request.user).filter(deleted_at__isnull=False)
    page = browse.keyset_page(
        trashed.select_related("generation"),
        cursor=request.GET.get("cursor"),
        per_page=TRASH_PER_PAGE,
    )
    return render(request, "gallery/trash.html", {"page": page, "days": trash.TRASH_DAYS})


@require_POST
def trash_empty(request: HtmxHttpRequest) -> HttpResponse:
    removed = trash.empty_trash(user=request.user)
    messages.success(request, f"Deleted {removed} image{'s' if removed != 1 else ''} for good.")
    return redirect("gallery:trash")
