from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from gallery.models import Generation, Workspace
from gallery.services import budgets, catalog, generations, workspaces
from gallery.services.generations import GenerationParams
from tests.factories import make_generation, make_team


def demo(n: int = 1, **fields) -> GenerationParams:
    return GenerationParams(model="demo", prompt="a fox", n=n, size="960x960", **fields)


@pytest.fixture
def priced_demo(models_file):
    models_file([{"id": "demo", "prices": {"960x960/high": 0.5, "*": 0.3}}, {"id": "gpt-image-1"}])


def test_prices_come_from_the_catalog_and_a_models_file_overrides_them(models_file):
    gpt = catalog.get_model("gpt-image-1")
    assert gpt.price_per_image(size="1024x1024", quality="high") == Decimal("0.167")
    assert gpt.price_per_image(size="1536x1024", quality="low") == Decimal("0.016")
    assert gpt.price_per_image(size="auto", quality="auto") == Decimal("0.25")
    assert catalog.get_model("demo").price_per_image(size="960x960") == 0
    models_file([{"id": "gpt-image-1", "prices": {"1024x1024": 1, "hd": 2.5}}])
    gpt = catalog.get_model("gpt-image-1")
    assert gpt.price_per_image(size="1024x1024", quality="high") == 1
    assert gpt.price_per_image(size="auto", quality="hd") == Decimal("2.5")
    assert gpt.price_per_image(size="auto", quality="low") == 0
    assert gpt.qualities == ("low", "medium", "high", "auto")  # the rest stays built in


@pytest.mark.parametrize("prices", [[1], {"*": "1"}, {"*": True}, {"*": -1}])
def test_a_models_file_with_bad_prices_is_refused(models_file, prices):
    models_file([{"id": "demo", "prices": prices}])
    with pytest.raises(ImproperlyConfigured, match="prices"):
        catalog.all_models()


def test_the_estimate_is_n_times_the_price(priced_demo):
    assert budgets.estimate_cost(demo(n=3)) == Decimal("0.9")
    assert budgets.estimate_cost(demo(n=2, quality="high")) == Decimal("1.0")


@pytest.mark.django_db
def test_a_generation_keeps_its_estimate(priced_demo, membership):
    generation, _ = generations.create_generation(
        membership=membership, params=demo(n=2), idempotency_key="k"
    )
    assert Generation.objects.get(pk=generation.pk).estimated_cost == Decimal("0.6")


@pytest.mark.django_db
def test_the_workspace_budget_refuses_what_would_pass_it_and_says_what_is_left(
    priced_demo, membership
):
    Workspace.objects.filter(pk=membership.workspace_id).update(monthly_budget=Decimal("1.00"))
    generations.create_generation(membership=membership, params=demo(n=2), idempotency_key="a")
    with pytest.raises(budgets.LimitReached, match=r"\$0\.40 of \$1\.00 is left.*\$0\.60"):
        generations.create_generation(membership=membership, params=demo(n=2), idempotency_key="b")
    assert Generation.objects.count() == 1
    # The same key again is the first generation, never refused.
    _, created = generations.create_generation(
        membership=membership, params=demo(n=2), idempotency_key="a"
    )
    assert not created
    # Failed and canceled generations give their spend back.
    Generation.objects.update(status=Generation.Status.FAILED)
    generations.create_generation(membership=membership, params=demo(n=3), idempotency_key="c")


@pytest.mark.django_db
def test_member_limits_count_only_the_member_and_their_own_limits_win(
    priced_demo, user, other_user
):
    team = make_team(members={user: "owner", other_user: "editor"})
    Workspace.objects.filter(pk=team.pk).update(member_monthly_images=3)
    mine, theirs = team.memberships.get(user=user), team.memberships.get(user=other_user)
    generations.create_generation(membership=mine, params=demo(n=3), idempotency_key="a")
    with pytest.raises(budgets.LimitReached, match="limit of 3 images: 0 left"):
        generations.create_generation(membership=mine, params=demo(n=1), idempotency_key="b")
    generations.create_generation(membership=theirs, params=demo(n=3), idempotency_key="c")
    theirs.monthly_images, theirs.monthly_cost = 10, Decimal("1.00")
    theirs.save()
    with pytest.raises(budgets.LimitReached, match=r"limit of \$1\.00: \$0\.10 is left"):
        generations.create_generation(membership=theirs, params=demo(n=1), idempotency_key="d")


