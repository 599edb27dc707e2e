from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.models import Generation, Invitation, Membership, Role
from gallery.services import workspaces
from gallery.services.workspaces import WorkspaceError
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(user):
    return workspaces.create_team_workspace(user=user, name="Studio")


def test_a_team_has_its_creator_as_owner_and_a_slug_of_its_own(user, team):
    assert team.role == Role.OWNER
    assert team.workspace.slug == "studio"
    again = workspaces.create_team_workspace(user=user, name="Studio")
    assert again.workspace.slug == "studio-2"


def test_the_last_owner_can_neither_leave_nor_be_demoted(team, other_user):
    with pytest.raises(WorkspaceError, match="last owner"):
        workspaces.remove_member(member=team)
    with pytest.raises(WorkspaceError, match="last owner"):
        workspaces.change_role(member=team, role=Role.ADMIN)
    other = workspaces.add_member(workspace=team.workspace, username="mallory", role=Role.EDITOR)
    workspaces.transfer_ownership(owner=team, to=other)
    assert Membership.objects.get(pk=other.pk).role == Role.OWNER
    team.refresh_from_db()
    assert team.role == Role.ADMIN
    workspaces.remove_member(member=team)  # an admin may leave


def test_removing_a_member_keeps_what_they_made(team, other_user):
    member = workspaces.add_member(workspace=team.workspace, username="mallory", role="editor")
    made = make_generation(created_by=other_user, workspace=team.workspace)
    workspaces.remove_member(member=member)
    assert Generation.objects.get(pk=made.pk).workspace_id == team.workspace_id


def test_a_personal_workspace_is_never_shared_left_or_deleted(membership):
    with pytest.raises(WorkspaceError):
        workspaces.add_member(workspace=membership.workspace, username="ada", role="viewer")
    with pytest.raises(WorkspaceError):
        workspaces.remove_member(member=membership)
    with pytest.raises(WorkspaceError):
        workspaces.delete_workspace(workspace=membership.workspace)


def test_adding_an_unknown_or_existing_member_says_why(team, other_user):
    with pytest.raises(WorkspaceError, match="no user called"):
        workspaces.add_member(workspace=team.workspace, username="nobody", role="viewer")
    workspaces.add_member(workspace=team.workspace, username="mallory", role="viewer")
    with pytest.raises(WorkspaceError, match="member already"):
        workspaces.add_member(workspace=team.workspace, username="mallory", role="viewer")


def test_an_invitation_link_works_for_its_uses_then_not(team, other_user, password):
    from tests.conftest import make_user

    invitation, token = workspaces.create_invitation(
        membership=team, role=Role.REVIEWER, days=7, max_uses=1
    )
    assert len(token) >= 40
    assert invitation.token_hash != token  # only a hash is stored
    assert workspaces.find_invitation(invitation_id=invitation.pk, token=token + "x") is None
    found = workspaces.find_invitation(invitation_id=invitation.pk, token=token)
    joined = workspaces.accept_invitation(invitation=found, user=other_user)
    assert joined.role == Role.REVIEWER
    # A member already: no use taken. Used up: the link no longer works for anyone.
    assert workspaces.accept_invitation(invitation=found, user=other_user) == joined
    assert workspaces.find_invitation(invitation_id=invitation.pk, token=token) is None
    with pytest.raises(WorkspaceError):
        workspaces.accept_invitation(invitation=found, user=make_user("grace", password))


def test_revoked_and_expired_invitations_do_not_work(team):
    revoked, revoked_token = workspaces.create_invitation(
        membership=team, role=Role.VIEWER, days=7, max_uses=5
    )
    workspaces.revoke_invitation(invitation=revoked)
    assert workspaces.find_invitation(invitation_id=revoked.pk, token=revoked_token) is None
    expired, expired_token = workspaces.create_invitation(
        membership=team, role=Role.VIEWER, days=1, max_uses=5
    )
    Invitation.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert workspaces.find_invitation(invitation_id=expired.pk, token=expired_token) is None


def test_an_invitation_gives_no_more_than_the_inviter_s_role(team, other_user):
    admin = workspaces.add_member(workspace=team.workspace, username="mallory", role="admin")
    with pytest.raises(WorkspaceError):
        workspaces.create_invitation(membership=admin, role=Role.OWNER, days=7, max_uses=1)
