from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.models import Image
from gallery.ops import housekeeping
from gallery.ops.models import WorkerHeartbeat
from gallery.services import trash
from tests.management.test_empty_trash import trashed_image

pytestmark = pytest.mark.django_db


def test_every_worker_beats_but_only_one_sweeps_the_trash_per_hour(user, monkeypatch):
    sweeps: list[str] = []
    monkeypatch.setattr(trash, "remove_orphan_files", lambda: sweeps.append("orphans") or 0)
    old = trashed_image(user, days_ago=31, color=(10, 20, 30))

    housekeeping.sweep(worker_id="w1")
    housekeeping.sweep(worker_id="w2")
    housekeeping.sweep(worker_id="w1")

    assert sweeps == ["orphans"]
    assert not Image.objects.filter(pk=old.pk).exists()
    assert set(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == {"w1", "w2"}


def test_a_heartbeat_is_refreshed_and_old_ones_are_forgotten():
    housekeeping.health.beat(worker_id="w1")
    WorkerHeartbeat.objects.create(
        worker_id="gone", hostname="h", pid=1, seen_at=timezone.now() - timedelta(days=2)
    )
    first = WorkerHeartbeat.objects.get(worker_id="w1").seen_at
    housekeeping.health.beat(worker_id="w1")
    assert WorkerHeartbeat.objects.get(worker_id="w1").seen_at > first
    assert not WorkerHeartbeat.objects.filter(worker_id="gone").exists()
