"""Workspaces: "/" opens the one the user last worked in."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from gallery.services import workspaces
from gallery.views.access import SESSION_WORKSPACE
from gallery.views.htmx import HtmxHttpRequest


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    membership = workspaces.current_membership(
        user=request.user, slug=request.session.get(SESSION_WORKSPACE)
    )
    return redirect("gallery:index", slug=membership.workspace.slug)
