"""What several views share: the generate form's starting values."""

from __future__ import annotations

from collections.abc import Mapping

from gallery import policy
from gallery.forms import GenerateForm, initial_from_generation
from gallery.models import Generation, Membership
from gallery.views.htmx import HtmxHttpRequest


def generate_form_for(
    request: HtmxHttpRequest,
    membership: Membership,
    *,
    overrides: Mapping[str, str] | None = None,
) -> GenerateForm:
    """An unbound generate form for the member.

    It starts from the member's last choices in the workspace; `?use=ID` (use these settings)
    and `?remix=ID` start from one of the workspace's generations instead, prompt included, and
    a remix links the new generation to it. `overrides` (the model switch) win over both.
    """
    generations = Generation.objects.for_member(membership)
    source_id = request.GET.get("remix") or request.GET.get("use") or ""
    source = generations.filter(pk=source_id).first() if source_id.isdigit() else None
    if source is not None:
        initial = {**initial_from_generation(source), "prompt": source.prompt}
        if request.GET.get("remix"):
            initial["parent"] = source.pk
    else:
        last = generations.made_by(membership.user_id).order_by("-id").first()
        initial = initial_from_generation(last)
    for name in ("model", "prompt", "n", "size", "aspect_ratio", "quality", "resolution"):
        if value := (overrides or {}).get(name):
            initial[name] = value
    form = GenerateForm(initial=initial, models=policy.allowed_models(membership))
    form.remix_of = source if "parent" in initial else None
    return form
