"""`manage.py worker`: django-tasks-db's db_worker, running many tasks at once, plus the crash
recovery it lacks.

`--concurrency` (default `WORKER_CONCURRENCY`, env `ATELIER_WORKER_CONCURRENCY`) tasks run at
once in one process: see gallery/concurrent_worker.py. `--interval` is the idle poll: 25 ms on
SQLite; on PostgreSQL a NOTIFY wakes the worker at once and the poll (1 s) only finds tasks
whose run_after came.

django-tasks-db leaves a task RUNNING forever when its worker dies. The Generation row is the
source of truth: a running generation holds a lease it renews, and this worker sweeps for
expired leases when it starts and then periodically, putting those generations back in the queue.
The same loop writes the worker's heartbeat, and once an hour one worker of all empties what
has been in the trash for 30 days and removes orphaned files (gallery.ops.housekeeping).
"""

from __future__ import annotations

import logging
import os
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import close_old_connections, connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand
from django_tasks_db.management.commands.db_worker import valid_max_tasks

from gallery.concurrent_worker import ConcurrentWorker
from gallery.ops import housekeeping
from gallery.services import generations

logger = logging.getLogger(__name__)


class Command(DBWorkerCommand):
    help = (
        "Run a background worker that runs many tasks at once and re-queues generations whose "
        "worker died."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--concurrency",
            type=valid_max_tasks,
            default=settings.WORKER_CONCURRENCY,
            help="Tasks run at once in this process (default: %(default)s, "
            "ATELIER_WORKER_CONCURRENCY).",
        )
        # None: the database's own default (see the module's docstring).
        parser.set_defaults(interval=None)

    def handle(self, *args: Any, **options: Any) -> None:
        generations.requeue_stale_generations()
        stop = threading.Event()
        sweeper = threading.Thread(
            target=self.sweep_forever, args=(stop, options["worker_id"]), daemon=True
        )
        # With --reload (the default) this process only restarts a child that runs the tasks;
        # the child sweeps and sends the heartbeat, so the heartbeat names the working process.
        if not options["reload"] or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            sweeper.start()
        try:
            self.run_worker(**options)
        finally:
            stop.set()

    def run_worker(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float | None,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        concurrency: int,
        **options: Any,
    ) -> None:
        """db_worker's handle(), with ConcurrentWorker in place of its Worker."""
        self.configure_logging(verbosity)
        if reload and batch:
            reload = False
        if interval is None:
            interval = 1.0 if connection.vendor == "postgresql" else 0.025
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ConcurrentWorker(
            concurrency=concurrency,
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded_queue_names,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()

    def sweep_forever(self, stop: threading.Event, worker_id: str) -> None:
        interval = max(1.0, settings.GENERATION_LEASE_SECONDS / 2)
        try:
            while True:
                close_old_connections()
                try:
                    generations.requeue_stale_generations()
                    housekeeping.sweep(worker_id=worker_id)
                except Exception:
                    # The sweep must outlive a passing database error (e.g. SQLite busy).
                    logger.exception("Sweeping stale generations failed; will try again")
                if stop.wait(interval):
                    break
        finally:
            connection.close()
