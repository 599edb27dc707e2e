"""Operator URLs (no login: a load balancer and Prometheus ask them), and the 500 page."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from gallery.ops import health, metrics


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database, the file storage and at least one worker are well; else 503,
    saying which is not."""
    result = health.check()
    return JsonResponse(
        {
            "status": "ok" if result.ok else "unhealthy",
            "database": result.database,
            "storage": result.storage,
            "workers": result.workers,
            "live_workers": result.live_workers,
        },
        status=200 if result.ok else 503,
    )


@login_not_required
@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, only when ATELIER_METRICS_TOKEN is set, and only to a scraper that
    sends it (`Authorization: Bearer <token>`): queue sizes and error counts are not public."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set ATELIER_METRICS_TOKEN.")
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), token.encode()):
        response = HttpResponse("A valid bearer token is needed.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, with the request id to quote (the log line with the traceback has it)."""
    request_id = getattr(request, "request_id", "")
    try:
        return render(request, "500.html", {"request_id": request_id}, status=500)
    except Exception:
        # Even the template may be what is broken: answer in plain text.
        return HttpResponse(
            f"Server error. Request id: {request_id}\n", status=500, content_type="text/plain"
        )
