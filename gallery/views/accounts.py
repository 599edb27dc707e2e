"""Sign up: Django's own auth, with our templates, and a personal workspace for the new user.
settings.ATELIER_SIGNUP says who may: anyone, only someone holding a valid invitation link
(who joins its workspace at once), or nobody. Log in/out and password change are Django's
(failed logins are throttled by django-axes, see settings.AXES_*)."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from gallery.forms import SignupForm
from gallery.models import Invitation
from gallery.ops import throttle
from gallery.services import workspaces


@login_not_required
@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("gallery:home")
    invite = request.POST.get("invite") or request.GET.get("invite") or ""
    invitation = _invitation(invite)
    if settings.ATELIER_SIGNUP == "closed" or (
        settings.ATELIER_SIGNUP == "invite" and invitation is None
    ):
        return render(
            request,
            "registration/signup_closed.html",
            {"mode": settings.ATELIER_SIGNUP},
            status=403,
        )
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not throttle.allow(
            key=f"signup:{throttle.client_ip(request) or 'unknown'}",
            limit=settings.SIGNUP_RATE_LIMIT,
            window=timedelta(hours=1),
        ):
            form.add_error(
                None, _("Too many accounts were created from your address. Try again in an hour.")
            )
            return render(request, "registration/signup.html", {"form": form}, status=429)
        with transaction.atomic():
            user = form.save()
            membership = workspaces.create_personal_workspace(user=user)
            # Used up meanwhile: the account stands, with its own workspace.
            if invitation is not None:
                with suppress(workspaces.WorkspaceError):
                    membership = workspaces.accept_invitation(invitation=invitation, user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request, _("Welcome to Atelier, %(username)s.") % {"username": user.get_username()}
        )
        return redirect("gallery:index", slug=membership.workspace.slug)
    return render(
        request,
        "registration/signup.html",
        {"form": form, "invite": invite if invitation else "", "invitation": invitation},
    )


def _invitation(invite: str) -> Invitation | None:
    """The invitation named by "<id>.<token>" (as the accept page passes it), if usable."""
    invitation_id, _dot, token = invite.partition(".")
    if not invitation_id.isdigit() or not token:
        return None
    return workspaces.find_invitation(invitation_id=int(invitation_id), token=token)
