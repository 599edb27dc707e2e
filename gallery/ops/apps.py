from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Its own app (and migrations), so operator tables never touch the gallery's schema."""

    name = "gallery.ops"
    label = "ops"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Operations"
