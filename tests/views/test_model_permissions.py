"""Model permissions: an admin restricts which catalog models a role may use."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery import policy
from gallery.models import Generation, Membership, Workspace
from tests.factories import make_generation, make_team

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def two_models(models_file):
    models_file([{"id": "demo"}, {"id": "sketch", "demo": True, "sizes": ["512x512"]}])


@pytest.fixture
def team(user, other_user, two_models):
    team = make_team(members={user: "admin", other_user: "editor"})
    Workspace.objects.filter(pk=team.pk).update(model_rules={"editor": ["sketch"]})
    return Workspace.objects.get(pk=team.pk)


def member(team, user) -> Membership:
    return Membership.objects.select_related("workspace").get(workspace=team, user=user)


def test_the_policy_lists_the_models_a_role_may_use(team, user, other_user):
    assert [spec.id for spec in policy.allowed_models(member(team, user))] == ["demo", "sketch"]
    assert [spec.id for spec in policy.allowed_models(member(team, other_user))] == ["sketch"]
    assert policy.may_use_model(member(team, user), "demo")
    assert not policy.may_use_model(member(team, other_user), "demo")
    assert policy.allowed_models(None) == []


def test_the_form_offers_only_allowed_models_and_the_server_refuses_others(
    client, team, other_user
):
    client.force_login(other_user)
    page = client.get(reverse("gallery:index", args=[team.slug])).content.decode()
    assert '<option value="sketch"' in page
    assert '<option value="demo"' not in page.split('id="generate-form"')[1].split("</select>")[0]
    data = {"model": "demo", "prompt": "a fox", "n": "1", "idempotency_key": "k"}
    response = client.post(reverse("gallery:generate", args=[team.slug]), data)
    assert response.status_code == 200
    assert "your role in this workspace may not use it" in response.content.decode()
    response = client.post(reverse("gallery:generate", args=[team.slug]), data, **HTMX)
    assert response["HX-Retarget"] == "#generate-form"
    assert not Generation.objects.exists()
    data["model"], data["size"] = "sketch", "512x512"
    assert client.post(reverse("gallery:generate", args=[team.slug]), data).status_code == 302


def test_a_rerun_with_a_model_the_role_may_not_use_is_refused(client, team, user, other_user):
    source = make_generation(created_by=user, workspace=team, model="demo", size="960x960")
    client.force_login(other_user)
    response = client.post(reverse("gallery:generation_rerun", args=[source.pk]), follow=True)
    assert "may not use demo in this workspace" in response.content.decode()
    assert Generation.objects.count() == 1


def test_an_admin_restricts_a_role_on_the_budget_page(client, team, user):
    client.force_login(user)
    url = reverse("gallery:budget", args=[team.slug])
    page = client.get(url).content.decode()
    assert 'name="models_editor"' in page
    assert 'name="models_viewer"' not in page  # viewers cannot generate at all
    response = client.post(
        url,
        {
            "models_editor": ["demo", "sketch"],
            "models_admin": ["demo"],
            "models_owner": ["demo", "sketch"],
        },
    )
    assert response.status_code == 302
    assert Workspace.objects.get(pk=team.pk).model_rules == {"admin": ["demo"]}
