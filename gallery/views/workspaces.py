"""Workspaces: "/" opens the last one, making a team, its members, invitations, and what only
its owner may do (rename, transfer, delete). Every page works without JavaScript."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gallery import policy
from gallery.models import Invitation, Membership, Role
from gallery.services import workspaces
from gallery.views.access import SESSION_WORKSPACE, member_view
from gallery.views.htmx import HtmxHttpRequest


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    membership = workspaces.current_membership(
        user=request.user, slug=request.session.get(SESSION_WORKSPACE)
    )
    return redirect("gallery:index", slug=membership.workspace.slug)


@require_http_methods(["GET", "POST"])
def workspace_create(request: HtmxHttpRequest) -> HttpResponse:
    """A new team workspace, owned by whoever makes it."""
    error = ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:80]
        if name:
            membership = workspaces.create_team_workspace(user=request.user, name=name)
            messages.success(
                request,
                _("%(workspace)s is ready: invite people from its members page.")
                % {"workspace": name},
            )
            return redirect("gallery:members", slug=membership.workspace.slug)
        error = _("A workspace needs a name.")
    return render(request, "gallery/workspace_new.html", {"error": error})


def members_context(membership: Membership, **extra: Any) -> dict[str, Any]:
    members = list(
        Membership.objects.filter(workspace_id=membership.workspace_id)
        .select_related("user")
        .order_by("user__username")
    )
    manages = policy.can(membership, policy.Action.MANAGE_MEMBERS)
    return {
        "members": [
            {"membership": member, "manageable": policy.can_manage_member(membership, member)}
            for member in members
        ],
        "invitations": list(membership.workspace.invitations.usable()) if manages else [],
        "assignable_roles": policy.assignable_roles(membership),
        "invitation_days": workspaces.INVITATION_DAYS,
        "roles": Role.choices,
        **extra,
    }


@member_view(policy.Action.VIEW)
@require_GET
def members(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    return render(request, "gallery/members.html", members_context(membership))


def _back_to_members(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    return redirect("gallery:members", slug=membership.workspace.slug)


def _refused(request: HtmxHttpRequest, membership: Membership, error: Exception) -> HttpResponse:
    messages.error(request, str(error))
    return _back_to_members(request, membership)


@member_view(policy.Action.MANAGE_MEMBERS)
@require_POST
def member_add(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    role = request.POST.get("role", "")
    if role not in policy.assignable_roles(membership):
        return _refused(request, membership, workspaces.WorkspaceError(_("Choose a role.")))
    try:
        added = workspaces.add_member(
            workspace=membership.workspace, username=request.POST.get("username", ""), role=role
        )
    except workspaces.WorkspaceError as error:
        return _refused(request, membership, error)
    messages.success(
        request,
        _("%(username)s is a member now (%(role)s).")
        % {"username": added.user.get_username(), "role": Role(added.role).label},
    )
    return _back_to_members(request, membership)


def _target(membership: Membership, member_id: int) -> Membership:
    """Another member of the same workspace whom this member may manage: 404 for an id of
    another workspace, 403 for a member above the actor's role."""
    target = get_object_or_404(
        Membership.objects.select_related("user", "workspace"),
        pk=member_id,
        workspace_id=membership.workspace_id,
    )
    if not policy.can_manage_member(membership, target):
        raise PermissionDenied(_("Admins manage members up to their own role."))
    return target


@member_view(policy.Action.MANAGE_MEMBERS)
@require_POST
def member_role(request: HtmxHttpRequest, membership: Membership, member_id: int) -> HttpResponse:
    target = _target(membership, member_id)
    role = request.POST.get("role", "")
    if role not in policy.assignable_roles(membership):
        return _refused(request, membership, workspaces.WorkspaceError(_("Choose a role.")))
    try:
        workspaces.change_role(member=target, role=role)
    except workspaces.WorkspaceError as error:
        return _refused(request, membership, error)
    messages.success(
        request,
        _("%(username)s is %(role)s now.")
        % {"username": target.user.get_username(), "role": Role(target.role).label},
    )
    return _back_to_members(request, membership)


@member_view(policy.Action.MANAGE_MEMBERS)
@require_POST
def member_remove(request: HtmxHttpRequest, membership: Membership, member_id: int) -> HttpResponse:
    target = _target(membership, member_id)
    try:
        workspaces.remove_member(member=target)
    except workspaces.WorkspaceError as error:
        return _refused(request, membership, error)
    if target.user_id == membership.user_id:
        return redirect("gallery:home")
    messages.success(
        request,
        _("%(username)s was removed; what they made stays here.")
        % {"username": target.user.get_username()},
    )
    return _back_to_members(request, membership)


