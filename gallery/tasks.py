"""Background tasks: each takes ids and calls one service."""

from __future__ import annotations

from django.tasks import TaskContext, task

from gallery.services import generations


@task(takes_context=True)
def run_generation(context: TaskContext, *, generation_id: int) -> str:
    return generations.run_generation(
        generation_id=generation_id, worker_id=f"task-{context.task_result.id}"[:64]
    )
