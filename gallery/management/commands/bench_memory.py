"""Benchmark: the peak memory (RSS) of a worker handling one generation of n images at the caps.

Each scenario runs in a fresh child process (this command with --child), so its peak is its
own: a worker's whole path for one generation (`generations.run_generation`: the call to the
fake images API of gallery/fake_images_api.py, served on loopback by this process, then every
image stored with its thumbnails), on a throwaway SQLite database and media folder. The child
reports its peak RSS (VmHWM) after start-up (and migrating its database), after the call and
at the end; the table prints them in MB.

Scenarios, with the caps in force (IMAGES_API_MAX_RESPONSE_BYTES, IMAGES_API_MAX_DOWNLOAD_BYTES,
or the values given on the command line):
- b64 at the response cap: n images as base64 filling the whole answer up to its cap;
- b64 over the response cap: an answer twice the cap, refused while it is read;
- url at the image cap: n url results, each download as large as one image may be.

The images are PNGs of noise stored without compression, so their size is what the caps allow
whatever their pixels; decoding them costs what a photograph of that many pixels costs.
A benchmark reports figures and never asserts them.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

if TYPE_CHECKING:
    from gallery.fake_images_api import FakeImagesAPI

MB = 2**20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _peak_rss_bytes() -> int:
    """This process's peak resident set. VmHWM belongs to the memory of this program alone;
    ru_maxrss would also count the parent's pages from before exec (Linux keeps it across)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def noise_png(*, max_bytes: int, seed: int) -> bytes:
    """An RGB PNG of noise, stored uncompressed, as large as fits in max_bytes."""
    # Each row: a filter byte and 3 bytes a pixel; a square picture.
    side = max(8, int(((max_bytes - 4096) / 3) ** 0.5))
    while True:
        row = 1 + 3 * side
        raw_size = row * side
        # zlib's stored blocks add 5 bytes per 64 kB; the header and the chunks ~100 bytes.
        if raw_size + raw_size // 65535 * 5 + 4096 <= max_bytes:
            break
        side -= 8
    noise = bytearray(os.urandom(raw_size))
    noise[::row] = bytes(side)  # filter type 0 at the start of every row
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(noise), 0)
    del noise
    png = (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"tEXt", f"Comment\x00bench_memory {seed}".encode())
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    return png


def _start_api() -> FakeImagesAPI:
    """The fake images API, also serving GET /bench-memory/<i> from its `pool` of images."""
    from gallery.fake_images_api import FAKE_API_KEY, FakeImagesAPI, Reply

    class MemoryBenchAPI(FakeImagesAPI):
        pool: list[bytes] = []

        def answer_download(self, path: str, query: dict[str, list[str]]) -> Reply | str:
            if path.startswith("/bench-memory/"):
                index = int(path.rsplit("/", 1)[-1])
                return Reply(200, body=self.pool[index], content_type="image/png")
            return super().answer_download(path, query)

    return MemoryBenchAPI(expected_key=FAKE_API_KEY).start()


