from __future__ import annotations

from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = "Atelier gallery"
    default_auto_field = "django.db.models.BigAutoField"
