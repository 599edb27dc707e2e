"""`manage.py empty_trash`: delete for good what has been in the trash for 30 days (or all)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from gallery.services import trash


class Command(BaseCommand):
    help = "Delete trashed images (and their files) older than --days (default 30)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=trash.TRASH_DAYS)
        parser.add_argument(
            "--all", action="store_true", dest="everything", help="Empty the whole trash now."
        )

    def handle(self, *args: Any, days: int, everything: bool, **options: Any) -> None:
        older_than = None if everything else timedelta(days=days)
        removed = trash.empty_trash(older_than=older_than)
        self.stdout.write(f"Deleted {removed} image(s) from the trash.")
