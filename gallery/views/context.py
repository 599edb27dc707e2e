"""What every page's template knows about the workspace it shows (the header, the links)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

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
