"""The app's URLs plus one that fails, to see what a 500 leaves behind."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from gallery.urls import handler500
from gallery.urls import urlpatterns as app_urlpatterns

__all__ = ["handler500", "urlpatterns"]


@login_not_required
def boom(request):
    raise RuntimeError("the view broke")


urlpatterns = [path("boom/", boom), *app_urlpatterns]
