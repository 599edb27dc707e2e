"""Rows for tests: generations and images without real files.

    generation = make_generation(created_by=user, prompt="a fox", n_images=2)
    image = make_image(generation=generation, is_favorite=True)
    trash_generation(generation)

Image rows carry plausible file names and dimensions but no file is written: use them for
anything that reads the database (grids, search, history, usage), and tests/images.py (real,
tiny image bytes) for anything that opens the files. Reload such an image with
Image.objects.get(), not refresh_from_db(): refreshing an ImageField re-reads the dimensions
from the (missing) file.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime
from typing import Any

from django.utils import timezone

from gallery.models import Generation, Image, Membership, Role, Workspace
from gallery.services import workspaces

_sequence = itertools.count(1)


def personal_workspace(user: Any) -> Workspace:
    return workspaces.personal_membership(user=user).workspace


def make_team(*, name: str = "Team", members: dict[Any, str] | None = None) -> Workspace:
    """A team workspace with `members` ({user: role}); no owner unless one is given."""
    workspace = Workspace.objects.create(name=name, slug=f"team-{next(_sequence)}")
    for user, role in (members or {}).items():
        Membership.objects.create(workspace=workspace, user=user, role=Role(role))
    return workspace


def make_generation(
    *,
    created_by: Any,
    workspace: Workspace | None = None,
    prompt: str = "a watercolor fox under a neon moon",
    n_images: int = 0,
    model: str = "gpt-image-1",
    size: str = "1024x1024",
    aspect_ratio: str = "",
    status: str = Generation.Status.SUCCEEDED,
    revised_prompt: str = "",
    usage: Any = None,
    created_at: datetime | None = None,
    **fields: Any,
) -> Generation:
    """A saved Generation (so prompt_normalized is set) with `n_images` live images, made by
    `created_by` in `workspace` (their personal workspace by default).

    `n` defaults to max(n_images, 1); any other Generation field can be passed by name.
    """
    created_at = created_at or timezone.now()
    generation = Generation.objects.create(
        created_by=created_by,
        workspace=workspace or personal_workspace(created_by),
        idempotency_key=f"test-{next(_sequence)}",
        prompt=prompt,
        model=model,
        size=size,
        aspect_ratio=aspect_ratio,
        n=fields.pop("n", max(n_images, 1)),
        status=status,
        revised_prompt=revised_prompt,
        usage=usage,
        created_at=created_at,
        **fields,
    )
    for index in range(n_images):
        make_image(generation=generation, index=index, created_at=created_at)
    return generation


def make_image(
    *,
    generation: Generation,
    index: int | None = None,
    is_favorite: bool = False,
    created_at: datetime | None = None,
    **fields: Any,
) -> Image:
    """A saved Image of `generation` (workspace and maker copied from it), with file names but
    no files.

    `index` defaults to the next free one.
    """
    if index is None:
        index = generation.images.count()
    digest = hashlib.sha256(f"{generation.pk}-{index}-{next(_sequence)}".encode()).hexdigest()
    owner_dir = f"w{generation.workspace_id}"
    values: dict[str, Any] = {
        "original": f"{owner_dir}/originals/{digest}.png",
        "format": "png",
        "width": 1024,
        "height": 1024,
        "bytes": 123_456,
        "sha256": digest,
        "thumbnail_small": f"{owner_dir}/thumbnails/{digest[:32]}-s.webp",
        "thumbnail_large": f"{owner_dir}/thumbnails/{digest[:32]}-l.webp",
        **fields,
    }
    return Image.objects.create(
        generation=generation,
        workspace_id=generation.workspace_id,
        created_by_id=generation.created_by_id,
        index=index,
        is_favorite=is_favorite,
        created_at=created_at or generation.created_at,
        **values,
    )


def trash_generation(generation: Generation) -> None:
    """Trash a generation the way the app does: it and its images get deleted_at."""
    now = timezone.now()
    Generation.objects.filter(pk=generation.pk).update(deleted_at=now)
    Image.objects.filter(generation=generation).update(deleted_at=now)
    generation.refresh_from_db()


def trash_image(image: Image) -> None:
    image.deleted_at = timezone.now()
    Image.objects.filter(pk=image.pk).update(deleted_at=image.deleted_at)
