"""Test settings: the app's own, with a fast password hasher and a file-backed SQLite test DB.

The SQLite test database is a file (not :memory:) so a real `db_worker` process and the live
server of the browser tests see the same data as the test. DATABASE_URL switches to PostgreSQL.
"""

from __future__ import annotations

from gallery.settings import *  # noqa: F403
from gallery.settings import BASE_DIR, DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
IMAGES_API_KEY = ""
IMAGES_API_BASE_URL = "http://127.0.0.1:9"
LOGGING = {"version": 1, "disable_existing_loggers": False}
