"""Is this deployment working? The database answers, the file storage takes a write, and some
worker has said it is alive lately. Workers write their heartbeat here too."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from gallery.ops.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def heartbeat_stale_after() -> timedelta:
    """A worker beats every half lease; three missed beats and it counts as gone."""
    return timedelta(seconds=max(30.0, 1.5 * settings.GENERATION_LEASE_SECONDS))


def beat(*, worker_id: str) -> None:
    """Say this worker process is alive (called from its sweep loop)."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id[:64],
        defaults={"hostname": socket.gethostname()[:255], "pid": os.getpid(), "seen_at": now},
        create_defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": now,
            "seen_at": now,
        },
    )
    # Rows of workers gone for a day are history, not health.
    WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()


def live_workers() -> int:
    return WorkerHeartbeat.objects.filter(
        seen_at__gte=timezone.now() - heartbeat_stale_after()
    ).count()


@dataclass(frozen=True)
class Health:
    database: str
    storage: str
    workers: str
    live_workers: int

    @property
    def ok(self) -> bool:
        return self.database == self.storage == self.workers == "ok"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        logger.error("Health check: the database does not answer: %s", error)
        return f"error: {type(error).__name__}"
    return "ok"


def check_storage() -> str:
    """Write, read back and delete a small file where originals go (a full disk, lost
    credentials or an unreachable bucket all show here)."""
    name = f"healthz/{socket.gethostname()}-{uuid.uuid4().hex}.txt"
    try:
        saved = default_storage.save(name, ContentFile(b"ok"))
        try:
            with default_storage.open(saved, "rb") as handle:
                if handle.read() != b"ok":
                    return "error: read back something else"
        finally:
            default_storage.delete(saved)
    except Exception as error:
        logger.error("Health check: the file storage fails: %s", error)
        return f"error: {type(error).__name__}"
    return "ok"


def check() -> Health:
    database = check_database()
    workers = 0
    if database == "ok":
        try:
            workers = live_workers()
        except Exception:
            logger.exception("Health check: reading worker heartbeats failed")
    return Health(
        database=database,
        storage=check_storage(),
        workers="ok" if workers else "no worker has sent a heartbeat lately",
        live_workers=workers,
    )
