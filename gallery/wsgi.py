"""WSGI entry point, e.g. `gunicorn gallery.wsgi`."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gallery.settings")
application = get_wsgi_application()

# Refuse to serve without collected static files (a clear message, not a 500 on every page).
from gallery.ops.checks import require_collected_static  # noqa: E402

require_collected_static()
