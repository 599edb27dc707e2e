"""Generating: the form, the live card of one generation (a row of the gallery's queue tray, or
the card of its own page), cancel, retry, dismiss and its undo."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING, reswap, retarget

from gallery import policy
from gallery.forms import GenerateForm
from gallery.models import Generation, Membership
from gallery.services import budgets, generations, lineage, trash
from gallery.views.access import access_generation, member_view, object_view
from gallery.views.common import generate_form_for
from gallery.views.gallery import index_context
from gallery.views.htmx import HtmxHttpRequest

# A pending card polls again after this many seconds, backing off as the work takes longer.
POLL_DELAYS = ((10, 1), (60, 2), (180, 4))
POLL_DELAY_MAX = 8


def poll_delay(generation: Generation) -> int:
    waited = (timezone.now() - generation.created_at).total_seconds()
    return next((delay for limit, delay in POLL_DELAYS if waited < limit), POLL_DELAY_MAX)


def queue_position(generation: Generation) -> int | None:
    """Where a queued generation stands in its workspace's queue (1: next), else None."""
    if generation.status != Generation.Status.QUEUED:
        return None
    ahead = Generation.objects.filter(
        workspace_id=generation.workspace_id,
        status=Generation.Status.QUEUED,
        deleted_at__isnull=True,
        pk__lt=generation.pk,
    ).count()
    return ahead + 1


def wants_queue_item(request: HtmxHttpRequest, generation: Generation) -> bool:
    """htmx asks for the generation as a row of the queue tray (the gallery), not as a card."""
    return bool(request.htmx) and request.htmx.target == f"queue-item-{generation.pk}"


def render_queue_item(
    request: HtmxHttpRequest, generation: Generation, *, announce: bool = True, **extra: object
) -> HttpResponse:
    return render(
        request,
        "gallery/_queue_item.html",
        {
            "generation": generation,
            "poll_delay": poll_delay(generation),
            "position": queue_position(generation),
            "announce": announce,
            **extra,
        },
    )


