"""Real `manage.py worker` processes for tests, on the test database and the fake images API.

The worker is a separate process, so the test must commit what it wants the worker to see
(`transactional_db` or `live_server`), and the SQLite test database is a file (tests/settings.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from gallery.management.commands.bench_throughput import database_url
from tests.fake_images_api import FAKE_API_KEY

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """A DATABASE_URL naming the database this test run really uses."""
    return database_url(connection.settings_dict)


class Workers:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str = "w", *extra_args: str) -> subprocess.Popen:
        env = {**self.env, "GENERATION_LEASE_SECONDS": str(settings.GENERATION_LEASE_SECONDS)}
        log = (self.log_dir / f"worker-{name}-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval=0.1",
                f"--worker-id={name}-{len(self.processes)}",
                *extra_args,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.log_dir.glob("worker-*.log")))

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(
    transactional_db: Any, fake_images_api: Any, tmp_path: Path, settings: Any
) -> Iterator[Workers]:
    """Start worker processes with `workers.start()`; all are stopped after the test.

    A worker takes the settings in force when it starts (e.g. a short lease set by the test).
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gallery.settings",
        "DATABASE_URL": test_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "IMAGES_API_BASE_URL": fake_images_api.api_base_url,
        "IMAGES_API_KEY": FAKE_API_KEY,
        "IMAGES_API_RETRY_BACKOFF_SECONDS": "0.01",
        "DJANGO_DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
    }
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop_all()


def wait_until(condition: Callable[[], Any], *, timeout: float, message: str) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {timeout} s: {message}")
