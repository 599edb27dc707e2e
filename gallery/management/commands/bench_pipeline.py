"""Print how long the image pipeline takes, beside the floor it is judged against.

    python manage.py bench_pipeline [--n 4] [--repeat 10] [--size 1024]

Each section prints one table; a benchmark reports figures and never asserts a time. Nothing
it does lasts: files go to a temporary MEDIA_ROOT, and every database row is written inside a
transaction that is rolled back (one short transaction per repeat, so a running app's workers
are never locked out for long).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test.utils import override_settings

from gallery.models import Generation
from gallery.services import images

FORMATS = ("PNG", "JPEG")


class _Rollback(Exception):
    """Raised to leave a benchmark transaction without committing it."""


@dataclass
class Timings:
    samples_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        if len(self.samples_ms) < 2:
            return self.samples_ms[0]
        return statistics.quantiles(self.samples_ms, n=20, method="inclusive")[18]


def _timed_ms(work: Callable[[], Any]) -> float:
    started = time.perf_counter_ns()
    work()
    return (time.perf_counter_ns() - started) / 1e6


def _human_bytes(size: float) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


@contextmanager
def _throwaway_generation(*, n: int) -> Iterator[Generation]:
    """A user and a generation that exist only inside a transaction that is rolled back."""
    try:
        with transaction.atomic():
            owner = get_user_model()(username=f"bench-{time.time_ns()}")
            owner.set_unusable_password()
            owner.save()
            yield Generation.objects.create(
                owner=owner,
                idempotency_key=f"bench-{time.time_ns()}",
                prompt="bench_pipeline",
                model="demo",
                n=n,
            )
            raise _Rollback
    except _Rollback:
        pass


class Command(BaseCommand):
    help = "Benchmark the image pipeline: storing and thumbnailing results, against decode alone."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--n", type=int, default=4, help="images per generation (1-10)")
        parser.add_argument("--repeat", type=int, default=10, help="generations per format")
        parser.add_argument("--size", type=int, default=1024, help="side of the square images")

    def handle(self, *args: Any, n: int, repeat: int, size: int, **options: Any) -> None:
        if not 1 <= n <= 10:
            raise CommandError("--n must be between 1 and 10.")
        repeat = max(1, repeat)
        self.stdout.write(
            f"Pillow {version('pillow')}, Django {version('django')}; "
            f"{size}x{size} images, n={n}, {repeat} repeats; milliseconds per image."
        )
        # Each section is one method printing one table; later sections (the overhead from an
        # API response to a finished card, ...) are added to this list.
        for section in (self.bench_store_image,):
            self.stdout.write("")
            section(n=n, repeat=repeat, size=size)

    def bench_store_image(self, *, n: int, repeat: int, size: int) -> None:
        self.stdout.write(
            "Storing results. decode: Pillow decoding the bytes, the floor. thumbs: "
            "prepare_image,\nvalidation and both WebP thumbnails in memory. store: store_image, "
            "all that plus\nwriting the three files and inserting the row. ratio: store / decode "
            "(medians)."
        )
        columns = ("decode", "thumbs", "store")
        header = f"{'format':<6} {'file':>8}" + "".join(
            f"   {name:>6} {'p95':>6}" for name in columns
        )
        self.stdout.write(header + f"   {'ratio':>6}")
        self.stdout.write("-" * (len(header) + 9))
        for image_format in FORMATS:
            # n different images, reused by every repeat; each repeat writes to a fresh
            # MEDIA_ROOT, so content-hashed files are never found already written.
            pool = [
                images.grainy_demo_image(
                    prompt="a lighthouse at dusk, film photograph",
                    index=index,
                    width=size,
                    height=size,
                    image_format=image_format,
                )
                for index in range(n)
            ]
            timings = {name: Timings() for name in columns}
            with tempfile.TemporaryDirectory(prefix="bench-media-") as media_root:
                # The first round warms caches (encoders, imports, the database connection) and
                # is not counted.
                for round_number in range(repeat + 1):
                    with (
                        override_settings(MEDIA_ROOT=Path(media_root) / f"round-{round_number}"),
                        _throwaway_generation(n=n) as generation,
                    ):
                        for index, data in enumerate(pool):
                            samples = {
                                "decode": _timed_ms(
                                    lambda data=data: images.decode_image(data=data)
                                ),
                                "thumbs": _timed_ms(
                                    lambda data=data: images.prepare_image(data=data, index=0)
                                ),
                                "store": _timed_ms(
                                    lambda index=index, data=data: images.store_image(
                                        generation=generation, index=index, data=data
                                    )
                                ),
                            }
                            if round_number:
                                for name, sample in samples.items():
                                    timings[name].samples_ms.append(sample)
            file_size = statistics.mean(len(data) for data in pool)
            ratio = timings["store"].median / timings["decode"].median
            self.stdout.write(
                f"{image_format:<6} {_human_bytes(file_size):>8}"
                + "".join(
                    f"   {timings[name].median:6.1f} {timings[name].p95:6.1f}" for name in columns
                )
                + f"   {ratio:5.2f}x"
            )
        self.stdout.write(
            "Rows are inserted in a transaction that is rolled back: a commit is not counted."
        )
