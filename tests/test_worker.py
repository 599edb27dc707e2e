"""Real worker processes: the queue, and recovery from a worker killed mid-generation."""

from __future__ import annotations

import json
import signal

from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from gallery.models import Generation
from gallery.services import generations
from gallery.services.generations import GenerationParams
from gallery.services.workspaces import personal_membership
from tests.workers import wait_until


def create(user, prompt: str, n: int = 2) -> Generation:
    generation, _ = generations.create_generation(
        membership=personal_membership(user=user),
        params=GenerationParams(prompt=prompt, model="grok-3-image", n=n, size="960x960"),
        idempotency_key=generations.new_idempotency_key(),
    )
    return generation


def finished(generation: Generation):
    generation.refresh_from_db()
    return generation if generation.is_finished else None


def test_a_worker_runs_queued_generations_and_keeps_serving_after_a_failure(user, workers):
    workers.start()
    failing = create(user, "a fox [fault:400-policy]")
    fine = create(user, "a fox", n=3)

    failing = wait_until(lambda: finished(failing), timeout=30, message=workers.logs())
    fine = wait_until(lambda: finished(fine), timeout=30, message=workers.logs())

    assert failing.status == Generation.Status.FAILED
    assert failing.error_kind == "rejected"
    assert fine.status == Generation.Status.SUCCEEDED
    assert fine.images.count() == 3


def test_a_killed_worker_s_generation_is_finished_by_another_without_duplicates(
    user, workers, settings, fake_images_api
):
    settings.GENERATION_LEASE_SECONDS = 2
    victim = workers.start("victim")
    # The first API call hangs long enough to kill the worker in the middle of it.
    generation = create(user, "a slow fox [fault:slow=5x1]", n=4)
    wait_until(
        lambda: Generation.objects.filter(pk=generation.pk, status="running").exists(),
        timeout=20,
        message="the generation never started",
    )
    wait_until(lambda: fake_images_api.generation_requests, timeout=10, message="no API call")
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    workers.start("rescuer")
    generation = wait_until(lambda: finished(generation), timeout=30, message=workers.logs())

    assert generation.status == Generation.Status.SUCCEEDED
    assert generation.attempts == 2
    assert sorted(generation.images.values_list("index", flat=True)) == [0, 1, 2, 3]
    assert len(fake_images_api.generation_requests) == 2
    # The dead worker's task row is settled, not RUNNING forever; the rescuer's succeeded (its
    # row is written just after the generation's).
    wait_until(
        lambda: not DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists(),
        timeout=10,
        message="a task row stayed RUNNING",
    )
    tasks = {row.worker_ids[0].split("-")[0]: row for row in DBTaskResult.objects.all()}
    assert tasks["victim"].status == TaskResultStatus.FAILED
    assert tasks["victim"].exception_class_path == "gallery.tasks.WorkerLost"
    assert tasks["rescuer"].status == TaskResultStatus.SUCCESSFUL
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists()


def test_one_worker_process_runs_many_generations_at_once(user, workers, fake_images_api):
    workers.start("busy", "--concurrency=10")
    batch = [create(user, f"fox {number} [fault:slow=1]", n=1) for number in range(10)]

    for generation in batch:
        wait_until(lambda g=generation: finished(g), timeout=60, message=workers.logs())

    assert {g.status for g in Generation.objects.all()} == {Generation.Status.SUCCEEDED}
    # Evidence of concurrency, not of speed: the fake was answering several calls at once.
    assert fake_images_api.max_in_flight() >= 5, fake_images_api.generation_intervals


def test_a_worker_runs_no_more_than_its_concurrency(user, workers, fake_images_api):
    workers.start("narrow", "--concurrency=3")
    batch = [create(user, f"fox {number} [fault:slow=0.5]", n=1) for number in range(7)]

    for generation in batch:
        wait_until(lambda g=generation: finished(g), timeout=60, message=workers.logs())

    assert 2 <= fake_images_api.max_in_flight() <= 3, fake_images_api.generation_intervals


def test_a_call_longer_than_the_lease_keeps_its_lease(user, workers, settings, fake_images_api):
    settings.GENERATION_LEASE_SECONDS = 2
    workers.start("holder")
    # Three leases long: without renewal the rival's sweep would take it over mid-call.
    generation = create(user, "a slow fox [fault:slow=6]", n=1)
    wait_until(lambda: fake_images_api.generation_requests, timeout=20, message=workers.logs())
    workers.start("rival")

    generation = wait_until(lambda: finished(generation), timeout=30, message=workers.logs())

    assert generation.status == Generation.Status.SUCCEEDED
    assert generation.attempts == 1
    assert len(fake_images_api.generation_requests) == 1


def test_a_provider_s_cap_holds_across_worker_processes(user, workers, fake_images_api, tmp_path):
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(
        json.dumps(
            {
                "providers": [{"name": "default", "max_in_flight": 2}],
                "models": [{"id": "grok-3-image"}],
            }
        )
    )
    workers.env["IMAGES_API_MODELS_FILE"] = str(catalog_file)
    workers.start("left", "--concurrency=5")
    workers.start("right", "--concurrency=5")
    batch = [create(user, f"fox {number} [fault:slow=1]", n=1) for number in range(6)]

    for generation in batch:
        wait_until(lambda g=generation: finished(g), timeout=60, message=workers.logs())

    assert {g.status for g in Generation.objects.all()} == {Generation.Status.SUCCEEDED}
    assert fake_images_api.max_in_flight() == 2, fake_images_api.generation_intervals
