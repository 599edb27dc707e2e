"""What every page's template knows about the workspace it shows (the header, the links)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def workspace(request: HttpRequest) -> dict[str, Any]:
    """`membership` and `workspace` of the page, when the view resolved them (gallery.views.access
    sets request.membership); None on pages of no workspace (sign-up, log-in)."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership,
        "workspace": membership.workspace if membership is not None else None,
    }
