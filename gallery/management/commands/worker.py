"""`manage.py worker`: django-tasks-db's db_worker, plus the crash recovery it lacks.

django-tasks-db leaves a task RUNNING forever when its worker dies. The Generation row is the
source of truth: a running generation holds a lease it renews, and this worker sweeps for
expired leases when it starts and then periodically, putting those generations back in the queue.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from gallery.services import generations

logger = logging.getLogger(__name__)


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
        try:
            while not stop.wait(interval):
                close_old_connections()
                try:
                    generations.requeue_stale_generations()
                except Exception:
                    # The sweep must outlive a passing database error (e.g. SQLite busy).
                    logger.exception("Sweeping stale generations failed; will try again")
        finally:
            connection.close()
