"""A user's language and time zone: the header's language switch, the settings page, and the
browser's one-time report of its time zone (gallery/i18n.py keeps and applies them)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import JavaScriptCatalog

from gallery import i18n
from gallery.forms import PreferencesForm


def _safe_next(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.headers.get("referer") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("gallery:home") if request.user.is_authenticated else reverse("login")


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The header's switch: for anyone (the log-in page has it too). A signed-in user's choice
    is stored with them; everyone gets the language cookie."""
    language = request.POST.get("language", "")
    if not i18n.is_language(language):
        return HttpResponseBadRequest("Unknown language.")
    if request.user.is_authenticated:
        i18n.save_preferences(request, language=language)
    response = redirect(_safe_next(request))
    i18n.set_language_cookie(response, language)
    return response


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    current = i18n.preferences_of_session(request)
    form = PreferencesForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        i18n.save_preferences(request, language=language, time_zone=form.cleaned_data["time_zone"])
        # The confirmation speaks the language just chosen.
        with translation.override(language or translation.get_language()):
            messages.success(request, _("Settings saved."))
        response = redirect("gallery:preferences")
        if language:
            i18n.set_language_cookie(response, language)
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return response
    return render(request, "gallery/preferences.html", {"form": form})


@require_POST
def time_zone_detect(request: HttpRequest) -> HttpResponse:
    """The browser's time zone, posted once by static/gallery/i18n.js while none is stored; a
    zone chosen on the settings page is never overwritten."""
    name = request.POST.get("time_zone", "")
    if not i18n.is_time_zone(name):
        return HttpResponseBadRequest("Unknown time zone.")
    if not i18n.preferences_of_session(request).get("time_zone"):
        i18n.save_preferences(request, time_zone=name)
    return HttpResponse(status=204)


_catalog_view = JavaScriptCatalog.as_view(domain="djangojs", packages=["gallery"])


@login_not_required
@require_GET
@cache_control(max_age=600)
def javascript_catalog(request: HttpRequest, language: str) -> HttpResponse:
    """The words of static/gallery/*.js in `language` (gettext() in scripts); the language is
    in the URL, so a browser's cached copy is never another language's."""
    if not i18n.is_language(language):
        return HttpResponseBadRequest("Unknown language.")
    with translation.override(language):
        return _catalog_view(request)
