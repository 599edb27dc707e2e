"""Real worker processes: the queue, and recovery from a worker killed mid-generation."""

from __future__ import annotations

import signal

from gallery.models import Generation
from gallery.services import generations
from gallery.services.generations import GenerationParams
from tests.workers import wait_until


def create(user, prompt: str, n: int = 2) -> Generation:
    generation, _ = generations.create_generation(
        user=user,
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
