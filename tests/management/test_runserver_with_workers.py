"""`make run`'s command keeps its workers alive: a SIGKILLed worker is started again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from gallery.ops.models import WorkerHeartbeat
from tests.workers import ROOT, wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def heartbeat_pid(worker_id: str, *, other_than: int | None = None) -> int | None:
    beat = WorkerHeartbeat.objects.filter(worker_id=worker_id).first()
    if beat is None or beat.pid == other_than:
        return None
    return beat.pid


def test_a_killed_worker_is_started_again(workers, tmp_path):
    env = {**workers.env, "GENERATION_LEASE_SECONDS": "2"}  # a heartbeat every second
    log = (tmp_path / "run.log").open("wb")
    command = [sys.executable, "manage.py", "runserver_with_workers", "--workers", "2"]
    server = subprocess.Popen(
        [*command, f"127.0.0.1:{free_port()}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the test can stop the server, its reloader and workers
    )
    try:
        logs = lambda: (tmp_path / "run.log").read_text()  # noqa: E731
        first = wait_until(lambda: heartbeat_pid("web-0"), timeout=90, message=logs())
        wait_until(lambda: heartbeat_pid("web-1"), timeout=90, message=logs())

        os.kill(first, signal.SIGKILL)

        again = wait_until(
            lambda: heartbeat_pid("web-0", other_than=first), timeout=90, message=logs()
        )
        assert again != first
        assert "Worker web-0" in logs()
        assert "starting it again" in logs()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
