"""Who may do what: "may this member do this action (to this object)?", answered in one place.

Views ask it (through gallery.views.access, which also fetches the object), templates ask it
(`{% may membership "trash" image as can_trash %}`, so a button that is not allowed is not
shown), and tests ask it. It reads only the membership (its role, its user) and the object's
`created_by_id`: it never queries the database.

Roles grow in order (models.Role): viewer < reviewer < editor < admin < owner, and each action
names the lowest role that may do it. A few actions on rows depend on who made the row: an
editor may trash, restore, cancel or retry what they made; an admin may do so to anything.

Model permissions (allowed_models, may_use_model) read the workspace's model_rules, loaded with
the membership.

Adding an action: add it to Action, give it a row in MINIMUM_ROLE (and in OWN_ROWS_ROLE when
a lower role may do it to its own rows), and the role matrix test (tests/views/test_security.py)
says which URLs use it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied

from gallery.models import Role
from gallery.services import catalog

if TYPE_CHECKING:
    from gallery.models import Membership
    from gallery.services.catalog import ModelSpec


class Action(StrEnum):
    # Seeing (viewer)
    VIEW = "view"  # the grid, search, an image or generation, prompts, usage
    DOWNLOAD = "download"  # originals, zips
    # Reviewing (reviewer; the review issue adds its actions here)
    REVIEW = "review"
    COMMENT = "comment"  # post a comment on an image (pinned or not), mentioning members
    # Change a comment's words: its author only (no role edits another's words).
    EDIT_COMMENT = "edit_comment"
    MANAGE_COMMENT = "manage_comment"  # delete a comment (own: reviewer; any: admin)
    # Making (editor)
    GENERATE = "generate"  # the form, re-run
    REMIX = "remix"
    FAVORITE = "favorite"
    TRASH = "trash"  # trash or dismiss an image or generation (own rows: editor; any: admin)
    RESTORE = "restore"  # take one out of the trash (same rule as TRASH)
    RETRY = "retry"  # cancel or retry a generation (same rule as TRASH)
    VIEW_TRASH = "view_trash"
    ADD_TO_BOARD = "add_to_board"  # make a board, put images on a board the member sees
    # Rename, cover, take images off, delete a board (own boards: editor; any: admin).
    MANAGE_BOARD = "manage_board"
    # Share links (read-only links for people outside the workspace): an editor may make one
    # to what they can see, as they could download it and send it anyway; revoking is for
    # whoever made the link, and for admins any link. Every member sees the list of live links.
    SHARE = "share"
    MANAGE_SHARE = "manage_share"  # revoke (own links: editor; any: admin)
    # Running the workspace (admin)
    EMPTY_TRASH = "empty_trash"  # delete for good, everyone's
    MANAGE_MEMBERS = "manage_members"  # add, change roles, remove, invite
    MANAGE_BUDGET = "manage_budget"  # the monthly budget, member limits, rate limit
    LEAVE = "leave"  # any member (the last owner is kept by the service, not the policy)
    # Owning it (owner)
    RENAME_WORKSPACE = "rename_workspace"
    DELETE_WORKSPACE = "delete_workspace"
    TRANSFER_OWNERSHIP = "transfer_ownership"


# None: no role may do it to every row; only OWN_ROWS_ROLE lets members do it to their own.
MINIMUM_ROLE: dict[Action, Role | None] = {
    Action.VIEW: Role.VIEWER,
    Action.DOWNLOAD: Role.VIEWER,
    Action.REVIEW: Role.REVIEWER,
    Action.COMMENT: Role.REVIEWER,
    Action.EDIT_COMMENT: None,
    Action.MANAGE_COMMENT: Role.ADMIN,
    Action.GENERATE: Role.EDITOR,
    Action.REMIX: Role.EDITOR,
    Action.FAVORITE: Role.EDITOR,
    Action.TRASH: Role.ADMIN,
    Action.RESTORE: Role.ADMIN,
    Action.RETRY: Role.ADMIN,
    Action.VIEW_TRASH: Role.EDITOR,
    Action.ADD_TO_BOARD: Role.EDITOR,
    Action.MANAGE_BOARD: Role.ADMIN,
    Action.SHARE: Role.EDITOR,
    Action.MANAGE_SHARE: Role.ADMIN,
    Action.EMPTY_TRASH: Role.ADMIN,
    Action.MANAGE_MEMBERS: Role.ADMIN,
    Action.MANAGE_BUDGET: Role.ADMIN,
    Action.LEAVE: Role.VIEWER,
    Action.RENAME_WORKSPACE: Role.OWNER,
    Action.DELETE_WORKSPACE: Role.OWNER,
    Action.TRANSFER_OWNERSHIP: Role.OWNER,
}

# Actions a lower role may do to the rows it made (an object with created_by_id).
OWN_ROWS_ROLE: dict[Action, Role] = {
    Action.TRASH: Role.EDITOR,
    Action.RESTORE: Role.EDITOR,
    Action.RETRY: Role.EDITOR,
    Action.MANAGE_BOARD: Role.EDITOR,
    Action.MANAGE_SHARE: Role.EDITOR,
    Action.EDIT_COMMENT: Role.REVIEWER,
    Action.MANAGE_COMMENT: Role.REVIEWER,
}


def can(membership: Membership | None, action: Action | str, obj: Any = None) -> bool:
    """May this member do `action` (to `obj`, a row of the member's workspace, when given)?

    `obj` must already be known to be in the membership's workspace (the access helpers and
    for_member querysets make sure of that); a None membership (not a member) may do nothing.
    """
    if membership is None:
        return False
    action = Action(action)
    role = Role(membership.role)
    minimum = MINIMUM_ROLE[action]
    if minimum is not None and role.at_least(minimum):
        return True
    own_role = OWN_ROWS_ROLE.get(action)
    return (
        own_role is not None
        and obj is not None
        and role.at_least(own_role)
        and getattr(obj, "created_by_id", None) == membership.user_id
    )


def require(membership: Membership | None, action: Action | str, obj: Any = None) -> None:
    """Raise PermissionDenied (403) unless the member may do `action` (to `obj`)."""
    if not can(membership, action, obj):
        raise PermissionDenied(f"Your role in this workspace does not allow {Action(action)}.")


def allowed_actions(membership: Membership | None, obj: Any = None) -> frozenset[Action]:
    """Every action the member may do (to `obj`): for pages that show many buttons at once."""
    return frozenset(action for action in Action if can(membership, action, obj))


def allowed_models(membership: Membership | None) -> list[ModelSpec]:
    """The catalog models (those available now) the member's role may generate with: all of
    them unless an admin restricted the role (Workspace.model_rules)."""
    models = catalog.available_models()
    if membership is None:
        return []
    rules = membership.workspace.model_rules or {}
    if membership.role not in rules:
        return models
    allowed = set(rules[membership.role])
    return [spec for spec in models if spec.id in allowed]


def may_use_model(membership: Membership | None, model_id: str) -> bool:
    if membership is None:
        return False
    rules = membership.workspace.model_rules or {}
    return membership.role not in rules or model_id in rules[membership.role]


def can_manage_member(membership: Membership | None, target: Membership) -> bool:
    """May this member change the role of, or remove, `target` (another member of the same
    workspace)? Admins manage members up to their own role: an admin cannot demote an owner."""
    return (
        can(membership, Action.MANAGE_MEMBERS)
        and membership.workspace_id == target.workspace_id  # type: ignore[union-attr]
        and Role(membership.role).at_least(Role(target.role))  # type: ignore[union-attr]
    )


def assignable_roles(membership: Membership | None) -> list[Role]:
    """The roles this member may give others: up to their own, owner only by an owner (and
    ownership moves through a transfer, so an admin cannot make another admin an owner)."""
    if not can(membership, Action.MANAGE_MEMBERS):
        return []
    role = Role(membership.role)  # type: ignore[union-attr]
    return [candidate for candidate in Role if role.at_least(candidate)]
