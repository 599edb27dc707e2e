"""django-tasks-db's worker, running many tasks at once in one process.

A generation spends seconds waiting on the images API and milliseconds on the database, so one
process can hold many in flight. db_worker (django-tasks-db 0.13) runs one task at a time and
has no hook for more: `ConcurrentWorker` keeps its claim (the same query, `SELECT … FOR UPDATE
SKIP LOCKED` on PostgreSQL, an exclusive transaction on SQLite), its task bookkeeping
(`Worker.run_task`: the task's signals, its result or traceback) and its options, and replaces
only its loop: one thread claims tasks while there is a free slot and hands each to a pool of
`concurrency` threads.

Idle, the claiming thread waits for the next task: on PostgreSQL it LISTENs for the NOTIFY that
`NotifyingDatabaseBackend` sends with each enqueued task (with a poll every `interval` for tasks
whose run_after comes due); on SQLite it polls every `interval` (25 ms by default: a read of a
partial index).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

from django.db import close_old_connections, connection, connections
from django.db.utils import OperationalError
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

logger = logging.getLogger("django_tasks_db")

# PostgreSQL's channel for "a task was enqueued": idle workers LISTEN on it.
TASKS_CHANNEL = "atelier_tasks"
# Tasks claimed in one transaction at most: a burst is claimed in a few (each one an exclusive
# lock on SQLite), and still spread over the workers.
CLAIM_BATCH = 10


class NotifyingDatabaseBackend(DatabaseBackend):
    """django-tasks-db's backend that also wakes idle workers on PostgreSQL (NOTIFY).

    Inside a transaction the notification goes out when it commits, with the task row.
    """

    def _task_to_db_task(self, task: Any, args: Any, kwargs: Any) -> DBTaskResult:
        db_result = super()._task_to_db_task(task, args, kwargs)
        db = connections[db_result._state.db or "default"]
        if db.vendor == "postgresql":
            with db.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [TASKS_CHANNEL])
        return db_result


class _Wakeup:
    """How the idle claiming thread waits for the next task; `interrupt()` ends a wait."""

    def __init__(self) -> None:
        self._interrupted = threading.Event()

    def wait(self, timeout: float) -> None:
        self._interrupted.wait(timeout)

    def interrupt(self) -> None:
        self._interrupted.set()

    def close(self) -> None:
        pass


class _ListenWakeup(_Wakeup):
    """PostgreSQL: wait on LISTEN with its own connection (outside Django's, which come and go)."""

    def __init__(self) -> None:
        super().__init__()
        self._listener: Any = None

    def _connect(self) -> Any:
        import psycopg

        params = connection.get_connection_params()
        listener = psycopg.connect(**params, autocommit=True)
        listener.execute(f"LISTEN {TASKS_CHANNEL}")
        return listener

    def wait(self, timeout: float) -> None:
        if self._interrupted.is_set():
            return
        try:
            if self._listener is None or self._listener.closed:
                self._listener = self._connect()
            # Wakes at the first notification, or after timeout (tasks whose time came).
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                pass
        except Exception:
            logger.exception("Listening for new tasks failed; polling instead")
            self.close()
            super().wait(timeout)

    def close(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:
                logger.debug("Closing the LISTEN connection failed", exc_info=True)
            self._listener = None


class ConcurrentWorker(Worker):
    def __init__(self, *, concurrency: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.concurrency = concurrency
        self._in_flight = 0
        self._slot_freed = threading.Condition()
        self._claimed = 0
        self._wakeup: _Wakeup = _Wakeup()

    @property
    def in_flight(self) -> int:
        # Read without the lock: the signal handler reads it, and may interrupt its holder.
        return self._in_flight

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if not self.running:
            # A second signal: stop now. The leases of what was in flight expire and the
            # recovery sweep puts those generations back in the queue.
            logger.warning("Received %s - stopping at once.", signal.strsignal(signum))
            self.reset_signals()
            os._exit(1)
        logger.warning(
            "Received %s - finishing %d task(s) in flight, then stopping... "
            "(press Ctrl+C again to force)",
            signal.strsignal(signum),
            self.in_flight,
        )
        self.running = False
        self._wakeup.interrupt()
        if not self.in_flight:
            sys.exit(0)

    def claim_ready(self, *, limit: int) -> list[DBTaskResult]:
        """Claim up to `limit` ready tasks for this worker, with db_worker's query and claim."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        # A plain read first: an idle poll must not take SQLite's write lock.
        if not tasks.exists():
            return []
        with exclusive_transaction(tasks.db):
            try:
                claimed = list(tasks.select_for_update(skip_locked=True)[:limit])
                for task_result in claimed:
                    task_result.claim(self.worker_id)
            except OperationalError as error:
                # A locked SQLite database unlocks soon: try again on the next turn.
                if is_locked_database_exception(error):
                    return []
                raise
        return claimed

    def run(self) -> None:
        logger.info(
            "Starting worker worker_id=%s queues=%s concurrency=%d",
            self.worker_id,
            ",".join(self.queue_names),
            self.concurrency,
        )
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - spreads a herd of workers starting at once
        if connection.vendor == "postgresql":
            self._wakeup = _ListenWakeup()
        executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="task")
        try:
            self._claim_loop(executor)
        finally:
            executor.shutdown(wait=True)
            self._wakeup.close()
            connection.close()

    def _claim_loop(self, executor: ThreadPoolExecutor) -> None:
        while self.running:
            if self.max_tasks is not None and self._claimed >= self.max_tasks:
                logger.info("Claimed the maximum of %d task(s); stopping.", self.max_tasks)
                return
            with self._slot_freed:
                if self._in_flight >= self.concurrency:
                    # Wait for a task in flight to finish, waking to see a shutdown.
                    self._slot_freed.wait(timeout=0.5)
                    continue
                free = self.concurrency - self._in_flight
            if self.max_tasks is not None:
                free = min(free, self.max_tasks - self._claimed)
            close_old_connections()
            claimed = self.claim_ready(limit=min(free, CLAIM_BATCH))
            if not claimed:
                if self.batch:
                    if self.in_flight:
                        # What runs now may enqueue more (retries): wait, then look again.
                        self._wakeup.wait(self.interval or 0.05)
                        continue
                    logger.info("No more tasks to run for worker_id=%s - exiting.", self.worker_id)
                    return
                # Give the connection back while idle; the claim takes one again.
                connection.close()
                self._wakeup.wait(self.interval)
                continue
            self._claimed += len(claimed)
            for task_result in claimed:
                with self._slot_freed:
                    self._in_flight += 1
                executor.submit(self._run_in_slot, task_result)

    def _run_in_slot(self, task_result: DBTaskResult) -> None:
        try:
            self.run_task(task_result)
        finally:
            # This thread's connection goes back (to the pool on PostgreSQL) between tasks.
            connection.close()
            with self._slot_freed:
                self._in_flight -= 1
                self._slot_freed.notify()
            if not self.running and not self.in_flight:
                self._wakeup.interrupt()
