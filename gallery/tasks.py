"""Background tasks: each takes ids and calls one service."""

from __future__ import annotations

import uuid

from django.tasks import TaskContext, TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from gallery.services import generations

TASK_WORKER_PREFIX = "task-"


@task(takes_context=True)
def run_generation(context: TaskContext, *, generation_id: int) -> str:
    return generations.run_generation(
        generation_id=generation_id,
        worker_id=f"{TASK_WORKER_PREFIX}{context.task_result.id}"[:64],
    )


class WorkerLost(Exception):
    """Recorded on a task row whose worker died while running it (never raised)."""


def settle_lost_task(*, worker_id: str, generation_id: int) -> None:
    """Mark the task row that held a generation's lease FAILED: its worker died mid-run.

    django-tasks-db leaves such a row RUNNING forever; the generation itself is put back in
    the queue by the caller (with a new task), which this row's message points to.
    """
    if not worker_id.startswith(TASK_WORKER_PREFIX):
        return  # not a task's lease (e.g. a test's or a shell's run_generation)
    try:
        task_id = uuid.UUID(worker_id.removeprefix(TASK_WORKER_PREFIX))
    except ValueError:
        return
    DBTaskResult.objects.filter(id=task_id, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback=(
            f"{WorkerLost.__qualname__}: the worker running this task stopped (its lease on "
            f"generation {generation_id} expired); the generation was put back in the queue "
            "with a new task.\n"
        ),
    )
