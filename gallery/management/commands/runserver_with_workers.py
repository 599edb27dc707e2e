"""`make run`: the development server and N background workers, stopped together on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the app with Django's development server beside N background workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=2, help="Worker processes (default 2).")

    def handle(self, *args: Any, addrport: str, workers: int, **options: Any) -> None:
        # runserver's autoreloader re-runs this command in a child process (RUN_MAIN=true);
        # only the outer process starts workers, so a code reload does not multiply them.
        processes: list[subprocess.Popen] = []
        if os.environ.get("RUN_MAIN") != "true":
            for number in range(workers):
                processes.append(
                    subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
                        [sys.executable, "manage.py", "worker", f"--worker-id=web-{number}"]
                    )
                )
            self.stdout.write(f"Started {len(processes)} background worker(s).")
        try:
            call_command("runserver", addrport)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