@pytest.mark.django_db
def test_the_rate_limit_counts_the_last_minute(membership):
    Workspace.objects.filter(pk=membership.workspace_id).update(member_per_minute=2)
    for key in "ab":
        generations.create_generation(membership=membership, params=demo(), idempotency_key=key)
    with pytest.raises(budgets.LimitReached, match="2 generations a minute"):
        generations.create_generation(membership=membership, params=demo(), idempotency_key="c")
    from datetime import timedelta

    from django.utils import timezone

    Generation.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    generations.create_generation(membership=membership, params=demo(), idempotency_key="c")


@pytest.mark.django_db
def test_last_month_does_not_count(priced_demo, user, membership):
    from datetime import timedelta

    Workspace.objects.filter(pk=membership.workspace_id).update(monthly_budget=Decimal("1"))
    make_generation(
        created_by=user,
        estimated_cost=Decimal("5"),
        created_at=budgets.month_start() - timedelta(seconds=1),
    )
    generations.create_generation(membership=membership, params=demo(n=3), idempotency_key="a")


@pytest.mark.django_db
def test_the_report_shows_spend_per_member_in_two_queries(
    priced_demo, user, other_user, django_assert_num_queries
):
    team = make_team(members={user: "owner", other_user: "editor"})
    Workspace.objects.filter(pk=team.pk).update(monthly_budget=Decimal("10"))
    mine = team.memberships.get(user=user)
    generations.create_generation(membership=mine, params=demo(n=2), idempotency_key="a")
    mine = team.memberships.select_related("workspace").get(user=user)
    with django_assert_num_queries(2):
        report = budgets.budget_report(membership=mine)
    assert (report.spent, report.budget, report.left, report.percent) == (
        Decimal("0.6"),
        Decimal("10"),
        Decimal("9.4"),
        6,
    )
    by_user = {row.membership.user_id: (row.images, row.cost) for row in report.members}
    assert by_user == {user.pk: (2, Decimal("0.6")), other_user.pk: (0, 0)}


SUBMITTERS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_never_overspend(priced_demo, user, other_user):
    """SUBMITTERS threads, each with its own database connection, submit at once (a barrier
    lets them go together) into a workspace whose budget holds exactly 3 of them: exactly 3
    are created, the rest refused. Without the lock in create_generation, every thread reads
    the same spend (0) before any inserts, and PostgreSQL lets all of them through."""
    team = make_team(members={user: "owner", other_user: "editor"})
    Workspace.objects.filter(pk=team.pk).update(monthly_budget=Decimal("1.00"))
    members = [team.memberships.get(user=user), team.memberships.get(user=other_user)]
    barrier = threading.Barrier(SUBMITTERS)
    outcomes: list[str] = []

    def submit(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            generations.create_generation(
                membership=members[number % 2], params=demo(), idempotency_key=f"race-{number}"
            )
            outcomes.append("created")
        except budgets.LimitReached:
            outcomes.append("refused")
        except Exception as error:
            outcomes.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(SUBMITTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["created"] * 3 + ["refused"] * (SUBMITTERS - 3)
    spent = budgets.budget_report(membership=members[0]).spent
    assert spent == Decimal("0.9")
    assert Generation.objects.filter(workspace=team).count() == 3


def test_personal_workspaces_start_without_limits(db, user):
    workspace = workspaces.personal_membership(user=user).workspace
    assert (workspace.monthly_budget, workspace.member_per_minute) == (None, None)
