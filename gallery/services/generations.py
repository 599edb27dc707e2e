"""Orchestration of one generation: create it, run it (call the API, store the images), recover.

The Generation row is the source of truth and a small state machine:

    queued ──claim──▶ running ──▶ succeeded | partial | failed
       ▲                 │
       └── retry / lease expired (worker died) ──┘        queued|running ──cancel──▶ canceled

Every transition is one conditional UPDATE, so two workers (or a worker and a cancel) can never
both win, on SQLite or PostgreSQL. The task queue only carries ids: a lost or duplicated task is
harmless, because a task that cannot claim its generation does nothing.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from gallery.i18n import Message
from gallery.models import Generation
from gallery.services import budgets, catalog, images_api, imaging

if TYPE_CHECKING:
    from gallery.models import Membership

logger = logging.getLogger(__name__)

# A queued generation whose task was lost (the process died between commit and enqueue) is
# enqueued again after this long; a duplicate task is harmless, a lost one is not.
QUEUED_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class GenerationParams(images_api.ImageRequest):
    """What the user chose (validated against the model catalog by GenerateForm): exactly the
    request the images API is asked, one value per option, and what a Generation row stores."""

    @classmethod
    def from_generation(cls, generation: Generation) -> GenerationParams:
        return cls(
            model=generation.model,
            prompt=generation.prompt,
            n=generation.n,
            size=generation.size,
            aspect_ratio=generation.aspect_ratio,
            quality=generation.quality,
            resolution=generation.resolution,
            response_format=generation.response_format,
            style=generation.extra_params.get("style", ""),
        )


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def create_generation(
    *,
    membership: Membership,
    params: GenerationParams,
    idempotency_key: str,
    parent: Generation | None = None,
) -> tuple[Generation, bool]:
    """Create a queued generation in the member's workspace, made by them, and enqueue its task
    when the transaction commits. (Whether the member may generate is gallery.policy's to say.)

    The same idempotency key (a double click, a resubmitted form) returns the first generation.
    A submit that would pass a budget or a rate limit raises budgets.LimitReached (nothing is
    created).
    """
    fields = asdict(params)
    style = fields.pop("style")
    defaults = {
        **fields,
        "extra_params": {"style": style} if style else {},
        "parent": parent,
        "workspace_id": membership.workspace_id,
        "lease_expires_at": timezone.now() + QUEUED_GRACE,
    }
    try:
        with transaction.atomic():
            existing = Generation.objects.filter(
                created_by_id=membership.user_id, idempotency_key=idempotency_key
            ).first()
            if existing is not None:
                return existing, False
            # Locks the workspace's row until commit: concurrent submits check in turn.
            defaults["estimated_cost"] = budgets.reserve(membership=membership, params=params)
            generation, created = Generation.objects.get_or_create(
                created_by_id=membership.user_id,
                idempotency_key=idempotency_key,
                defaults=defaults,
            )
            if created:
                enqueue(generation_id=generation.pk)
    except IntegrityError:
        # Two requests with one key raced past get_or_create: the other one created it.
        generation, created = (
            Generation.objects.get(
                created_by_id=membership.user_id, idempotency_key=idempotency_key
            ),
            False,
        )
    return generation, created


def enqueue(*, generation_id: int, delay_seconds: float = 0) -> None:
    """Enqueue the generation's task once the surrounding transaction commits."""
    from gallery.tasks import run_generation  # tasks import this module

    def send() -> None:
        task = run_generation
        if delay_seconds > 0:
            task = task.using(run_after=timezone.now() + timedelta(seconds=delay_seconds))
        task.enqueue(generation_id=generation_id)

    transaction.on_commit(send, robust=False)


def cancel_generation(*, generation: Generation) -> bool:
    """Cancel a queued or running generation. A running API call finishes, but nothing is kept."""
    canceled = Generation.objects.filter(
        pk=generation.pk, status__in=Generation.PENDING_STATUSES
    ).update(
        status=Generation.Status.CANCELED,
        finished_at=timezone.now(),
        lease_owner="",
        lease_expires_at=None,
        **error_fields("canceled", Message(gettext_noop("Canceled."))),
    )
    generation.refresh_from_db()
    return bool(canceled)


def retry_generation(*, generation: Generation) -> bool:
    """Put a failed or canceled generation back in the queue with a fresh attempt budget."""
    with transaction.atomic():
        requeued = Generation.objects.filter(
            pk=generation.pk,
            status__in=[Generation.Status.FAILED, Generation.Status.CANCELED],
        ).update(
            status=Generation.Status.QUEUED,
            attempts=0,
            error_kind="",
            error_message="",
            error_i18n=None,
            started_at=None,
            finished_at=None,
            lease_owner="",
            lease_expires_at=timezone.now() + QUEUED_GRACE,
        )
        if requeued:
            enqueue(generation_id=generation.pk)
    generation.refresh_from_db()
    return bool(requeued)


def requeue_stale_generations() -> int:
    """Put back in the queue every pending generation whose lease expired; return how many.

    A running generation's lease expires when its worker died; a queued one's when its task
    was lost. Claims are conditional, so a generation that is in fact still alive is safe.
    """
    from gallery.tasks import settle_lost_task  # tasks import this module

    now = timezone.now()
    stale = list(
        Generation.objects.pending()
        .filter(lease_expires_at__lt=now)
        .values_list("pk", "status", "lease_owner")[:500]
    )
    requeued = 0
    for generation_id, status, lease_owner in stale:
        with transaction.atomic():
            changed = Generation.objects.filter(
                pk=generation_id,
                status=status,
                lease_owner=lease_owner,
                lease_expires_at__lt=now,
            ).update(
                status=Generation.Status.QUEUED,
                lease_owner="",
                lease_expires_at=now + QUEUED_GRACE,
            )
            if changed:
                if status == Generation.Status.RUNNING:
                    # The task that ran it died with its worker: its row says so, not RUNNING.
                    settle_lost_task(worker_id=lease_owner, generation_id=generation_id)
                enqueue(generation_id=generation_id)
                requeued += changed
    if requeued:
        logger.warning("Re-queued %d generation(s) whose worker or task was lost", requeued)
    return requeued


class ProviderBusy(Exception):
    """The generation's provider has max_in_flight calls in flight already: claim it later."""


def _provider_lock_key(provider_id: str) -> int:
    digest = hashlib.blake2b(f"atelier-provider:{provider_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _provider_has_room(*, model: str, n: int, now: datetime) -> bool:
    """Whether this generation's calls fit under its provider's max_in_flight, counting what
    every worker is running. Called inside the claim's transaction."""
    try:
        spec = catalog.get_model(model)
    except catalog.UnknownModel:
        return True  # the run fails it with a message
    provider = catalog.provider_for(spec)
    if spec.demo or not provider.max_in_flight:
        return True
    models = {
        model_spec.id: model_spec
        for model_spec in catalog.all_models()
        if model_spec.provider == provider.name and not model_spec.demo
    }
    if connection.vendor == "postgresql":
        # Claims for one provider take turns, so two cannot both take its last free place.
        # (On SQLite the claim's IMMEDIATE transaction already holds the one write lock.)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_provider_lock_key(provider.name)])
    running = Generation.objects.filter(
        status=Generation.Status.RUNNING, model__in=list(models), lease_expires_at__gt=now
    ).values_list("model", "n")
    busy = sum(
        images_api.call_count(models[running_model], count) for running_model, count in running
    )
    # Alone, a generation runs even when it needs more calls than the cap (it could never run).
    return busy == 0 or busy + images_api.call_count(spec, n) <= provider.max_in_flight


def claim_generation(*, generation_id: int, worker_id: str) -> Generation | None:
    """Take the generation for this worker, or return None when it is not ours to run.

    Raises ProviderBusy when its provider has no room for its calls now.
    """
    now = timezone.now()
    lease = timedelta(seconds=settings.GENERATION_LEASE_SECONDS)
    with transaction.atomic():
        queued = (
            Generation.objects.filter(pk=generation_id, status=Generation.Status.QUEUED)
            .values_list("model", "n")
            .first()
        )
        if queued is None:
            return None
        if not _provider_has_room(model=queued[0], n=queued[1], now=now):
            raise ProviderBusy(queued[0])
        claimed = Generation.objects.filter(
            pk=generation_id, status=Generation.Status.QUEUED
        ).update(
            status=Generation.Status.RUNNING,
            lease_owner=worker_id,
            lease_expires_at=now + lease,
            attempts=F("attempts") + 1,
        )
    if not claimed:
        return None
    generation = Generation.objects.select_related("created_by").get(pk=generation_id)
    if generation.started_at is None:
        generation.started_at = now
        generation.save(update_fields=["started_at"])
    return generation


def renew_leases(*, held: dict[int, str]) -> int:
    """Extend the lease of each generation (id -> lease owner) still running under that owner."""
    lease = timedelta(seconds=settings.GENERATION_LEASE_SECONDS)
    renewed = 0
    pairs = list(held.items())
    # In slices, so the OR stays well under SQLite's expression depth limit.
    for start in range(0, len(pairs), 100):
        mine = Q()
        for generation_id, worker_id in pairs[start : start + 100]:
            mine |= Q(pk=generation_id, lease_owner=worker_id)
        renewed += Generation.objects.filter(mine, status=Generation.Status.RUNNING).update(
            lease_expires_at=timezone.now() + lease
        )
    return renewed


class LeaseRenewer:
    """One thread per process renews the leases of all the generations the process is running.

    A worker runs many generations at once: one UPDATE every lease/3 renews them all, with one
    database connection, where a thread per generation would hold a connection per call in
    flight. The thread stops when nothing is held and starts again with the next hold().
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, str] = {}
        self._thread: threading.Thread | None = None

    def hold(self, *, generation_id: int, worker_id: str) -> None:
        with self._lock:
            self._held[generation_id] = worker_id
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._renew_while_held, name="lease-renewer", daemon=True
                )
                self._thread.start()

    def release(self, *, generation_id: int) -> None:
        with self._lock:
            self._held.pop(generation_id, None)

    def _renew_while_held(self) -> None:
        try:
            while True:
                time.sleep(max(0.2, settings.GENERATION_LEASE_SECONDS / 3))
                with self._lock:
                    held = dict(self._held)
                    if not held:
                        self._thread = None
                        return
                try:
                    renew_leases(held=held)
                except Exception:
                    # A passing error (SQLite busy) must not end renewal: the next try may work.
                    logger.exception("Renewing the leases of generations %s failed", list(held))
                finally:
                    # Back to the pool between renewals: the other threads need it more.
                    connection.close()
        finally:
            connection.close()


lease_renewer = LeaseRenewer()


@contextmanager
def held_lease(*, generation_id: int, worker_id: str) -> Iterator[None]:
    """Keep the generation's lease renewed for as long as the work runs."""
    lease_renewer.hold(generation_id=generation_id, worker_id=worker_id)
    try:
        yield
    finally:
        lease_renewer.release(generation_id=generation_id)


def _claim_when_provider_has_room(*, generation_id: int, worker_id: str) -> Generation | None:
    """Claim the generation, waiting (with no connection held) while its provider is full."""
    pause = 0.1
    while True:
        try:
            return claim_generation(generation_id=generation_id, worker_id=worker_id)
        except ProviderBusy:
            _release_connection()
            time.sleep(pause + random.uniform(0, pause))  # noqa: S311 - jitter, not security
            pause = min(1.0, pause * 2)


def run_generation(*, generation_id: int, worker_id: str | None = None) -> str:
    """Run one generation to its end state; returns the status it ended in (for the task log)."""
    worker_id = worker_id or f"w-{uuid.uuid4().hex[:12]}"
    generation = _claim_when_provider_has_room(generation_id=generation_id, worker_id=worker_id)
    if generation is None:
        return "skipped"
    if generation.attempts > settings.GENERATION_MAX_ATTEMPTS:
        return _finish(
            generation,
            worker_id,
            status=Generation.Status.FAILED,
            **error_fields(
                "gave_up",
                Message(
                    gettext_noop(
                        "This generation was interrupted %(count)s times, so Atelier stopped "
                        "trying. Press Retry to try again."
                    ),
                    count=generation.attempts - 1,
                ),
            ),
        )
    try:
        with held_lease(generation_id=generation.pk, worker_id=worker_id):
            return _call_and_store(generation, worker_id)
    except images_api.ImagesAPIError as error:
        return _handle_api_error(generation, worker_id, error)
    except Exception:
        logger.exception("Generation %s failed unexpectedly", generation.pk)
        return _finish(
            generation,
            worker_id,
            status=Generation.Status.FAILED,
            **error_fields(
                "internal",
                Message(
                    gettext_noop("Something went wrong on our side. Press Retry to try again.")
                ),
            ),
        )


def _release_connection() -> None:
    """Give this thread's database connection back before a wait of seconds on the network.

    A worker has many API calls in flight: holding a connection through each would take one per
    call (PostgreSQL allows 100 in all). The next query takes one again, from the pool on
    PostgreSQL. Inside a transaction (a test's) the connection stays.
    """
    if not connection.in_atomic_block:
        connection.close()


def _call_and_store(generation: Generation, worker_id: str) -> str:
    _release_connection()
    result = images_api.generate(request=GenerationParams.from_generation(generation))

    problems: list[Message] = []
    stored = 0
    revised_prompts: list[str] = []
    returned, missing = len(result.images), result.missing
    # Each image's bytes are let go once stored: n images at the caps are not all held while
    # the last ones are decoded (bench_memory measures it).
    while result.images:
        result_image = result.images.pop(0)
        position = result_image.index + 1
        if result_image.revised_prompt and result_image.revised_prompt not in revised_prompts:
            revised_prompts.append(result_image.revised_prompt)
        if result_image.error is not None or result_image.data is None:
            reason = (
                result_image.error.message
                if result_image.error
                else Message(gettext_noop("no data came back"))
            )
            problems.append(
                Message(
                    gettext_noop("Image %(position)s: %(reason)s"), position=position, reason=reason
                )
            )
            continue
        if not _still_ours(generation, worker_id):
            # Canceled, or taken over after our lease lapsed: keep nothing more.
            generation.refresh_from_db(fields=["status"])
            return str(generation.status)
        try:
            _store_result_image(generation, result_image)
        except imaging.InvalidImageError as error:
            problems.append(error.message)  # "Image 3 could not be read: …"
            continue
        stored += 1
    if missing:
        problems.insert(
            0,
            Message(
                gettext_noop(
                    "The service returned %(returned)s of the %(asked)s images asked for."
                ),
                returned=returned,
                asked=generation.n,
            ),
        )

    if stored == 0:
        status, kind = Generation.Status.FAILED, "no_images"
        problems.insert(0, Message(gettext_noop("No usable image came back.")))
    elif stored < generation.n:
        status, kind = Generation.Status.PARTIAL, "partial"
    else:
        status, kind = Generation.Status.SUCCEEDED, ""
    return _finish(
        generation,
        worker_id,
        status=status,
        **error_fields(kind, Message.join(problems) if problems else None),
        request_body=_stored_request_body(result.request_bodies),
        response_created=result.created,
        usage=result.usage,
        revised_prompt="\n".join(revised_prompts),
        api_ms=result.api_ms,
        download_ms=result.download_ms,
    )


def _store_result_image(generation: Generation, result_image: images_api.ResultImage) -> None:
    """Store one image. An item that carried both forms whose base64 is not an image gets its
    url's bytes instead; if those fail too, the base64's error stands."""
    assert result_image.data is not None
    try:
        imaging.store_image(
            generation=generation,
            index=result_image.index,
            data=result_image.data,
            revised_prompt=result_image.revised_prompt,
        )
    except imaging.InvalidImageError as error:
        if not result_image.fallback_url:
            raise
        try:
            data, _content_type, _retries = images_api.download_image(url=result_image.fallback_url)
        except images_api.DownloadError:
            raise error from None
        imaging.store_image(
            generation=generation,
            index=result_image.index,
            data=data,
            revised_prompt=result_image.revised_prompt,
        )


def _still_ours(generation: Generation, worker_id: str) -> bool:
    return Generation.objects.filter(
        pk=generation.pk, status=Generation.Status.RUNNING, lease_owner=worker_id
    ).exists()


def _stored_request_body(bodies: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    return bodies[0] if len(bodies) == 1 else bodies


def retry_delay_seconds(*, attempt: int, retry_after: float | None) -> float:
    """How long the queue waits before running the generation again (images_api's backoff)."""
    return images_api.queue_delay_seconds(attempt=attempt, retry_after=retry_after)


def _handle_api_error(
    generation: Generation, worker_id: str, error: images_api.ImagesAPIError
) -> str:
    logger.warning(
        "Generation %s: images API %s error (status %s, request id %s): %s",
        generation.pk,
        error.kind,
        error.status,
        error.request_id or "-",
        error.user_message,
    )
    if error.retriable and generation.attempts < settings.GENERATION_MAX_ATTEMPTS:
        delay = retry_delay_seconds(attempt=generation.attempts, retry_after=error.retry_after)
        with transaction.atomic():
            requeued = Generation.objects.filter(
                pk=generation.pk, status=Generation.Status.RUNNING, lease_owner=worker_id
            ).update(
                status=Generation.Status.QUEUED,
                lease_owner="",
                lease_expires_at=timezone.now() + timedelta(seconds=delay) + QUEUED_GRACE,
                **error_fields(
                    error.kind,
                    Message.join(
                        [
                            error.message,
                            Message(
                                gettext_noop("Trying again in %(seconds)s s."),
                                seconds=f"{delay:.0f}",
                            ),
                        ]
                    ),
                ),
            )
            if requeued:
                enqueue(generation_id=generation.pk, delay_seconds=delay)
        return "retrying"
    return _finish(
        generation,
        worker_id,
        status=Generation.Status.FAILED,
        **error_fields(error.kind, gave_up_message(error, attempts=generation.attempts)),
    )


def error_fields(kind: str, message: Message | None) -> dict[str, Any]:
    """A generation's error columns: its kind, its English words (logs, the admin) and the
    message itself, which each viewer reads in their own language (gallery.i18n)."""
    if message is None:
        return {"error_kind": kind, "error_message": "", "error_i18n": None}
    return {
        "error_kind": kind,
        "error_message": message.english(),
        "error_i18n": message.to_json(),
    }


def gave_up_message(error: images_api.ImagesAPIError, *, attempts: int) -> Message:
    """The last word on a failed generation. An error worth retrying says "try again in about
    2 seconds" to the next attempt; once Atelier stops trying, that would be a false promise."""
    if not error.retriable:
        return error.message
    parts = error.message.parts if error.message.parts is not None else [error.message]
    kept: list[Message | str] = []
    for part in parts:
        if part.msgid in images_api.TRY_AGAIN_MSGIDS:
            continue
        if part.msgid == "%(text)s":  # plain words: drop their own "Try again ..." sentences
            sentences = re.split(r"(?<=[.!?])\s+", str(part).strip())
            part = " ".join(s for s in sentences if not s.casefold().startswith("try again"))
        kept.append(part)
    if attempts == 1:
        tries = Message(
            gettext_noop("Atelier tried once, then stopped. Press Retry to try again later.")
        )
    else:
        tries = Message(
            gettext_noop(
                "Atelier tried %(count)s times, then stopped. Press Retry to try again later."
            ),
            count=attempts,
        )
    return Message.join([*kept, tries])


def _finish(generation: Generation, worker_id: str, *, status: str, **fields: Any) -> str:
    """Record the end state, unless the generation was canceled or taken over meanwhile."""
    updated = Generation.objects.filter(
        pk=generation.pk, status=Generation.Status.RUNNING, lease_owner=worker_id
    ).update(
        status=status,
        finished_at=timezone.now(),
        lease_owner="",
        lease_expires_at=None,
        **fields,
    )
    if not updated:
        generation.refresh_from_db(fields=["status"])
        return str(generation.status)
    return status


def max_upstream_posts(*, model: str, n: int) -> int:
    """The most POSTs one generation of n images of `model` can send to the image service:
    every run it may get (GENERATION_MAX_ATTEMPTS, crashes included) times its calls (one per
    request body) times the POSTs of one call (1 + IMAGES_API_MAX_RETRIES). 0 for the demo.
    Pressing Retry starts a fresh budget; a relay that retries on its own multiplies it."""
    try:
        spec = catalog.get_model(model)
    except catalog.UnknownModel:
        return 0
    return (
        int(settings.GENERATION_MAX_ATTEMPTS)
        * images_api.call_count(spec, n)
        * images_api.max_posts_per_call()
    )
