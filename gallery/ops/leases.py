"""A named job that one process at a time may run, on any number of machines: a row whose
owner and expiry are taken by one conditional UPDATE (the same on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from gallery.ops.models import Lease


def acquire(*, name: str, owner: str, duration: timedelta) -> bool:
    """Take the lease for `duration` if it is free (never taken, released or expired).

    Not renewable on purpose: a job that must run once per period ("the hourly sweep") takes a
    lease of one period and keeps it, so no process, its own included, runs it again sooner."""
    now = timezone.now()
    taken = Lease.objects.filter(name=name, expires_at__lt=now).update(
        owner=owner, expires_at=now + duration
    )
    if taken:
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, owner=owner, expires_at=now + duration)
    except IntegrityError:
        return False  # someone holds it (or created it a moment before us)
    return True


def release(*, name: str, owner: str) -> None:
    Lease.objects.filter(name=name, owner=owner).update(owner="", expires_at=timezone.now())
