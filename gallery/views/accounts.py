"""Sign up: Django's own auth, with our templates, and a personal workspace for the new user.
Log in/out and password change are Django's (failed logins are throttled by django-axes, see
settings.AXES_*)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from gallery.forms import SignupForm
from gallery.ops import throttle
from gallery.services import workspaces


@login_not_required
@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("gallery:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not throttle.allow(
            key=f"signup:{throttle.client_ip(request) or 'unknown'}",
            limit=settings.SIGNUP_RATE_LIMIT,
            window=timedelta(hours=1),
        ):
            form.add_error(
                None, "Too many accounts were created from your address. Try again in an hour."
            )
            return render(request, "registration/signup.html", {"form": form}, status=429)
        with transaction.atomic():
            user = form.save()
            membership = workspaces.create_personal_workspace(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to Atelier, {user.get_username()}.")
        return redirect("gallery:index", slug=membership.workspace.slug)
    return render(request, "registration/signup.html", {"form": form})
