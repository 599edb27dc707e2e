"""A workspace's library around the gallery: prompt history, usage, and the trash."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from gallery import policy
from gallery.forms import BudgetForm, MemberLimitForm, ModelRulesForm
from gallery.models import Image, Membership
from gallery.services import browse, budgets, trash
from gallery.views.access import member_view
from gallery.views.htmx import HtmxHttpRequest

TRASH_PER_PAGE = 60


@member_view(policy.Action.VIEW)
@require_GET
@vary_on_headers("HX-Request")
def prompts(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    page = browse.prompt_history(
        membership=membership, query=query, cursor=request.GET.get("cursor"), per_page=30
    )
    context = {
        "page": page,
        "q": query,
        "next_query": urlencode(
            {"q": query, "cursor": page.next_cursor} if query else {"cursor": page.next_cursor}
        ),
    }
    if request.htmx:
        return render(request, "gallery/prompts.html#prompt-results", context)
    return render(request, "gallery/prompts.html", context)


@member_view(policy.Action.VIEW)
@require_GET
def usage(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    days = request.GET.get("days", "30")
    days = int(days) if days.isdigit() and 1 <= int(days) <= 366 else 30
    summary = browse.usage_summary(membership=membership, days=days)
    busiest = max((day.total.images for day in summary.days), default=0)
    context = {
        "summary": summary,
        "days": days,
        "busiest": busiest,
        "budget": budgets.budget_report(membership=membership),
    }
    return render(request, "gallery/usage.html", context)


@member_view(policy.Action.MANAGE_BUDGET)
@require_http_methods(["GET", "POST"])
def budget_settings(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    """The workspace's budget and limits, each member's own limits, and which models each role
    may use, in one form (admins)."""
    workspace = membership.workspace
    members = list(
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__username")
    )
    data = request.POST if request.method == "POST" else None
    form = BudgetForm(data, instance=workspace)
    member_forms = [
        (member, MemberLimitForm(data, instance=member, prefix=f"member-{member.pk}"))
        for member in members
    ]
    rules_form = ModelRulesForm(data, workspace=workspace)
    forms_valid = [form.is_valid(), rules_form.is_valid()] if data is not None else [False]
    if all(forms_valid) and all(member_form.is_valid() for _member, member_form in member_forms):
        with transaction.atomic():
            workspace = form.save(commit=False)
            workspace.model_rules = rules_form.rules()
            workspace.save()
            for _member, member_form in member_forms:
                member_form.save()
        messages.success(request, _("Budget saved."))
        return redirect("gallery:budget", slug=workspace.slug)
    context = {"form": form, "member_forms": member_forms, "rules_form": rules_form}
    return render(request, "gallery/budget.html", context, status=400 if data else 200)


@member_view(policy.Action.VIEW_TRASH)
@require_GET
def trash_page(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    trashed = Image.objects.for_member(membership).filter(deleted_at__isnull=False)
    page = browse.keyset_page(
        trashed.select_related("generation"),
        cursor=request.GET.get("cursor"),
        per_page=TRASH_PER_PAGE,
    )
    return render(request, "gallery/trash.html", {"page": page, "days": trash.TRASH_DAYS})


@member_view(policy.Action.EMPTY_TRASH)
@require_POST
def trash_empty(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    removed = trash.empty_trash(workspace=membership.workspace)
    messages.success(
        request,
        ngettext("Deleted %(count)s image for good.", "Deleted %(count)s images for good.", removed)
        % {"count": removed},
    )
    return redirect("gallery:trash", slug=membership.workspace.slug)
