"""How many generations worker processes finish per second, and how soon an idle one picks up.

    python manage.py bench_throughput [--workers 2] [--concurrency 50] [--latency 5]
                                      [--generations 40 400] [--idle-samples 20] [--keep]

A development tool: it runs the fake images API (`python -m gallery.fake_images_api --latency
S`, the one the tests use) and `manage.py worker` processes as subprocesses, all on loopback,
against a throwaway database made as bench_gallery makes one (a file in a new temporary
directory for SQLite; for PostgreSQL the database --database-name, default atelier_bench,
dropped first and afterwards). Run it once per engine: without DATABASE_URL for SQLite, with a
PostgreSQL DATABASE_URL for PostgreSQL.

What it prints:
- idle pickup: a generation is created while the workers have nothing to claim; the time from
  its row's created_at to its started_at (the worker's claim), median and 95th percentile over
  --idle-samples, one every 0.2-0.5 s (so the poll's phase varies);
- for each --generations G: G generations created and enqueued at once (one transaction, while
  the idle workers are stopped with SIGSTOP, so that this one process's creating is not timed),
  then the wall time from the workers' SIGCONT to the last finished_at, generations/s, how many
  succeeded, and how long creating and enqueuing took (not in the wall time).
Each generation asks for one image with the model's default format (url: one download each).
The figures are wall clock on whatever else the machine is doing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from gallery.management.commands.bench_gallery import bench_database
from gallery.models import Generation, Membership
from gallery.services import generations, workspaces

ROOT = Path(__file__).resolve().parents[3]
# The fake answers 401 to any other key, so a worker pointed elsewhere would show at once.
BENCH_API_KEY = "sk-bench-throughput-0123456789abcdef"


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL naming the database these connection settings use."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    user = quote(settings_dict["USER"] or "")
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict["PASSWORD"] else ""
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    host = settings_dict["HOST"] or "127.0.0.1"
    return f"postgres://{user}{password}@{host}{port}/{settings_dict['NAME']}"


def _ms(delta_seconds: float) -> str:
    return f"{delta_seconds * 1000:.0f} ms"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class Command(BaseCommand):
    help = "Time generations through real worker processes against the fake API with latency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="tasks per worker process (default: the worker's, WORKER_CONCURRENCY)",
        )
        parser.add_argument("--latency", type=float, default=5.0, help="API seconds (5)")
        parser.add_argument(
            "--generations", type=int, nargs="+", default=[40, 400], help="batch sizes (40 400)"
        )
        parser.add_argument("--idle-samples", type=int, default=20)
        parser.add_argument("--database-name", default="atelier_bench")
        parser.add_argument("--keep", action="store_true", help="keep the database afterwards")

    def handle(self, *args: Any, **options: Any) -> None:
        vendor = connection.vendor
        concurrency = options["concurrency"] or settings.WORKER_CONCURRENCY
        self.stdout.write(
            f"bench_throughput on {vendor}: {options['workers']} worker process(es) x "
            f"{concurrency} concurrency, API latency {options['latency']:g} s"
        )
        with (
            bench_database(
                name=options["database_name"], keep=options["keep"], log=self.stdout.write
            ),
            tempfile.TemporaryDirectory(prefix="atelier-bench-media-") as media_root,
            self.fake_api(latency=options["latency"]) as api_url,
        ):
            env = {
                **os.environ,
                "DATABASE_URL": database_url(connection.settings_dict),
                "MEDIA_ROOT": media_root,
                "IMAGES_API_BASE_URL": api_url,
                "IMAGES_API_KEY": BENCH_API_KEY,
                "IMAGES_API_ALLOW_PRIVATE_URLS": "1",
                "IMAGES_API_MODELS_FILE": "",
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "ATELIER_WORKER_CONCURRENCY": str(concurrency),
            }
            owner = workspaces.personal_membership(
                user=get_user_model().objects.create_user("bench-throughput")
            )
            with self.workers(count=options["workers"], env=env) as processes:
                self.wait_until_ready(owner)
                rows = [self.idle_pickup(owner, samples=options["idle_samples"])]
                rows += [
                    self.batch(owner, count=count, workers=processes)
                    for count in options["generations"]
                ]
        self.stdout.write("")
        for row in rows:
            self.stdout.write(row)

    # -- the processes ---------------------------------------------------------------------

    @contextmanager
    def fake_api(self, *, latency: float) -> Iterator[str]:
        command = [sys.executable, "-m", "gallery.fake_images_api", "--port", "0"]
        command += ["--key", BENCH_API_KEY, "--latency", str(latency)]
        process = subprocess.Popen(  # noqa: S603 - our own module with fixed arguments
            command, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        try:
            line = process.stdout.readline() if process.stdout else ""
            if "listening on " not in line:
                raise CommandError(f"The fake images API did not start: {line!r}")
            # The API's base URL, as for OpenAI: the server's root plus /v1.
            yield line.rsplit("listening on ", 1)[1].strip() + "/v1"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)

    @contextmanager
    def workers(
        self, *, count: int, env: dict[str, str]
    ) -> Iterator[list[subprocess.Popen[bytes]]]:
        log_dir = Path(tempfile.mkdtemp(prefix="atelier-bench-workers-"))
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for number in range(count):
                log = (log_dir / f"worker-{number}.log").open("wb")
                processes.append(
                    subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
                        [
                            sys.executable,
                            "manage.py",
                            "worker",
                            "--no-reload",
                            "--no-startup-delay",
                            f"--worker-id=bench-{number}",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            yield processes
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            if any(process.returncode not in (0, -signal.SIGTERM) for process in processes):
                self.stderr.write(f"A worker ended badly; its log is in {log_dir}")
            else:
                shutil.rmtree(log_dir, ignore_errors=True)

    # -- the measurements ------------------------------------------------------------------

    def create(self, owner: Membership, prompt: str) -> Generation:
        generation, _ = generations.create_generation(
            membership=owner,
            params=generations.GenerationParams(prompt=prompt, model="grok-3-image", n=1),
            idempotency_key=generations.new_idempotency_key(),
        )
        return generation

    def wait_for(self, query: Any, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not query():
            if time.monotonic() > deadline:
                raise CommandError(f"Timed out after {timeout:g} s waiting for the workers.")
            time.sleep(0.02)

    def wait_until_ready(self, owner: Membership) -> None:
        """Workers are up once one of them has claimed a generation."""
        first = self.create(owner, "warm-up")
        self.wait_for(
            lambda: Generation.objects.filter(pk=first.pk, started_at__isnull=False).exists(),
            timeout=120,
        )
        self.wait_for(lambda: not Generation.objects.pending().exists(), timeout=120)

    def idle_pickup(self, owner: Membership, *, samples: int) -> str:
        waits = []
        for number in range(samples):
            time.sleep(0.2 + 0.3 * (number % 4) / 3)
            generation = self.create(owner, f"idle {number}")
            self.wait_for(
                lambda g=generation: Generation.objects.filter(
                    pk=g.pk, started_at__isnull=False
                ).exists(),
                timeout=30,
            )
            generation.refresh_from_db()
            waits.append((generation.started_at - generation.created_at).total_seconds())
        self.wait_for(lambda: not Generation.objects.pending().exists(), timeout=120)
        return (
            f"idle pickup ({samples} samples): median {_ms(statistics.median(waits))}, "
            f"p95 {_ms(_p95(waits))}, max {_ms(max(waits))}"
        )

    def batch(
        self, owner: Membership, *, count: int, workers: list[subprocess.Popen[bytes]]
    ) -> str:
        # The batch is created while the (idle) workers are stopped, so the clock times the
        # workers alone: this one process creating G generations and enqueuing G tasks while
        # 100 worker threads write would measure itself, and on SQLite wait on their writes.
        for process in workers:
            process.send_signal(signal.SIGSTOP)
        try:
            creating = time.monotonic()
            with transaction.atomic():
                ids = [self.create(owner, f"batch {count} #{n}").pk for n in range(count)]
            # (The tasks are enqueued as the transaction commits, one INSERT and NOTIFY each.)
            enqueuing = time.monotonic() - creating
            started = timezone.now()
        finally:
            for process in workers:
                process.send_signal(signal.SIGCONT)
        batch = Generation.objects.filter(pk__in=ids)
        self.wait_for(lambda: not batch.pending().exists(), timeout=600)
        last = batch.aggregate(last=Max("finished_at"))["last"]
        wall = (last - started).total_seconds()
        succeeded = batch.filter(status=Generation.Status.SUCCEEDED).count()
        failed = batch.exclude(status=Generation.Status.SUCCEEDED).first()
        if failed is not None:
            self.stderr.write(f"Not all succeeded: {failed.error_kind}: {failed.error_message}")
        return (
            f"{count:>4} generations: {wall:6.2f} s to all finished, {count / wall:6.1f} "
            f"generations/s, {succeeded}/{count} succeeded (creating and enqueuing them, "
            f"before the clock: {enqueuing:.2f} s)"
        )
