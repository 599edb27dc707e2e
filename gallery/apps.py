from __future__ import annotations

from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = "Atelier gallery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Copies a user's language and time zone into their session when they log in.
        from gallery import i18n  # noqa: F401
