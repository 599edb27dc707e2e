"""`make run`: the development server and N background workers, stopped together on Ctrl-C.

A worker that dies (killed, out of memory, a crash) is started again, so `make run` keeps
working in the background; its generation is picked up again once its lease expires.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

logger = logging.getLogger(__name__)
# A worker that dies at once after starting is restarted after a pause, not in a tight loop.
RESTART_PAUSE_SECONDS = 2.0


class WorkerPool:
    """N `manage.py worker` processes, each started again when it exits."""

    def __init__(self, count: int, stdout: Any) -> None:
        self.names = [f"web-{number}" for number in range(count)]
        self.processes: dict[str, subprocess.Popen] = {}
        self.stdout = stdout
        self.stopping = threading.Event()
        self.supervisor = threading.Thread(target=self.supervise, name="workers", daemon=True)

    def spawn(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our manage.py, fixed arguments
            [sys.executable, "manage.py", "worker", f"--worker-id={name}"]
        )

    def start(self) -> None:
        for name in self.names:
            self.spawn(name)
        self.stdout.write(f"Started {len(self.names)} background worker(s).")
        self.supervisor.start()

    def supervise(self) -> None:
        while not self.stopping.wait(0.5):
            for name, process in list(self.processes.items()):
                if process.poll() is None or self.stopping.is_set():
                    continue
                self.stdout.write(
                    f"Worker {name} (pid {process.pid}) exited with {process.returncode}; "
                    "starting it again."
                )
                if self.stopping.wait(RESTART_PAUSE_SECONDS):
                    return
                self.spawn(name)

    def stop(self) -> None:
        self.stopping.set()
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


class Command(BaseCommand):
    help = "Serve the app with Django's development server beside N supervised workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=2, help="Worker processes (default 2).")

    def handle(self, *args: Any, addrport: str, workers: int, **options: Any) -> None:
        # runserver's autoreloader re-runs this command in a child process (RUN_MAIN=true);
        # only the outer process starts workers, so a code reload does not multiply them.
        pool = WorkerPool(workers if os.environ.get("RUN_MAIN") != "true" else 0, self.stdout)
        pool.start()
        try:
            call_command("runserver", addrport)
        finally:
            pool.stop()
