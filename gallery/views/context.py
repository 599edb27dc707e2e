"""What every page's template knows about the workspace it shows (the header, the links)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from gallery import i18n
from gallery.models import Membership


def workspace(request: HttpRequest) -> dict[str, Any]:
    """`membership` and `workspace` of the page, when the view resolved them (gallery.views.access
    sets request.membership); None on pages of no workspace (sign-up, log-in)."""
    membership = getattr(request, "membership", None)

    def switchable() -> list[Membership]:
        # Called by the header's switcher only (templates call callables): one query there.
        return list(
            Membership.objects.for_user(request.user)
            .select_related("workspace")
            .order_by("-workspace__is_personal", "workspace__name")
        )

    return {
        "membership": membership,
        "workspace": membership.workspace if membership is not None else None,
        "switchable_memberships": switchable,
    }


def preferences(request: HttpRequest) -> dict[str, Any]:
    """`time_zone_detect_url` while a signed-in user has no time zone stored: the page asks
    their browser for it once (static/gallery/i18n.js)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return {}
    if i18n.preferences_of_session(request).get("time_zone"):
        return {}
    return {"time_zone_detect_url": reverse("gallery:time_zone_detect")}
