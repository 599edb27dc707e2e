"""The gallery page: the generate form, the generations under way, and the user's images."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from gallery.forms import GenerateForm
from gallery.models import Generation, Image
from gallery.views.generations import LIVE_IMAGES, generate_form_for
from gallery.views.htmx import HtmxHttpRequest

# Failures stay on top of the gallery this long, so the user sees them and can retry.
RECENT_PROBLEMS = timedelta(hours=24)


def index_context(request: HtmxHttpRequest, *, form: GenerateForm | None = None) -> dict[str, Any]:
    since = timezone.now() - RECENT_PROBLEMS
    pending = (
        Generation.objects.for_user(request.user)
        .live()
        .filter(
            Q(status__in=Generation.PENDING_STATUSES)
            | Q(status=Generation.Status.FAILED, created_at__gte=since)
        )
        .prefetch_related(LIVE_IMAGES)
        .order_by("-id")[:20]
    )
    return {
        "form": form or generate_form_for(request),
        "pending": pending,
        "has_images": Image.objects.for_user(request.user).live().exists(),
    }


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "gallery/index.html", index_context(request))
