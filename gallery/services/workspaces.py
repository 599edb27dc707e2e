"""Workspaces and their members: making them, finding the one a user works in, members and
invitations. Whether the acting member may do each of these is gallery.policy's to say (views
ask it first); these functions keep the rules that hold whoever asks: a workspace always has an
owner, a personal workspace is never deleted or left, an invitation is used within its limits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from gallery.models import Invitation, Membership, Role, Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

INVITATION_DAYS = (1, 7, 30)
MAX_INVITATION_USES = 100


class WorkspaceError(Exception):
    """A change the rules refuse; its message is shown to the member as it is."""


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
    for _attempt in range(5):
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


def rename_workspace(*, workspace: Workspace, name: str) -> Workspace:
    """A new name; the slug (and so every link) stays."""
    name = name.strip()[:80]
    if not name:
        raise WorkspaceError(_("A workspace needs a name."))
    workspace.name = name
    workspace.save(update_fields=["name"])
    return workspace


def delete_workspace(*, workspace: Workspace) -> None:
    """Delete a team workspace with everything in it (rows; files go with the trash sweep)."""
    if workspace.is_personal:
        raise WorkspaceError(_("A personal workspace cannot be deleted."))
    workspace.delete()


def add_member(*, workspace: Workspace, username: str, role: Role) -> Membership:
    """Make an existing user (by username) a member with `role`."""
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: username.strip()}).first()
    if user is None:
        raise WorkspaceError(
            _("There is no user called “%(username)s”.") % {"username": username.strip()}
        )
    if workspace.is_personal:
        raise WorkspaceError(_("A personal workspace has no other members: make a team."))
    membership, created = Membership.objects.get_or_create(
        workspace=workspace, user=user, defaults={"role": Role(role)}
    )
    if not created:
        raise WorkspaceError(
            _("%(username)s is a member already.") % {"username": user.get_username()}
        )
    return membership


def _owners_left_without(member: Membership) -> int:
    return (
        Membership.objects.filter(workspace_id=member.workspace_id, role=Role.OWNER)
        .exclude(pk=member.pk)
        .select_for_update()
        .count()
    )


def change_role(*, member: Membership, role: Role) -> Membership:
    """Give `member` another role; the last owner keeps theirs (transfer ownership instead)."""
    role = Role(role)
    with transaction.atomic():
        if member.role == Role.OWNER and role != Role.OWNER and not _owners_left_without(member):
            raise WorkspaceError(_("The last owner stays owner: transfer ownership first."))
        member.role = role
        member.save(update_fields=["role"])
    return member


def remove_member(*, member: Membership) -> None:
    """Take a member out (or let them leave). What they made stays in the workspace."""
    with transaction.atomic():
        if member.workspace.is_personal:
            raise WorkspaceError(_("Nobody leaves their personal workspace."))
        if member.role == Role.OWNER and not _owners_left_without(member):
            raise WorkspaceError(_("The last owner cannot leave: transfer ownership first."))
        member.delete()


def transfer_ownership(*, owner: Membership, to: Membership) -> None:
    """Make `to` an owner and `owner` an admin, together."""
    if to.workspace_id != owner.workspace_id or to.pk == owner.pk:
        raise WorkspaceError(_("Ownership goes to another member of this workspace."))
    if owner.workspace.is_personal:
        raise WorkspaceError(_("A personal workspace stays with its person."))
    with transaction.atomic():
        Membership.objects.filter(pk=to.pk).update(role=Role.OWNER)
        Membership.objects.filter(pk=owner.pk).update(role=Role.ADMIN)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitation(
    *, membership: Membership, role: Role, days: int, max_uses: int
) -> tuple[Invitation, str]:
    """An invitation link's row and its token (256 random bits, shown once; only its hash is
    kept). The role can be no higher than the inviter's."""
    role = Role(role)
    if not Role(membership.role).at_least(role):
        raise WorkspaceError(_("You can invite to your own role at most."))
    if membership.workspace.is_personal:
        raise WorkspaceError(_("A personal workspace has no other members: make a team."))
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace_id=membership.workspace_id,
        role=role,
        token_hash=_token_hash(token),
        created_by_id=membership.user_id,
        expires_at=timezone.now() + timedelta(days=days if days in INVITATION_DAYS else 7),
        max_uses=max(1, min(max_uses, MAX_INVITATION_USES)),
    )
    return invitation, token


def find_invitation(*, invitation_id: int, token: str) -> Invitation | None:
    """The invitation the link names, when its token is right (compared in constant time) and
    it can still be used; None otherwise (the caller answers 404 alike for every reason)."""
    invitation = (
        Invitation.objects.usable().select_related("workspace").filter(pk=invitation_id).first()
    )
    if invitation is None or not hmac.compare_digest(invitation.token_hash, _token_hash(token)):
        return None
    return invitation


def accept_invitation(*, invitation: Invitation, user: AbstractBaseUser) -> Membership:
    """Make `user` a member with the invitation's role, using one of its uses (a conditional
    UPDATE, so two people racing for the last use cannot both get in). Someone who is a member
    already keeps their role and uses nothing."""
    with transaction.atomic():
        existing = Membership.objects.filter(
            workspace_id=invitation.workspace_id, user=user
        ).first()
        if existing is not None:
            return existing
        used = Invitation.objects.usable().filter(pk=invitation.pk).update(uses=F("uses") + 1)
        if not used:
            raise WorkspaceError(_("This invitation has expired or been used up."))
        return Membership.objects.create(
            workspace_id=invitation.workspace_id, user=user, role=invitation.role
        )


def revoke_invitation(*, invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
