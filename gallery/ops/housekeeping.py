"""What every worker does beside its tasks, however many workers run on however many machines:
say it is alive, and, one worker an hour, empty the old trash and remove orphaned files."""

from __future__ import annotations

from datetime import timedelta

from gallery.ops import health, leases
from gallery.services import trash

TRASH_SWEEP = timedelta(hours=1)


def sweep(*, worker_id: str) -> None:
    health.beat(worker_id=worker_id)
    # The lease is held for the whole hour: whichever worker takes it sweeps, the others skip.
    if leases.acquire(name="trash-sweep", owner=worker_id, duration=TRASH_SWEEP):
        # What has been in the trash for 30 days goes for good, files included.
        trash.empty_trash(older_than=timedelta(days=trash.TRASH_DAYS))
        trash.remove_orphan_files()
