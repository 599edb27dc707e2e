"""Print how long the image pipeline takes, beside the floor it is judged against.

    python manage.py bench_pipeline [--n 4] [--repeat 10] [--size 1024]

Each section prints one table; a benchmark reports figures and never asserts a time. Nothing
it does lasts: files go to a temporary MEDIA_ROOT, and every database row is written inside a
transaction that is rolled back (one short transaction per repeat, so a running app's workers
are never locked out for long).

The second section runs whole generations against the fake images API
(gallery/fake_images_api.py, started in-process on loopback).
"""

from __future__ import annotations

import base64
import logging
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test.utils import override_settings

from gallery.models import Generation, Membership
from gallery.services import generations, imaging, workspaces

if TYPE_CHECKING:
    from gallery.fake_images_api import FakeImagesAPI

FORMATS = ("PNG", "JPEG")
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
RESPONSE_FORMATS = ("b64_json", "url")
# An OpenAI model that offers both response formats and n up to 10 in one request.
API_MODEL = "dall-e-2"
API_SIZE = "1024x1024"
BENCH_PROMPT = "a lighthouse at dusk, film photograph"
CARD_COLUMNS = ("total", "api", "download", "overhead", "per image")


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
def _rolled_back() -> Iterator[None]:
    """A transaction that is always rolled back, whatever happens inside it."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def _throwaway_member() -> Membership:
    """A user and their workspace for one benchmark transaction (which is rolled back)."""
    user = get_user_model()(username=f"bench-{time.time_ns()}")
    user.set_unusable_password()
    user.save()
    return workspaces.create_personal_workspace(user=user)


@contextmanager
def _throwaway_generation(*, n: int) -> Iterator[Generation]:
    """A user and a generation that exist only inside a transaction that is rolled back."""
    with _rolled_back():
        membership = _throwaway_member()
        yield Generation.objects.create(
            workspace_id=membership.workspace_id,
            created_by_id=membership.user_id,
            idempotency_key=f"bench-{time.time_ns()}",
            prompt="bench_pipeline",
            model="demo",
            n=n,
        )


def _start_fake_api(pools: dict[str, list[bytes]]) -> FakeImagesAPI:
    """The test suite's fake images API on loopback, also serving the benchmark's images.

    GET /bench/<format>/<i> answers with image i of that format's pool, so url results are
    downloads of the same bytes that b64_json results carry.
    """
    # Imported here: the fake lives in the tests package, which only this section needs.
    from gallery.fake_images_api import FAKE_API_KEY, FakeImagesAPI, Reply

    class BenchImagesAPI(FakeImagesAPI):
        def answer_download(self, path: str, query: dict[str, list[str]]) -> Reply | str:
            match = re.fullmatch(r"/bench/(?P<format>[A-Z]+)/(?P<index>\d+)", path)
            if (
                match
                and match["format"] in pools
                and int(match["index"]) < len(pools[match["format"]])
            ):
                return Reply(
                    200,
                    body=pools[match["format"]][int(match["index"])],
                    content_type=CONTENT_TYPES[match["format"]],
                )
            return super().answer_download(path, query)

    return BenchImagesAPI(expected_key=FAKE_API_KEY).start()


class Command(BaseCommand):
    help = (
        "Benchmark the image pipeline: storing and thumbnailing results against decode alone, "
        "and the overhead from an API response to a finished card (this section runs against "
        "the fake images API of gallery/fake_images_api.py)."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pools: dict[str, list[bytes]] = {}

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--n", type=int, default=4, help="images per generation (1-10)")
        parser.add_argument("--repeat", type=int, default=10, help="generations per row")
        parser.add_argument("--size", type=int, default=1024, help="side of the square images")

    def handle(self, *args: Any, n: int, repeat: int, size: int, **options: Any) -> None:
        if not 1 <= n <= 10:
            raise CommandError("--n must be between 1 and 10.")
        repeat = max(1, repeat)
        self.stdout.write(
            f"Pillow {version('pillow')}, Django {version('django')}; "
            f"{size}x{size} images, n={n}, {repeat} repeats; milliseconds."
        )
        # Each section is one method printing one table.
        for section in (self.bench_store_image, self.bench_api_to_card):
            self.stdout.write("")
            section(n=n, repeat=repeat, size=size)

    def image_pool(self, image_format: str, *, n: int, size: int) -> list[bytes]:
        """n different photograph-like images, made once and shared by every section."""
        if image_format not in self._pools:
            self._pools[image_format] = [
                imaging.grainy_demo_image(
                    prompt=BENCH_PROMPT,
                    index=index,
                    width=size,
                    height=size,
                    image_format=image_format,
                )
                for index in range(n)
            ]
        return self._pools[image_format]

    def bench_store_image(self, *, n: int, repeat: int, size: int) -> None:
        self.stdout.write(
            "Storing results, per image. decode: Pillow decoding the bytes, the floor. thumbs: "
            "prepare_image,\nvalidation and the thumbnails in memory. store: store_image, "
            "all that plus writing\nthe files and inserting the row. ratio: store / decode "
            "(medians)."
        )
        columns = ("decode", "thumbs", "store")
        header = f"{'format':<6} {'file':>8}" + "".join(
            f"   {name:>6} {'p95':>6}" for name in columns
        )
        self.stdout.write(header + f"   {'ratio':>6}")
        self.stdout.write("-" * (len(header) + 9))
        for image_format in FORMATS:
            # Reused by every repeat; each repeat writes to a fresh MEDIA_ROOT, so
            # content-hashed files are never found already written.
            pool = self.image_pool(image_format, n=n, size=size)
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
                                    lambda data=data: imaging.decode_image(data=data)
                                ),
                                "thumbs": _timed_ms(
                                    lambda data=data: imaging.prepare_image(data=data, index=0)
                                ),
                                "store": _timed_ms(
                                    lambda index=index, data=data: imaging.store_image(
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

    def bench_api_to_card(self, *, n: int, repeat: int, size: int) -> None:
        self.stdout.write(
            "From an API response to a finished card: generations.run_generation in-process, "
            "against the\nfake images API (gallery/fake_images_api.py) on loopback, model "
            f"{API_MODEL} asked for {API_SIZE};\nit answers with the images above. total: "
            "run_generation's wall time. api, download: as\nrecorded on the Generation "
            "(whole ms). overhead: total - api - download, what Atelier adds\n(decoding the "
            "response, storing, thumbnails, database writes), per generation and per image."
        )
        header = f"{'format':<6} {'response':<8}" + "".join(
            f"   {name:>9} {'p95':>6}" for name in CARD_COLUMNS
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        pools = {
            image_format: self.image_pool(image_format, n=n, size=size) for image_format in FORMATS
        }
        api = _start_fake_api(pools)
        # Each generation logs a line at INFO; a table is easier to read without them.
        api_logger = logging.getLogger("gallery.services.images_api")
        level = api_logger.level
        api_logger.setLevel(logging.WARNING)
        try:
            for image_format in FORMATS:
                for response_format in RESPONSE_FORMATS:
                    timings = self._run_generations(
                        api,
                        pool=pools[image_format],
                        image_format=image_format,
                        response_format=response_format,
                        n=n,
                        repeat=repeat,
                    )
                    self.stdout.write(
                        f"{image_format:<6} {response_format:<8}"
                        + "".join(
                            f"   {timings[name].median:9.1f} {timings[name].p95:6.1f}"
                            for name in CARD_COLUMNS
                        )
                    )
        finally:
            api_logger.setLevel(level)
            api.stop()
        self.stdout.write(
            "A card shows its images at the first poll after this; the poll interval is not "
            "counted."
        )

    def _run_generations(
        self,
        api: FakeImagesAPI,
        *,
        pool: list[bytes],
        image_format: str,
        response_format: str,
        n: int,
        repeat: int,
    ) -> dict[str, Timings]:
        from gallery.fake_images_api import FAKE_API_KEY, Reply

        if response_format == "b64_json":
            items = [{"b64_json": base64.b64encode(data).decode()} for data in pool]
        else:
            items = [
                {"url": f"{api.base_url}/bench/{image_format}/{index}"}
                for index in range(len(pool))
            ]
        timings = {name: Timings() for name in CARD_COLUMNS}
        params = generations.GenerationParams(
            prompt=BENCH_PROMPT,
            model=API_MODEL,
            n=n,
            size=API_SIZE,
            response_format=response_format,
        )
        with tempfile.TemporaryDirectory(prefix="bench-media-") as media_root:
            # The first round warms caches (the HTTP connection pool, encoders) and is not
            # counted.
            for round_number in range(repeat + 1):
                api.script(Reply(200, {"created": int(time.time()), "data": items}))
                with (
                    override_settings(
                        MEDIA_ROOT=Path(media_root) / f"round-{round_number}",
                        IMAGES_API_BASE_URL=api.api_base_url,
                        IMAGES_API_KEY=FAKE_API_KEY,
                        IMAGES_API_ALLOW_PRIVATE_URLS=True,
                    ),
                    _rolled_back(),
                ):
                    generation, _ = generations.create_generation(
                        membership=_throwaway_member(),
                        params=params,
                        idempotency_key=generations.new_idempotency_key(),
                    )
                    started = time.perf_counter_ns()
                    status = generations.run_generation(
                        generation_id=generation.pk, worker_id="bench"
                    )
                    total_ms = (time.perf_counter_ns() - started) / 1e6
                    generation.refresh_from_db()
                if status != Generation.Status.SUCCEEDED:
                    raise CommandError(
                        f"A {image_format} {response_format} generation ended {status}: "
                        f"{generation.error_message or 'no message'}"
                    )
                if not round_number:
                    continue
                api_ms, download_ms = generation.api_ms or 0, generation.download_ms or 0
                overhead_ms = total_ms - api_ms - download_ms
                samples = {
                    "total": total_ms,
                    "api": api_ms,
                    "download": download_ms,
                    "overhead": overhead_ms,
                    "per image": overhead_ms / n,
                }
                for name, sample in samples.items():
                    timings[name].samples_ms.append(sample)
        return timings