class Command(BaseCommand):
    help = (
        "Benchmark the peak memory (RSS) of a worker calling the images API and decoding the "
        "images of one generation of n images at the response and image caps (each scenario "
        "in a fresh child process, against the fake images API on loopback)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--n", type=int, default=10, help="images per generation (1-10)")
        parser.add_argument(
            "--response-cap",
            type=int,
            default=0,
            help="bytes (default: IMAGES_API_MAX_RESPONSE_BYTES)",
        )
        parser.add_argument(
            "--image-cap",
            type=int,
            default=0,
            help="bytes (default: IMAGES_API_MAX_DOWNLOAD_BYTES)",
        )
        parser.add_argument(
            "--scenario",
            action="append",
            choices=("b64-at-cap", "b64-over-cap", "url-at-cap"),
            help="run only these (repeatable; default: all)",
        )
        # The child's side: what one scenario's worker does.
        parser.add_argument("--child", action="store_true", help="internal: run as the worker")
        parser.add_argument("--base-url", default="", help="internal")
        parser.add_argument("--key", default="", help="internal")
        parser.add_argument("--response-format", default="b64_json", help="internal")
        parser.add_argument("--media-root", default="", help="internal")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["n"] <= 10:
            raise CommandError("--n must be between 1 and 10.")
        response_cap = options["response_cap"] or int(settings.IMAGES_API_MAX_RESPONSE_BYTES)
        image_cap = options["image_cap"] or int(settings.IMAGES_API_MAX_DOWNLOAD_BYTES)
        if options["child"]:
            self._child(options, response_cap=response_cap, image_cap=image_cap)
            return
        scenarios = options["scenario"] or ["b64-at-cap", "b64-over-cap", "url-at-cap"]
        self._parent(
            n=options["n"], response_cap=response_cap, image_cap=image_cap, scenarios=scenarios
        )

    # -- the parent: serves the answers and prints the table ----------------------------------

    def _parent(self, *, n: int, response_cap: int, image_cap: int, scenarios: list[str]) -> None:
        self.stdout.write(
            f"Peak worker RSS for one generation of n={n}; "
            f"response cap {response_cap / MB:.0f} MB, image cap {image_cap / MB:.0f} MB; "
            f"Python {sys.version.split()[0]}, pid {os.getpid()} serving on loopback."
        )
        header = (
            f"{'scenario':<14} {'answer MB':>9} {'images':>7} {'ok':>3} "
            f"{'start MB':>8} {'call MB':>8} {'peak MB':>8} {'seconds':>8}  outcome"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        api = _start_api()
        try:
            for scenario in scenarios:
                row = self._run_scenario(
                    api, scenario, n=n, response_cap=response_cap, image_cap=image_cap
                )
                self.stdout.write(row)
        finally:
            api.stop()
        self.stdout.write(
            "start: after Django start-up; call: after images_api.generate; peak: after "
            "storing every image with its thumbnails. One process per row; the machine may be "
            "shared, so figures are noisy."
        )

    def _run_scenario(
        self, api: FakeImagesAPI, scenario: str, *, n: int, response_cap: int, image_cap: int
    ) -> str:
        from gallery.fake_images_api import FAKE_API_KEY, Reply

        api.reset()
        response_format = "b64_json"
        # The JSON around the images: a few hundred bytes; base64 takes 4 characters for 3 bytes.
        if scenario == "b64-at-cap":
            per_image = min(image_cap, (response_cap - 4096) // n * 3 // 4)
        elif scenario == "b64-over-cap":
            # Whatever the image cap: the answer's own cap refuses it first.
            per_image = (2 * response_cap) // n * 3 // 4
        else:
            per_image = image_cap
            response_format = "url"
        images = [noise_png(max_bytes=per_image, seed=index) for index in range(n)]
        if response_format == "url":
            answer_bytes = 0
            api.pool = images  # type: ignore[attr-defined]
            data = [{"url": f"{api.base_url}/bench-memory/{index}"} for index in range(n)]
            body = json.dumps({"created": int(time.time()), "data": data}).encode()
        else:
            data = [{"b64_json": base64.b64encode(image).decode()} for image in images]
            body = json.dumps({"created": int(time.time()), "data": data}).encode()
            del data
            answer_bytes = len(body)
        api.script(Reply(200, body=body))
        del body, images

        scratch = tempfile.mkdtemp(prefix="bench-memory-")
        started = time.perf_counter()
        completed = subprocess.run(  # noqa: S603 -- our own command, no outside input
            [
                sys.executable,
                str(settings.BASE_DIR / "manage.py"),
                "bench_memory",
                "--child",
                "--n",
                str(n),
                "--base-url",
                api.api_base_url,
                "--key",
                FAKE_API_KEY,
                "--response-format",
                response_format,
                "--response-cap",
                str(response_cap),
                "--image-cap",
                str(image_cap),
                "--media-root",
                str(Path(scratch) / "media"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={
                **os.environ,
                "IMAGES_API_ALLOW_PRIVATE_URLS": "1",
                # The worker's own throwaway database: its rows and files go with the folder.
                "DATABASE_URL": f"sqlite:///{Path(scratch) / 'bench.sqlite3'}",
            },
        )
        seconds = time.perf_counter() - started
        shutil.rmtree(scratch, ignore_errors=True)
        api.pool = []  # type: ignore[attr-defined]
        if completed.returncode != 0:
            raise CommandError(f"The {scenario} worker failed:\n{completed.stderr[-2000:]}")
        report = json.loads(completed.stdout.strip().splitlines()[-1])
        answer = f"{answer_bytes / MB:.0f}" if answer_bytes else "-"
        return (
            f"{scenario:<14} {answer:>9} {n:>7} {report['ok']:>3} "
            f"{report['start'] / MB:>8.0f} {report['call'] / MB:>8.0f} {report['peak'] / MB:>8.0f} "
            f"{seconds:>8.1f}  {report['outcome']}"
        )

    # -- the child: one worker's generation ---------------------------------------------------

    def _child(self, options: dict[str, Any], *, response_cap: int, image_cap: int) -> None:
        """One generation through the worker's own path (generations.run_generation: the call,
        then each image stored with its thumbnails) on the throwaway database and media folder
        the parent gave this process."""
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test.utils import override_settings

        from gallery.models import Image
        from gallery.services import generations, images_api, workspaces

        call_command("migrate", verbosity=0)
        marks: dict[str, int] = {"start": _peak_rss_bytes()}
        real_generate = images_api.generate

        def generate_and_measure(*, request: images_api.ImageRequest) -> Any:
            try:
                return real_generate(request=request)
            finally:
                marks["call"] = _peak_rss_bytes()

        images_api.generate = generate_and_measure  # type: ignore[assignment]
        with override_settings(
            IMAGES_API_BASE_URL=options["base_url"],
            IMAGES_API_KEY=options["key"],
            IMAGES_API_ALLOW_PRIVATE_URLS=True,
            IMAGES_API_MAX_RESPONSE_BYTES=response_cap,
            IMAGES_API_MAX_DOWNLOAD_BYTES=image_cap,
            IMAGES_API_MAX_RETRIES=0,
            IMAGES_API_MODELS_FILE="",
            GENERATION_MAX_ATTEMPTS=1,
            MEDIA_ROOT=options["media_root"],
        ):
            user = get_user_model().objects.create_user("bench-memory")
            generation, _created = generations.create_generation(
                membership=workspaces.personal_membership(user=user),
                params=generations.GenerationParams(
                    model="grok-3-image",
                    prompt="bench_memory",
                    n=options["n"],
                    response_format=options["response_format"],
                ),
                idempotency_key=generations.new_idempotency_key(),
            )
            status = generations.run_generation(generation_id=generation.pk)
            generation.refresh_from_db()
        stored = Image.objects.filter(generation=generation).count()
        outcome = (
            status if not generation.error_message else f"{status}: {generation.error_message}"
        )
        self.stdout.write(
            json.dumps(
                {
                    "start": marks["start"],
                    "call": marks.get("call", marks["start"]),
                    "peak": _peak_rss_bytes(),
                    "ok": stored,
                    "outcome": outcome[:200],
                }
            )
        )
