"""Workspaces and their members: making them, and finding the one a user works in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from gallery.models import Membership, Role, Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

SLUG_MAX_LENGTH = 50


def _unique_slug(base: str) -> str:
    base = (slugify(base) or "workspace")[:SLUG_MAX_LENGTH].strip("-") or "workspace"
    taken = set(Workspace.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


def _create_workspace(*, name: str, is_personal: bool) -> Workspace:
    # Two sign-ups with one slug can race past _unique_slug: the second tries the next one.
    for _ in range(5):
        try:
            with transaction.atomic():
                return Workspace.objects.create(
                    name=name, slug=_unique_slug(name), is_personal=is_personal
                )
        except IntegrityError:
            continue
    raise IntegrityError(f"Could not find a free slug for {name!r}.")


def create_personal_workspace(*, user: AbstractBaseUser) -> Membership:
    """The user's own workspace, with the user as its owner (made at sign-up)."""
    with transaction.atomic():
        workspace = _create_workspace(name=user.get_username(), is_personal=True)
        return Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)


def personal_membership(*, user: AbstractBaseUser) -> Membership:
    """The user's membership of their personal workspace, made now if they have none (users
    created outside sign-up: createsuperuser, the admin)."""
    membership = (
        Membership.objects.for_user(user)
        .filter(workspace__is_personal=True, role=Role.OWNER)
        .select_related("workspace")
        .order_by("workspace_id")
        .first()
    )
    return membership or create_personal_workspace(user=user)


def create_team_workspace(*, user: AbstractBaseUser, name: str) -> Membership:
    """A new team workspace with `user` as its owner."""
    with transaction.atomic():
        workspace = _create_workspace(name=name, is_personal=False)
        return Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)


def current_membership(*, user: AbstractBaseUser, slug: str | None) -> Membership:
    """The membership the user last worked in (its workspace's slug, remembered by the caller),
    or their personal one when that is gone or was never set."""
    if slug:
        membership = (
            Membership.objects.for_user(user)
            .filter(workspace__slug=slug)
            .select_related("workspace")
            .first()
        )
        if membership is not None:
            return membership
    return personal_membership(user=user)
