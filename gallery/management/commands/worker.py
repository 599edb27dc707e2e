"""`manage.py worker`: django-tasks-db's db_worker, plus the crash recovery it lacks.

django-tasks-db leaves a task RUNNING forever when its worker dies. The Generation row is the
source of truth: a running generation holds a lease it renews, and this worker sweeps for
expired leases when it starts and then periodically, putting those generations back in the queue.
Once an hour the same sweep empties what has been in the trash for 30 days.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from gallery.services import generations, trash

logger = logging.getLogger(__name__)
TRASH_SWEEP_SECONDS = 60 * 60


class Command(DBWorkerCommand):
    help = "Run a background worker that also re-queues generations whose worker died."

    def handle(self, *args: Any, **options: Any) -> None:
        generations.requeue_stale_generations()
        stop = threading.Event()
        sweeper = threading.Thread(target=self.sweep_forever, args=(stop,), daemon=True)
        sweeper.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()

    def sweep_forever(self, stop: threading.Event) -> None:
        interval = max(1.0, settings.GENERATION_LEASE_SECONDS / 2)
        next_trash_sweep = time.monotonic()
        try:
            while not stop.wait(interval):
                close_old_connections()
                try:
                    generations.requeue_stale_generations()
                    if time.monotonic() >= next_trash_sweep:
                        # What has been in the trash for 30 days goes for good, files included.
                        trash.empty_trash(older_than=timedelta(days=trash.TRASH_DAYS))
                        next_trash_sweep = time.monotonic() + TRASH_SWEEP_SECONDS
                except Exception:
                    # The sweep must outlive a passing database error (e.g. SQLite busy).
                    logger.exception("Sweeping stale generations failed; will try again")
        finally:
            connection.close()
