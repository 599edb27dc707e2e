"""Print what serving an image file costs through the web process versus a presigned redirect.

    python manage.py bench_media [--requests 100] [--size 1024]

Run it with the object storage configured (AWS_STORAGE_BUCKET_NAME and friends, README
"Several machines"). It stores one demo image inside a transaction that is rolled back (its
objects are deleted at the end) and asks for its original and its small thumbnail each way:

- through the view: the owner check, then the web process reads the object from the store
  and sends it (the default);
- redirect: the owner check answers 302 to a presigned URL, then the client fetches the object
  from the store itself (ATELIER_MEDIA_REDIRECTS=1).

The client is in-process (Django's test client) for the view, and urllib for the object store,
on whatever network separates this machine from the store. A benchmark reports figures and
never asserts a time.
"""

from __future__ import annotations

import statistics
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from gallery.models import Generation
from gallery.services import imaging, workspaces
from gallery.views.media import is_local


class _Rollback(Exception):
    """Leaves the benchmark's transaction without committing it."""


def timed(call: Callable[[], int], repeat: int) -> tuple[list[float], int]:
    samples: list[float] = []
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples, size


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms"


class Command(BaseCommand):
    help = "Time serving image files through the web process versus presigned redirects."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=100)
        parser.add_argument("--size", type=int, default=1024, help="Image side in pixels.")

    def handle(self, *args: Any, requests: int, size: int, **options: Any) -> None:
        from django.core.files.storage import default_storage

        if is_local(default_storage):
            raise CommandError("Configure the object storage first (AWS_STORAGE_BUCKET_NAME).")
        written: list[str] = []
        try:
            with transaction.atomic():
                self.run(requests=requests, size=size, written=written)
                raise _Rollback
        except _Rollback:
            pass
        finally:
            for name in written:
                default_storage.delete(name)

    def run(self, *, requests: int, size: int, written: list[str]) -> None:
        user = get_user_model().objects.create_user(f"bench-media-{time.time_ns()}")
        workspace = workspaces.create_personal_workspace(user=user).workspace
        generation = Generation.objects.create(
            workspace=workspace,
            created_by=user,
            idempotency_key="bench",
            prompt="bench",
            model="demo",
            n=1,
        )
        data = imaging.draw_demo_image(prompt="a lighthouse", index=0, width=size, height=size)
        image = imaging.store_image(generation=generation, index=0, data=data)
        written.extend(
            {image.original.name, image.thumbnail_small.name, image.thumbnail_large.name}
        )
        client = Client()
        client.force_login(user)
        self.stdout.write(
            f"{requests} requests each; original {image.bytes:,} bytes, "
            f"small thumbnail {image.thumbnail_small.size:,} bytes"
        )
        with override_settings(ALLOWED_HOSTS=["testserver"]):
            for label, url in (
                ("original", reverse("gallery:image_original", args=[image.pk])),
                ("small thumbnail", reverse("gallery:image_thumbnail", args=[image.pk, "small"])),
            ):

                def through_view(url: str = url) -> int:
                    response = client.get(url)
                    return len(b"".join(response.streaming_content))

                def redirect_only(url: str = url) -> int:
                    return client.get(url).status_code

                def redirect_then_fetch(url: str = url) -> int:
                    location = client.get(url)["Location"]
                    with urllib.request.urlopen(location) as answer:  # noqa: S310 - our store
                        return len(answer.read())

                view_ms, _ = timed(through_view, requests)
                with override_settings(MEDIA_REDIRECTS=True):
                    answer_ms, _ = timed(redirect_only, requests)
                    fetch_ms, _ = timed(redirect_then_fetch, requests)
                self.stdout.write(f"\n{label}")
                self.stdout.write(f"  through the view        {summary(view_ms)}")
                self.stdout.write(f"  redirect: 302 only      {summary(answer_ms)}")
                self.stdout.write(f"  redirect: 302 + fetch   {summary(fetch_ms)}")
