"""The generation state machine end to end against the loopback fake API (no worker process).

Each fault of the images API issue must leave the generation in the right state with a message
a person understands, and nothing half-stored.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from gallery.models import Generation, Image
from gallery.services import generations
from gallery.services.generations import GenerationParams
from gallery.services.workspaces import personal_membership
from tests.fake_images_api import FAKE_API_KEY, Reply
from tests.workers import wait_until

pytestmark = pytest.mark.django_db


def create(user, *, prompt="a red fox in the snow", model="grok-3-image", n=2, **options):
    params = GenerationParams(prompt=prompt, model=model, n=n, **options)
    generation, created = generations.create_generation(
        membership=personal_membership(user=user),
        params=params,
        idempotency_key=generations.new_idempotency_key(),
    )
    assert created
    return generation


def run(generation) -> Generation:
    generations.run_generation(generation_id=generation.pk, worker_id="test-worker")
    generation.refresh_from_db()
    return generation


def test_a_relay_generation_with_url_results_stores_every_image(user, fake_images_api):
    generation = create(
        user, n=4, size="1280x720", aspect_ratio="16:9", quality="high", response_format="url"
    )
    generation = run(generation)

    assert generation.status == Generation.Status.SUCCEEDED
    assert generation.error_message == ""
    assert generation.attempts == 1
    assert generation.images.count() == 4
    assert sorted(generation.images.values_list("index", flat=True)) == [0, 1, 2, 3]
    body = generation.request_body
    assert body["aspect_ratio"] == ["16:9"] * 4
    assert body["quality"] == ["high"] * 4
    assert body["resolution"] == [None] * 4
    assert FAKE_API_KEY not in str(body)
    assert generation.usage is not None
    assert generation.response_created is not None
    assert generation.api_ms is not None
    assert generation.download_ms is not None
    assert generation.started_at is not None
    assert generation.finished_at >= generation.started_at
    assert generation.lease_owner == ""
    image = generation.images.get(index=0)
    assert image.created_by == user
    assert image.workspace_id == generation.workspace_id
    assert image.original.storage.exists(image.original.name)
    assert image.thumbnail_small.name.endswith(".webp")


def test_the_demo_model_needs_no_api(user, settings):
    settings.IMAGES_API_KEY = ""
    generation = run(create(user, model="demo", n=3, size="960x960"))
    assert generation.status == Generation.Status.SUCCEEDED
    assert list(generation.images.values_list("width", "height")) == [(960, 960)] * 3


def test_fewer_images_than_asked_is_a_partial_success_that_says_so(user, fake_images_api):
    generation = run(create(user, prompt="three foxes [fault:fewer]", n=3))
    assert generation.status == Generation.Status.PARTIAL
    assert generation.images.count() == 2
    assert "returned 2 of the 3 images" in generation.error_message


def test_a_corrupt_image_fails_only_that_image(user, fake_images_api):
    generation = run(create(user, prompt="foxes [fault:not-image]", n=2))
    assert generation.status == Generation.Status.PARTIAL
    assert list(generation.images.values_list("index", flat=True)) == [1]
    assert generation.error_message.startswith("Image 1 could not be read:")


def test_an_expired_url_fails_that_image_with_a_clear_message(user, fake_images_api):
    generation = run(create(user, prompt="foxes [fault:expired]", n=2))
    assert generation.status == Generation.Status.PARTIAL
    assert "Image 1:" in generation.error_message
    assert generation.images.count() == 1


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        ("400-policy", "rejected", "safety"),
        ("401", "auth", "misconfigured"),
        ("429-quota", "quota", ""),
        ("truncated", "bad_response", ""),
        ("empty", "bad_response", ""),
        ("502-html", "unavailable", ""),
    ],
)
def test_api_faults_end_in_their_state_with_a_message(
    user, fake_images_api, settings, fault, kind, words
):
    settings.GENERATION_MAX_ATTEMPTS = 1  # no task-level retry: the final state at once
    generation = run(create(user, prompt=f"a fox [fault:{fault}]"))
    assert generation.status == Generation.Status.FAILED
    assert generation.error_kind == kind
    assert generation.error_message
    assert words.lower() in generation.error_message.lower()
    assert FAKE_API_KEY not in generation.error_message
    assert not generation.images.exists()
    assert generation.finished_at is not None


def test_a_rate_limit_goes_back_to_the_queue_with_the_delay_asked_for(
    user, fake_images_api, django_capture_on_commit_callbacks
):
    generation = create(user, prompt="a fox [fault:429-long]")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        generation = run(generation)
    assert generation.status == Generation.Status.QUEUED
    assert generation.error_kind == "rate_limited"
    assert "Trying again in 60 s" in generation.error_message  # Retry-After 3600, capped
    assert generation.attempts == 1
    assert len(callbacks) == 1  # the next attempt is enqueued (with run_after) on commit


def test_an_unreachable_service_goes_back_to_the_queue(user, fake_images_api, settings):
    settings.IMAGES_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens: never sent
    generation = run(create(user))
    assert generation.status == Generation.Status.QUEUED
    assert generation.error_kind == "unavailable"


def test_a_server_error_is_asked_again_once_in_all(user, fake_images_api):
    # A 5xx may have been billed upstream: one retry in the call, none by the task.
    generation = run(create(user, prompt="a fox [fault:500]"))
    assert generation.status == Generation.Status.FAILED
    assert generation.error_kind == "unavailable"
    assert len(fake_images_api.generation_requests) == 2


def test_retries_stop_at_the_attempt_budget(user, fake_images_api, settings):
    settings.GENERATION_MAX_ATTEMPTS = 2
    generation = create(user, prompt="a fox [fault:429-long]")
    generation = run(generation)
    assert generation.status == Generation.Status.QUEUED
    generation = run(generation)
    assert generation.status == Generation.Status.FAILED
    assert generation.attempts == 2
    assert generation.error_kind == "rate_limited"


def test_giving_up_after_rate_limits_promises_no_wait(user, fake_images_api, settings):
    settings.GENERATION_MAX_ATTEMPTS = 1
    settings.IMAGES_API_MAX_RETRIES = 0
    generation = run(create(user, prompt="a fox [fault:429]"))  # Retry-After: 1
    assert generation.status == Generation.Status.FAILED
    assert "try again in" not in generation.error_message.casefold()
    assert generation.error_message == (
        "The image service is busy with too many requests. Atelier tried once, then stopped. "
        "Press Retry to try again later."
    )


def test_a_generation_taken_over_meanwhile_keeps_nothing_of_the_old_run(
    user, fake_images_api, monkeypatch
):
    generation = create(user, n=2)
    real_generate = generations.images_api.generate

    def generate_then_lose_the_lease(**kwargs):
        result = real_generate(**kwargs)
        # While the API worked, the lease lapsed and another worker took the generation.
        Generation.objects.filter(pk=generation.pk).update(lease_owner="another-worker")
        return result

    monkeypatch.setattr(generations.images_api, "generate", generate_then_lose_the_lease)
    generations.run_generation(generation_id=generation.pk, worker_id="test-worker")
    generation.refresh_from_db()
    assert generation.status == Generation.Status.RUNNING
    assert generation.lease_owner == "another-worker"
    assert not generation.images.exists()


def test_a_second_task_for_the_same_generation_does_nothing(user, fake_images_api):
    generation = run(create(user, n=2))
    assert generations.run_generation(generation_id=generation.pk, worker_id="late") == "skipped"
    assert generation.images.count() == 2


def test_a_canceled_generation_is_not_run(user, fake_images_api):
    generation = create(user)
    assert generations.cancel_generation(generation=generation)
    generation = run(generation)
    assert generation.status == Generation.Status.CANCELED
    assert fake_images_api.generation_requests == []


def test_retry_puts_a_failed_generation_back_with_a_fresh_budget(user, fake_images_api, settings):
    settings.GENERATION_MAX_ATTEMPTS = 1
    generation = run(create(user, prompt="a fox [fault:500x2]"))
    assert generation.status == Generation.Status.FAILED
    assert generations.retry_generation(generation=generation)
    assert generation.status == Generation.Status.QUEUED
    assert generation.attempts == 0
    generation = run(generation)
    assert generation.status == Generation.Status.SUCCEEDED


def test_an_expired_lease_is_swept_back_into_the_queue_and_rerun_without_duplicates(
    user, fake_images_api
):
    generation = run(create(user, n=2))
    # As if a worker had died half-way: running, some images stored, the lease expired.
    Generation.objects.filter(pk=generation.pk).update(
        status=Generation.Status.RUNNING,
        lease_owner="dead-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    Image.objects.filter(generation=generation, index=1).delete()
    assert generations.requeue_stale_generations() == 1
    generation.refresh_from_db()
    assert generation.status == Generation.Status.QUEUED

    generation = run(generation)
    assert generation.status == Generation.Status.SUCCEEDED
    assert generation.attempts == 2
    assert sorted(generation.images.values_list("index", flat=True)) == [0, 1]


def test_a_live_lease_is_left_alone(user, fake_images_api):
    generation = create(user)
    Generation.objects.filter(pk=generation.pk).update(
        status=Generation.Status.RUNNING,
        lease_owner="busy-worker",
        lease_expires_at=timezone.now() + timedelta(seconds=60),
    )
    assert generations.requeue_stale_generations() == 0


def test_a_worker_that_keeps_dying_gives_up_with_a_message(user, fake_images_api, settings):
    settings.GENERATION_MAX_ATTEMPTS = 2
    generation = create(user)
    Generation.objects.filter(pk=generation.pk).update(attempts=2)
    generation = run(generation)
    assert generation.status == Generation.Status.FAILED
    assert generation.error_kind == "gave_up"
    assert "interrupted" in generation.error_message


def test_the_same_idempotency_key_returns_the_first_generation(user):
    params = GenerationParams(prompt="a fox", model="demo")
    first, created = generations.create_generation(
        membership=personal_membership(user=user), params=params, idempotency_key="k"
    )
    second, created_again = generations.create_generation(
        membership=personal_membership(user=user), params=params, idempotency_key="k"
    )
    assert (created, created_again) == (True, False)
    assert first.pk == second.pk


@pytest.mark.parametrize(("model", "n", "bound"), [("grok-3-image", 2, 6), ("dall-e-3", 2, 12)])
def test_the_most_posts_one_generation_sends_is_the_bound_it_states(
    user, fake_images_api, settings, model, n, bound
):
    settings.GENERATION_MAX_ATTEMPTS = 2
    settings.IMAGES_API_MAX_RETRIES = 2
    generation = create(user, model=model, n=n, prompt="a fox [fault:429-ms]")
    assert generations.max_upstream_posts(model=model, n=n) == bound

    while generation.status in (Generation.Status.QUEUED, Generation.Status.RUNNING):
        generation = run(generation)

    assert generation.status == Generation.Status.FAILED
    assert len(fake_images_api.generation_requests) == bound


def test_a_wait_longer_than_a_call_may_sleep_is_left_to_the_queue(user, fake_images_api, settings):
    settings.IMAGES_API_IN_CALL_MAX_WAIT_SECONDS = 8
    fake_images_api.script(
        Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "30"})
    )
    generation = run(create(user))

    assert len(fake_images_api.generation_requests) == 1  # not slept through in the call
    assert generation.status == Generation.Status.QUEUED
    assert "Trying again in 30 s" in generation.error_message


def test_the_queue_and_the_call_share_one_backoff(settings):
    settings.IMAGES_API_RETRY_AFTER_CAP_SECONDS = 60
    assert generations.retry_delay_seconds(attempt=1, retry_after=12) == 12
    assert generations.retry_delay_seconds(attempt=1, retry_after=3600) == 60
    delays = [generations.retry_delay_seconds(attempt=a, retry_after=None) for a in (1, 2, 3, 9)]
    assert 3.75 <= delays[0] <= 5
    assert 7.5 <= delays[1] <= 10
    assert 15 <= delays[2] <= 20
    assert 45 <= delays[3] <= 60


def test_the_sweep_settles_the_task_row_of_a_generation_whose_worker_died(
    user, fake_images_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        generation = create(user)
    task_row = DBTaskResult.objects.get()
    task_row.claim("dead-worker-process")
    # The task's run took the generation, then its worker died (no set_successful, no finish).
    Generation.objects.filter(pk=generation.pk).update(
        status=Generation.Status.RUNNING,
        lease_owner=f"task-{task_row.id}",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert generations.requeue_stale_generations() == 1

    task_row.refresh_from_db()
    assert task_row.status == TaskResultStatus.FAILED
    assert task_row.exception_class_path == "gallery.tasks.WorkerLost"
    assert f"generation {generation.pk}" in task_row.traceback
    assert task_row.finished_at is not None
    # The generation has a new task, ready to run.
    assert DBTaskResult.objects.ready().count() == 1


def test_a_queued_generation_s_lost_task_is_replaced_without_touching_other_rows(
    user, fake_images_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        generation = create(user)
    Generation.objects.filter(pk=generation.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert generations.requeue_stale_generations() == 1
    assert sorted(DBTaskResult.objects.values_list("status", flat=True)) == ["READY", "READY"]


@pytest.mark.django_db(transaction=True)
def test_lease_renewal_survives_a_database_error(user, settings, monkeypatch):
    # The renewer is its own thread with its own connection: the rows must be committed.
    settings.GENERATION_LEASE_SECONDS = 1
    generation = create(user)
    first_lease = timezone.now() + timedelta(seconds=1)
    Generation.objects.filter(pk=generation.pk).update(
        status=Generation.Status.RUNNING, lease_owner="w1", lease_expires_at=first_lease
    )
    real_renew = generations.renew_leases
    calls = []

    def renew_failing_once(*, held):
        calls.append(dict(held))
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real_renew(held=held)

    monkeypatch.setattr(generations, "renew_leases", renew_failing_once)
    # A renewer of its own: the process's one may be asleep for an earlier test's 60 s lease.
    monkeypatch.setattr(generations, "lease_renewer", generations.LeaseRenewer())
    renewed = Generation.objects.filter(pk=generation.pk, lease_expires_at__gt=first_lease)
    with generations.held_lease(generation_id=generation.pk, worker_id="w1"):
        # The second call is counted before its UPDATE commits: wait for the UPDATE itself.
        wait_until(
            lambda: len(calls) >= 2 and renewed.exists(),
            timeout=10,
            message="renewal stopped after an error",
        )
    assert calls[0] == {generation.pk: "w1"}


def test_an_item_whose_base64_is_not_an_image_is_stored_from_its_url(user, fake_images_api):
    generation = run(
        create(user, prompt="a fox [fault:b64-junk-and-url]", n=2, response_format="b64_json")
    )

    assert generation.status == Generation.Status.SUCCEEDED
    assert generation.images.count() == 2
    # Only image 0's url was fetched: image 1's base64 was an image.
    [download] = fake_images_api.downloads("/images/")
    assert download.path.split("/")[-1].split("-")[1] == "0"


def test_a_relay_that_rejects_response_format_is_sent_none(user, fake_images_api, models_file):
    models_file([{"id": "grok-3-image", "send_response_format": False}])
    generation = run(create(user, n=2, response_format="b64_json"))

    assert generation.status == Generation.Status.SUCCEEDED
    [call] = fake_images_api.generation_requests
    assert "response_format" not in call.json
    assert "response_format" not in generation.request_body
