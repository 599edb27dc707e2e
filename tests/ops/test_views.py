"""/healthz and /metrics: the operator's URLs, asked without logging in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from gallery.models import Generation
from gallery.ops import health
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_with_a_database_a_storage_and_a_live_worker(client):
    health.beat(worker_id="w1")
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "storage": "ok",
        "workers": "ok",
        "live_workers": 1,
    }
    assert default_storage.listdir("healthz")[1] == []  # its probe file is gone


def test_healthz_is_503_without_a_live_worker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["workers"] == "no worker has sent a heartbeat lately"


def test_healthz_is_503_when_the_storage_fails(client, settings, tmp_path):
    health.beat(worker_id="w1")
    blocker = tmp_path / "a-file-not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["storage"].startswith("error")


def test_metrics_are_off_unless_a_token_is_set(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get(reverse("metrics")).status_code == 404


def test_metrics_need_the_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get(reverse("metrics")).status_code == 401
    wrong = client.get(reverse("metrics"), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_metrics_count_the_queue_states_errors_and_durations(client, settings, user):
    settings.METRICS_TOKEN = "s3cret-token"
    health.beat(worker_id="w1")
    now = timezone.now()
    ended = {"started_at": now - timedelta(seconds=2), "finished_at": now}
    make_generation(created_by=user, status=Generation.Status.QUEUED)
    make_generation(created_by=user, status=Generation.Status.SUCCEEDED, api_ms=1500, **ended)
    for _ in range(2):
        make_generation(
            created_by=user, status=Generation.Status.FAILED, error_kind="rate_limited", **ended
        )
    response = client.get(reverse("metrics"), headers={"Authorization": "Bearer s3cret-token"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for line in (
        'atelier_queue_depth{kind="generations"} 1.0',
        'atelier_generations{status="succeeded"} 1.0',
        'atelier_generations{status="failed"} 2.0',
        'atelier_generations{status="running"} 0.0',
        'atelier_generation_errors_recent{kind="rate_limited"} 2.0',
        'atelier_images_api_seconds_recent{quantile="0.5"} 1.5',
        'atelier_generation_duration_seconds_recent{quantile="0.5"} 2.0',
        "atelier_workers_alive 1.0",
    ):
        assert line in text, text
