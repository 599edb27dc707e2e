"""Who may see what: every view that takes an id answers 404 unless the id is the user's."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db.models import Model
from django.http import Http404, HttpResponse

from gallery.views.htmx import HtmxHttpRequest


def owned(
    model: type[Model],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Answer 404 for an id that is not the user's, before anything else (the HTTP method
    included), so another person's ids are indistinguishable from ids that do not exist."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HtmxHttpRequest, pk: int, *args: Any, **kwargs: Any) -> HttpResponse:
            if not model.objects.for_user(request.user).filter(pk=pk).exists():
                raise Http404(f"No such {model._meta.verbose_name}.")
            return view(request, pk, *args, **kwargs)

        return wrapper

    return decorator
