"""Budgets in the pages: the refusal in the generate form, /usage/, the budget settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from gallery.models import Generation, Membership, Workspace
from tests.factories import make_team

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def priced_demo(models_file):
    models_file([{"id": "demo", "prices": {"*": 0.3}}])


def submit(client, slug="ada", key="k", n="2", **headers):
    data = {"model": "demo", "prompt": "a fox", "n": n, "size": "960x960", "idempotency_key": key}
    return client.post(reverse("gallery:generate", args=[slug]), data, **headers)


def test_a_submit_past_the_budget_is_refused_in_the_form(user_client, workspace):
    Workspace.objects.filter(pk=workspace.pk).update(monthly_budget=Decimal("1"))
    assert submit(user_client, key="a").status_code == 302
    response = submit(user_client, key="b")
    assert response.status_code == 200
    content = response.content.decode()
    assert "$0.40 of $1.00 is left" in content
    assert "a fox</textarea>" in content  # what was typed stays
    assert Generation.objects.count() == 1


def test_the_refusal_swaps_the_form_under_htmx(user_client, workspace):
    Workspace.objects.filter(pk=workspace.pk).update(member_monthly_images=1)
    response = submit(user_client, n="2", **HTMX)
    assert response["HX-Retarget"] == "#generate-form"
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="generate-form"')
    assert "limit of 1 images: 1 left, and this asks for 2" in content


def test_a_rerun_past_the_rate_limit_says_so(user_client, workspace):
    Workspace.objects.filter(pk=workspace.pk).update(member_per_minute=1)
    submit(user_client, key="a", n="1")
    source = Generation.objects.get()
    response = user_client.post(reverse("gallery:generation_rerun", args=[source.pk]), follow=True)
    assert "1 generation a minute" in response.content.decode()
    assert Generation.objects.count() == 1


def test_usage_shows_spend_against_the_budget_per_member(client, user, other_user):
    team = make_team(members={user: "owner", other_user: "viewer"})
    Workspace.objects.filter(pk=team.pk).update(monthly_budget=Decimal("3"))
    client.force_login(user)
    submit(client, slug=team.slug, n="5")
    client.force_login(other_user)
    content = client.get(reverse("gallery:usage", args=[team.slug])).content.decode()
    assert "$1.50</strong> of $3.00 ($1.50 left)" in content
    assert "mallory" in content
    assert reverse("gallery:budget", args=[team.slug]) not in content  # a viewer cannot edit


def test_an_admin_edits_the_budget_and_each_member_s_limits(client, user, other_user):
    team = make_team(members={user: "admin", other_user: "editor"})
    theirs = Membership.objects.get(workspace=team, user=other_user)
    client.force_login(user)
    url = reverse("gallery:budget", args=[team.slug])
    page = client.get(url).content.decode()
    assert f'name="member-{theirs.pk}-monthly_images"' in page
    response = client.post(
        url,
        {
            "monthly_budget": "25.50",
            "member_monthly_images": "100",
            "member_per_minute": "6",
            f"member-{theirs.pk}-monthly_cost": "4",
        },
    )
    assert response["Location"] == url
    team.refresh_from_db()
    theirs.refresh_from_db()
    assert (team.monthly_budget, team.member_monthly_images, team.member_per_minute) == (
        Decimal("25.50"),
        100,
        6,
    )
    assert (theirs.monthly_images, theirs.monthly_cost) == (None, Decimal("4"))
    response = client.post(url, {"monthly_budget": "-1"})
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()


def test_the_usage_page_costs_the_same_queries_for_many_members(client, user, password):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    team = make_team(members={user: "owner"})
    client.force_login(user)
    url = reverse("gallery:usage", args=[team.slug])
    client.get(url)

    def queries_with(members):
        for number in range(members):
            member = get_user_model().objects.create_user(f"m{members}-{number}", password=password)
            Membership.objects.create(workspace=team, user=member, role="editor")
        submit(client, slug=team.slug, key=f"k{members}")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    assert queries_with(1) == queries_with(20)
