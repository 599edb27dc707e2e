"""Test settings: the app's own, with a fast password hasher and a file-backed SQLite test DB.

The SQLite test database is a file (not :memory:) so a real `db_worker` process and the live
server of the browser tests see the same data as the test. DATABASE_URL switches to PostgreSQL.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gallery.settings import *  # noqa: F403
from gallery.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One file per test run, so two runs side by side never share (and delete) one database.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"atelier-test-{os.getpid()}.sqlite3")
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
IMAGES_API_KEY = ""
IMAGES_API_BASE_URL = "http://127.0.0.1:9"
LOGGING = {"version": 1, "disable_existing_loggers": False}