@member_view(policy.Action.GENERATE)
@require_http_methods(["GET", "POST"])
def generate(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    if request.method == "GET":
        # The model switch: the form again, with the chosen model's options.
        form = generate_form_for(request, membership, overrides=request.GET)
        if request.htmx:
            return render(request, "gallery/index.html#generate-options", {"form": form})
        return render(request, "gallery/index.html", index_context(request, membership, form=form))

    if "switch_model" in request.POST:
        # The model switch without JavaScript: the same form, with the chosen model's options.
        form = GenerateForm(initial=request.POST.dict(), models=policy.allowed_models(membership))
        form.remix_of = (
            Generation.objects.for_member(membership)
            .filter(pk=form.initial.get("parent") or None)
            .first()
        )
        if request.htmx:
            # Only the form, in its place: never a second copy of the page inside the gallery.
            response = render(request, "gallery/index.html#generate-form", {"form": form})
            return reswap(retarget(response, "#generate-form"), "outerHTML")
        return render(request, "gallery/index.html", index_context(request, membership, form=form))

    form = GenerateForm(request.POST, models=policy.allowed_models(membership))
    parent = None
    if form.is_valid():
        parent_id = form.cleaned_data.get("parent")
        parent = (
            get_object_or_404(Generation.objects.for_member(membership), pk=parent_id)
            if parent_id
            else None
        )
        try:
            generation, created = generations.create_generation(
                membership=membership,
                params=form.params(),
                idempotency_key=form.cleaned_data["idempotency_key"],
                parent=parent,
            )
        except budgets.LimitReached as limit:
            # Refused in the form, what the member typed kept, with what is left.
            form.add_error(None, str(limit))
    if not form.is_valid():
        if request.htmx:
            response = render(request, "gallery/index.html#generate-form", {"form": form})
            return reswap(retarget(response, "#generate-form"), "outerHTML")
        return render(request, "gallery/index.html", index_context(request, membership, form=form))

    if not request.htmx:
        if created:
            messages.success(request, _("Generating… it appears at the top of the gallery."))
        return redirect("gallery:index", slug=membership.workspace.slug)
    # The card goes on top of the list; a fresh form (new idempotency key, same choices) swaps in
    # out of band, so the next submit is a new generation and a double click is not.
    next_initial = {**form.cleaned_data, "parent": None}
    next_initial["idempotency_key"] = generations.new_idempotency_key()
    next_form = GenerateForm(initial=next_initial, models=policy.allowed_models(membership))
    response = render(
        request,
        "gallery/generate_response.html",
        {
            "generation": generation,
            "created": created,
            "form": next_form,
            "position": queue_position(generation),
            "announce": True,
        },
    )
    if not created:
        # A repeated submit: its card is on the page already; only the form is refreshed.
        response = reswap(response, "none")
    return response


@object_view(access_generation, policy.Action.VIEW, queryset=Generation.objects.with_live_images())
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def generation_detail(
    request: HtmxHttpRequest, generation: Generation, membership: Membership
) -> HttpResponse:
    if wants_queue_item(request, generation):
        # Said aloud when it has just finished (the last poll); a poll while it waits is quiet.
        response = render_queue_item(request, generation, announce=generation.is_finished)
        if generation.is_finished:
            response.status_code = HTMX_STOP_POLLING
        return response
    context = {"generation": generation, "poll_delay": poll_delay(generation)}
    if request.htmx:
        response = render(request, "gallery/_generation_card.html", context)
        if generation.is_finished:
            response.status_code = HTMX_STOP_POLLING
        return response
    context["lineage"] = lineage.remix_tree(generation=generation)
    return render(request, "gallery/generation.html", context)


@object_view(access_generation, policy.Action.RETRY)
@require_POST
def generation_cancel(
    request: HtmxHttpRequest, generation: Generation, membership: Membership
) -> HttpResponse:
    canceled = generations.cancel_generation(generation=generation)
    if not canceled and not request.htmx:  # with htmx, the card itself shows what happened
        messages.info(request, _("That generation had already finished."))
    return card_or_redirect(request, generation, membership)


@object_view(access_generation, policy.Action.RETRY)
@require_POST
def generation_retry(
    request: HtmxHttpRequest, generation: Generation, membership: Membership
) -> HttpResponse:
    retried = generations.retry_generation(generation=generation)
    if not retried and not request.htmx:  # with htmx, the card itself shows what happened
        messages.info(request, _("Only a failed or canceled generation can be retried."))
    return card_or_redirect(request, generation, membership)


@object_view(access_generation, policy.Action.TRASH)
@require_POST
def generation_delete(
    request: HtmxHttpRequest, generation: Generation, membership: Membership
) -> HttpResponse:
    trash.trash_generation(generation=generation)
    if wants_queue_item(request, generation):
        # The row says it was dismissed, with its Undo, and leaves the tray a little later.
        return render_queue_item(request, generation, dismissed=True, announce=False)
    if request.htmx:
        return HttpResponse("")  # the card goes away
    messages.success(
        request,
        _("Dismissed."),
        extra_tags=f"undo:{reverse('gallery:generation_restore', args=[generation.pk])}",
    )
    return redirect("gallery:index", slug=membership.workspace.slug)


@object_view(access_generation, policy.Action.RESTORE)
@require_POST
def generation_restore(
    request: HtmxHttpRequest, generation: Generation, membership: Membership
) -> HttpResponse:
    """Undo a dismiss: the generation (and the images trashed with it) come back."""
    trash.restore_generation(generation=generation)
    if wants_queue_item(request, generation):
        generation = (
            Generation.objects.for_member(membership).with_live_images().get(pk=generation.pk)
        )
        return render_queue_item(request, generation, announce=False)
    messages.success(request, _("Restored."))
    return redirect("gallery:index", slug=membership.workspace.slug)


def card_or_redirect(
    request: HtmxHttpRequest, generation: Generation, membership: Membership
) -> HttpResponse:
    if request.htmx:
        generation = (
            Generation.objects.for_member(membership).with_live_images().get(pk=generation.pk)
        )
        if wants_queue_item(request, generation):
            return render_queue_item(request, generation)
        return render(
            request,
            "gallery/_generation_card.html",
            {"generation": generation, "poll_delay": poll_delay(generation)},
        )
    return redirect("gallery:generation", pk=generation.pk)
