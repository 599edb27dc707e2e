"""Start-up check: a production web server without `collectstatic` refuses to start, saying so,
instead of answering every page with a 500 (the hashed-names storage cannot find its manifest).

It runs when the WSGI/ASGI application loads (gunicorn, runserver), not as a registered system
check: those run before every management command, and a deployment runs `migrate` (and
`collectstatic` itself) before the static files exist."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

MISSING_STATIC = (
    "The static files were not collected: {path} is missing. "
    "Run `python manage.py collectstatic --no-input` before starting the web server."
)


def missing_static_manifest() -> Path | None:
    """The manifest the static files storage needs and lacks, or None when all is well."""
    backend = import_string(settings.STORAGES["staticfiles"]["BACKEND"])
    manifest_name = getattr(backend, "manifest_name", None)
    if manifest_name is None:
        return None  # a storage that serves files as they are (DEBUG) needs no collectstatic
    manifest = Path(settings.STATIC_ROOT) / manifest_name
    return None if manifest.exists() else manifest


def require_collected_static() -> None:
    """For WSGI start-up (gunicorn runs no system checks): refuse to start without static."""
    if (manifest := missing_static_manifest()) is not None:
        raise ImproperlyConfigured(MISSING_STATIC.format(path=manifest))
