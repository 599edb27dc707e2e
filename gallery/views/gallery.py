"""The gallery: the user's generations and images."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import render
from django.template.response import TemplateResponse
from django_htmx.middleware import HtmxDetails

from gallery.models import Image


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def index(request: HtmxHttpRequest) -> TemplateResponse:
    images = Image.objects.for_user(request.user).live()[:48]
    return render(request, "gallery/index.html", {"images": images})
