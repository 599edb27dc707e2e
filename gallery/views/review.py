"""Compare: 2-4 of a workspace's images side by side, with synced zoom and pan
(static/gallery/review.js) and their differences spelled out."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from gallery import policy
from gallery.models import Image, Membership
from gallery.services.differences import differing_options, word_diff
from gallery.views.access import member_view
from gallery.views.htmx import HtmxHttpRequest

MIN_COMPARE, MAX_COMPARE = 2, 4


def _ids(values: list[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        if value.isdigit() and int(value) not in ids:
            ids.append(int(value))
    return ids


@member_view(policy.Action.VIEW)
@require_http_methods(["GET", "POST"])
def compare(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    """GET ?image=1&image=2...: the page. POST (the grid's selection form): to that page, so
    its URL names only the images and can be passed on to another member."""
    url = reverse("gallery:compare", args=[membership.workspace.slug])
    if request.method == "POST":
        ids = _ids(request.POST.getlist("image"))[:MAX_COMPARE]
        return redirect(f"{url}?{urlencode({'image': ids}, doseq=True)}")
    ids = _ids(request.GET.getlist("image"))
    if len(ids) > MAX_COMPARE:
        ids = ids[:MAX_COMPARE]
    found = {
        image.pk: image
        for image in Image.objects.for_member(membership)
        .live()
        .filter(pk__in=ids)
        .select_related("generation")
    }
    if len(found) != len(ids):
        raise Http404("No such image.")
    images = [found[pk] for pk in ids]
    panes = []
    for position, image in enumerate(images):
        base = images[0].generation.prompt
        diff = word_diff(base, image.generation.prompt) if position else []
        panes.append({"image": image, "diff": diff})
    context = {
        "panes": panes,
        "options": differing_options([image.generation for image in images])
        if len(images) >= MIN_COMPARE
        else [],
        "too_few": len(images) < MIN_COMPARE,
        "max_compare": MAX_COMPARE,
    }
    return render(request, "gallery/compare.html", context)
