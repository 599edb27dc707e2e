from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from gallery.models import Membership, Role
from gallery.services import workspaces
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SIGNUP = {"username": "grace", "password1": "a-long-unusual-pass-42"}
SIGNUP["password2"] = SIGNUP["password1"]


@pytest.fixture
def team(user):
    return workspaces.create_team_workspace(user=user, name="Studio")


def test_home_opens_the_workspace_last_used(user_client, team):
    assert user_client.get(reverse("gallery:home"))["Location"] == "/w/ada/"
    user_client.get(reverse("gallery:index", args=["studio"]))
    assert user_client.get(reverse("gallery:home"))["Location"] == "/w/studio/"


def test_the_header_switches_between_the_user_s_workspaces(user_client, team):
    content = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    assert 'href="/w/studio/"' in content
    assert reverse("gallery:workspace_create") in content


def test_a_team_gallery_filters_by_who_made_it(user_client, user, other_user, team):
    from tests.factories import make_generation

    workspaces.add_member(workspace=team.workspace, username="mallory", role=Role.EDITOR)
    make_generation(created_by=user, workspace=team.workspace, prompt="ada's fox", n_images=1)
    make_generation(
        created_by=other_user, workspace=team.workspace, prompt="mallory's whale", n_images=1
    )
    url = reverse("gallery:index", args=["studio"])
    content = user_client.get(url, {"by": other_user.pk}).content.decode()
    assert "mallory&#x27;s whale" in content
    assert "ada&#x27;s fox" not in content
    usage = user_client.get(reverse("gallery:usage", args=["studio"])).content.decode()
    assert f"?by={other_user.pk}" in usage


@pytest.mark.parametrize(("mode", "status"), [("closed", 403), ("invite", 403), ("open", 302)])
def test_signup_modes(client, settings, mode, status):
    settings.ATELIER_SIGNUP = mode
    response = client.post(reverse("signup"), SIGNUP)
    assert response.status_code == status
    assert get_user_model().objects.filter(username="grace").exists() == (status == 302)


def test_invite_mode_signs_up_through_a_valid_link_and_joins(client, settings, team):
    settings.ATELIER_SIGNUP = "invite"
    invitation, token = workspaces.create_invitation(
        membership=team, role=Role.REVIEWER, days=7, max_uses=1
    )
    page = client.get(reverse("gallery:invitation", args=[invitation.pk, token]))
    assert "Studio" in page.content.decode()
    assert "reviewer" in page.content.decode()
    signup_url = f"{reverse('signup')}?invite={invitation.pk}.{token}"
    assert signup_url in page.content.decode()
    response = client.post(signup_url, SIGNUP)
    assert response["Location"] == "/w/studio/"
    assert Membership.objects.get(user__username="grace", workspace=team.workspace).role == (
        Role.REVIEWER
    )
    # Used up: the same link signs nobody else up.
    client.logout()
    other = {**SIGNUP, "username": "heidi"}
    assert client.post(signup_url, other).status_code == 403


def test_a_wrong_token_is_a_404(client, team):
    invitation, token = workspaces.create_invitation(
        membership=team, role=Role.VIEWER, days=7, max_uses=1
    )
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(reverse("gallery:invitation", args=[invitation.pk, wrong])).status_code == 404


def test_members_and_invitation_pages_make_a_fixed_number_of_queries(
    user_client, team, password, django_assert_num_queries
):
    invitation_url = reverse("gallery:invitation_create", args=["studio"])
    members_url = reverse("gallery:members", args=["studio"])
    user_client.get(members_url)  # the session remembers the workspace

    def count(url, method="get", data=None):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = getattr(user_client, method)(url, data or {})
        assert response.status_code == 200
        return len(queries)

    few = count(members_url)
    for number in range(15):
        user = make_user(f"member{number}", password)
        Membership.objects.create(workspace=team.workspace, user=user, role=Role.VIEWER)
        workspaces.create_invitation(membership=team, role=Role.VIEWER, days=7, max_uses=2)
    many = count(members_url)
    assert few == many
    # session, user, membership, members, invitations, the header's workspaces
    with django_assert_num_queries(6):
        user_client.get(members_url)
    # the same, and the invitation's INSERT
    with django_assert_num_queries(7):
        user_client.post(invitation_url, {"role": "viewer", "days": "7", "max_uses": "1"})
