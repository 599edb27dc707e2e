"""Budgets: what a generation is estimated to cost, and whether a workspace and a member may
still spend it this month (and start another generation this minute).

Spend is counted from the generations themselves (Generation.estimated_cost and n, fixed when
asked), per calendar month in the current time zone; failed and canceled generations give their
spend back, as nothing was billed for them. Rate limits count every generation asked.

Never overspending under concurrency: gallery.services.generations.create_generation calls
`reserve` inside its transaction, after locking the member's row and the workspace's
(SELECT ... FOR UPDATE on PostgreSQL; on SQLite every write transaction is IMMEDIATE, which
serialises writers). Two submits of one workspace therefore check and insert one after the
other: the second sees the first's row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gallery import policy
from gallery.models import Generation, Membership, Workspace
from gallery.services import catalog

if TYPE_CHECKING:
    from gallery.services.generations import GenerationParams

RATE_WINDOW = dt.timedelta(minutes=1)
NOT_BILLED = (Generation.Status.FAILED, Generation.Status.CANCELED)
ZERO = Decimal(0)


class LimitReached(Exception):
    """A submit that would pass a limit (or use a model the member's role may not); str() says
    which, and what is left."""


def estimate_cost(params: GenerationParams) -> Decimal:
    """n images at the catalog's price for the model, size and quality (0 for an unknown
    model: the form refuses those before this)."""
    try:
        spec = catalog.get_model(params.model)
    except catalog.UnknownModel:
        return ZERO
    return spec.price_per_image(size=params.size, quality=params.quality) * params.n


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def money(amount: Decimal) -> str:
    """US dollars as the page's language writes numbers: "$1,234.50"."""
    return "$" + number_format(amount.quantize(Decimal("0.01")), 2, force_grouping=True)


@dataclass(frozen=True)
class Spend:
    workspace_cost: Decimal
    member_cost: Decimal
    member_images: int
    member_recent: int  # generations the member asked in the last RATE_WINDOW


def spend(*, membership: Membership, now: dt.datetime | None = None) -> Spend:
    """This month's spend of the workspace and of the member, and the member's last minute (one
    query, over the (workspace, created_at) index)."""
    now = now or timezone.now()
    billed = ~Q(status__in=NOT_BILLED)
    mine = Q(created_by_id=membership.user_id)
    row = (
        Generation.objects.filter(
            workspace_id=membership.workspace_id, created_at__gte=month_start(now)
        )
        .order_by()
        .aggregate(
            workspace_cost=Coalesce(Sum("estimated_cost", filter=billed), ZERO),
            member_cost=Coalesce(Sum("estimated_cost", filter=billed & mine), ZERO),
            member_images=Coalesce(Sum("n", filter=billed & mine), 0),
            member_recent=Count("pk", filter=mine & Q(created_at__gte=now - RATE_WINDOW)),
        )
    )
    return Spend(**row)


def reserve(*, membership: Membership, params: GenerationParams) -> Decimal:
    """Lock the member's and the workspace's rows, then check every limit against this
    month's spend (and the last minute); return the generation's estimated cost, or raise
    LimitReached saying what is left. Call it inside the transaction that creates the row."""
    # Locks both rows (a join FOR UPDATE locks every table's row on PostgreSQL).
    locked = (
        Membership.objects.select_for_update()
        .select_related("workspace")
        .get(workspace_id=membership.workspace_id, user_id=membership.user_id)
    )
    workspace: Workspace = locked.workspace
    if not policy.may_use_model(locked, params.model):
        raise LimitReached(
            _(
                "Your role (%(role)s) may not use %(model)s in this workspace: pick another "
                "model, or ask an admin."
            )
            % {"role": locked.get_role_display().lower(), "model": params.model}
        )
    cost = estimate_cost(params)
    now = timezone.now()
    used = spend(membership=membership, now=now)

    if (
        workspace.member_per_minute is not None
        and used.member_recent >= workspace.member_per_minute
    ):
        raise LimitReached(
            ngettext(
                "You may start %(count)s generation a minute in this workspace: wait a moment "
                "and try again.",
                "You may start %(count)s generations a minute in this workspace: wait a moment "
                "and try again.",
                workspace.member_per_minute,
            )
            % {"count": workspace.member_per_minute}
        )
    if (
        workspace.monthly_budget is not None
        and used.workspace_cost + cost > workspace.monthly_budget
    ):
        left = max(workspace.monthly_budget - used.workspace_cost, ZERO)
        raise LimitReached(
            _(
                "This would pass the workspace's monthly budget: %(left)s of %(budget)s is "
                "left, and this asks for about %(cost)s."
            )
            % {"left": money(left), "budget": money(workspace.monthly_budget), "cost": money(cost)}
        )
    image_limit = _first_set(locked.monthly_images, workspace.member_monthly_images)
    if image_limit is not None and used.member_images + params.n > image_limit:
        left = max(image_limit - used.member_images, 0)
        raise LimitReached(
            _(
                "This would pass your monthly limit of %(limit)s images: %(left)s left, and "
                "this asks for %(count)s."
            )
            % {"limit": intcomma(image_limit), "left": intcomma(left), "count": params.n}
        )
    cost_limit = _first_set(locked.monthly_cost, workspace.member_monthly_cost)
    if cost_limit is not None and used.member_cost + cost > cost_limit:
        left = max(cost_limit - used.member_cost, ZERO)
        raise LimitReached(
            _(
                "This would pass your monthly limit of %(limit)s: %(left)s is left, and this "
                "asks for about %(cost)s."
            )
            % {"limit": money(cost_limit), "left": money(left), "cost": money(cost)}
        )
    return cost


def _first_set[T](*values: T | None) -> T | None:
    return next((value for value in values if value is not None), None)


@dataclass(frozen=True)
class MemberSpend:
    membership: Membership
    images: int
    cost: Decimal
    image_limit: int | None
    cost_limit: Decimal | None


@dataclass(frozen=True)
class BudgetReport:
    month: dt.datetime
    workspace: Workspace
    spent: Decimal
    budget: Decimal | None
    members: list[MemberSpend]

    @property
    def left(self) -> Decimal | None:
        return None if self.budget is None else max(self.budget - self.spent, ZERO)

    @property
    def percent(self) -> int:
        if not self.budget:
            return 0
        return min(100, int(self.spent * 100 / self.budget))


def budget_report(*, membership: Membership) -> BudgetReport:
    """This month's spend against the budget, for the workspace and each member (two queries:
    the members, and the spend grouped by who asked)."""
    workspace = membership.workspace
    start = month_start()
    rows = {
        row["created_by_id"]: row
        for row in Generation.objects.filter(workspace=workspace, created_at__gte=start)
        .exclude(status__in=NOT_BILLED)
        .order_by()
        .values("created_by_id")
        .annotate(images=Sum("n"), cost=Sum("estimated_cost"))
    }
    members = [
        MemberSpend(
            membership=member,
            images=rows.get(member.user_id, {}).get("images") or 0,
            cost=rows.get(member.user_id, {}).get("cost") or ZERO,
            image_limit=_first_set(member.monthly_images, workspace.member_monthly_images),
            cost_limit=_first_set(member.monthly_cost, workspace.member_monthly_cost),
        )
        for member in Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__username")
    ]
    return BudgetReport(
        month=start,
        workspace=workspace,
        spent=sum((row["cost"] or ZERO for row in rows.values()), ZERO),
        budget=workspace.monthly_budget,
        members=members,
    )