@member_view(policy.Action.LEAVE)
@require_POST
def workspace_leave(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    try:
        workspaces.remove_member(member=membership)
    except workspaces.WorkspaceError as error:
        return _refused(request, membership, error)
    request.session.pop(SESSION_WORKSPACE, None)
    messages.success(
        request, _("You left %(workspace)s.") % {"workspace": membership.workspace.name}
    )
    return redirect("gallery:home")


@member_view(policy.Action.MANAGE_MEMBERS)
@require_POST
def invitation_create(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    """Make an invite link and show it once, in this response (it is never stored)."""
    role = request.POST.get("role", "")
    days, uses = request.POST.get("days", "7"), request.POST.get("max_uses", "1")
    if role not in policy.assignable_roles(membership) or not days.isdigit() or not uses.isdigit():
        return _refused(request, membership, workspaces.WorkspaceError(_("Choose a role.")))
    try:
        invitation, token = workspaces.create_invitation(
            membership=membership, role=role, days=int(days), max_uses=int(uses)
        )
    except workspaces.WorkspaceError as error:
        return _refused(request, membership, error)
    link = request.build_absolute_uri(
        reverse("gallery:invitation", kwargs={"pk": invitation.pk, "token": token})
    )
    context = members_context(membership, new_invitation=invitation, new_link=link)
    return render(request, "gallery/members.html", context)


@member_view(policy.Action.MANAGE_MEMBERS)
@require_POST
def invitation_revoke(
    request: HtmxHttpRequest, membership: Membership, invitation_id: int
) -> HttpResponse:
    invitation = get_object_or_404(
        Invitation.objects.filter(workspace_id=membership.workspace_id), pk=invitation_id
    )
    workspaces.revoke_invitation(invitation=invitation)
    messages.success(request, _("The invitation link no longer works."))
    return _back_to_members(request, membership)


@member_view(policy.Action.RENAME_WORKSPACE)
@require_POST
def workspace_rename(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    try:
        workspaces.rename_workspace(
            workspace=membership.workspace, name=request.POST.get("name", "")
        )
    except workspaces.WorkspaceError as error:
        return _refused(request, membership, error)
    messages.success(request, _("Renamed."))
    return _back_to_members(request, membership)


@member_view(policy.Action.TRANSFER_OWNERSHIP)
@require_POST
def workspace_transfer(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    member_id = request.POST.get("member", "")
    to = (
        Membership.objects.filter(workspace_id=membership.workspace_id, pk=member_id).first()
        if member_id.isdigit()
        else None
    )
    try:
        if to is None:
            raise workspaces.WorkspaceError(_("Choose the member who becomes owner."))
        workspaces.transfer_ownership(owner=membership, to=to)
    except workspaces.WorkspaceError as error:
        return _refused(request, membership, error)
    messages.success(request, _("Ownership transferred: you are an admin of this workspace now."))
    return _back_to_members(request, membership)


@member_view(policy.Action.DELETE_WORKSPACE)
@require_POST
def workspace_delete(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    try:
        workspaces.delete_workspace(workspace=membership.workspace)
    except workspaces.WorkspaceError as error:
        return _refused(request, membership, error)
    request.session.pop(SESSION_WORKSPACE, None)
    messages.success(
        request, _("%(workspace)s was deleted.") % {"workspace": membership.workspace.name}
    )
    return redirect("gallery:home")


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation(request: HtmxHttpRequest, pk: int, token: str) -> HttpResponse:
    """The accept page: which workspace, which role; joining takes a POST by a logged-in user.
    A wrong, expired, used-up or revoked link is a 404 alike."""
    found = workspaces.find_invitation(invitation_id=pk, token=token)
    if found is None:
        raise Http404(_("This invitation link does not work (wrong, expired, used up or revoked)."))
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?next={request.path}")
        try:
            membership = workspaces.accept_invitation(invitation=found, user=request.user)
        except workspaces.WorkspaceError as error:
            raise Http404(str(error)) from error
        messages.success(
            request,
            _("Welcome to %(workspace)s (%(role)s).")
            % {"workspace": found.workspace.name, "role": Role(membership.role).label},
        )
        return redirect("gallery:index", slug=found.workspace.slug)
    return render(
        request,
        "gallery/invitation.html",
        {"invitation": found, "signup_mode": settings.ATELIER_SIGNUP},
    )
