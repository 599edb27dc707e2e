"""What the user typed, validated against the model catalog."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext_lazy as _

from gallery import i18n, policy
from gallery.models import Board, Generation, Membership, Role, Workspace
from gallery.ops import usernames
from gallery.services import catalog
from gallery.services.catalog import ModelSpec
from gallery.services.generations import GenerationParams, new_idempotency_key

OPTION_LABELS = {
    "aspect_ratio": _("Aspect ratio"),
    "quality": _("Quality"),
    "resolution": _("Resolution"),
    "style": _("Style"),
}
RESPONSE_FORMAT_LABELS = {
    "url": _("URL (downloaded at once)"),
    "b64_json": _("Base64 in the response"),
}


def model_choice_label(spec: ModelSpec) -> str:
    label = spec.display_label
    if spec.demo and "demo" not in label.casefold():
        return _("%(model)s (demo)") % {"model": label}
    return label


class GenerateForm(forms.Form):
    """The generate form. Its option fields are those of the chosen model.

    The model comes from the submitted data (or the initial values); changing it re-renders
    the form with that model's options, so a field the model does not accept never appears.
    """

    model = forms.ChoiceField(label=_("Model"))
    prompt = forms.CharField(
        label=_("Prompt"),
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": _("A lighthouse on a cliff at dusk")}
        ),
        strip=True,
    )
    n = forms.IntegerField(label=_("Number of images"), min_value=1, initial=1)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # The generation this one remixes (checked to be the user's by the view).
    parent = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(
        self,
        data: Any = None,
        *,
        initial: dict[str, Any] | None = None,
        models: list[ModelSpec] | None = None,
    ) -> None:
        """`models`: those the member may use (gallery.policy.allowed_models); every available
        one when not given. A model outside them is refused with a clear message."""
        initial = {"idempotency_key": new_idempotency_key(), **(initial or {})}
        super().__init__(data, initial=initial)
        models = catalog.available_models() if models is None else models
        self.fields["model"].error_messages["invalid_choice"] = _(
            "This model is not offered to you here (your role in this workspace may not use "
            "it, or it is not set up): pick one from the list."
        )
        self.fields["model"].choices = [(spec.id, model_choice_label(spec)) for spec in models]
        self.spec = self._chosen_spec(models)
        self._add_option_fields(self.spec)

    def _chosen_spec(self, models: list[ModelSpec]) -> ModelSpec:
        wanted = (self.data.get("model") if self.is_bound else None) or self.initial.get("model")
        chosen = next((spec for spec in models if spec.id == wanted), None)
        if chosen is not None or not models:
            return chosen or catalog.default_model()
        default = catalog.default_model()
        return default if default in models else models[0]

    def _add_option_fields(self, spec: ModelSpec) -> None:
        # Field limits are set when a field is made, so the model-dependent ones are made here.
        prompt = self.fields["prompt"]
        self.fields["prompt"] = forms.CharField(
            label=prompt.label,
            widget=prompt.widget,
            max_length=spec.prompt_max_chars,
            help_text=_("Up to %(count)s characters.") % {"count": intcomma(spec.prompt_max_chars)},
        )
        # The limit changes with the model while the textarea stays: the server enforces it.
        self.fields["prompt"].widget.attrs.pop("maxlength", None)
        self.fields["n"] = forms.IntegerField(
            label=_("Number of images"), min_value=1, max_value=spec.max_n, initial=1
        )
        if spec.sizes:
            self.fields["size"] = forms.ChoiceField(
                label=_("Size"),
                choices=[(size, size) for size in spec.sizes],
                initial=spec.default_size,
            )
        for name, values in (
            ("aspect_ratio", spec.aspect_ratios),
            ("quality", spec.qualities),
            ("resolution", spec.resolutions),
            ("style", spec.styles),
        ):
            if values:
                self.fields[name] = forms.ChoiceField(
                    label=OPTION_LABELS[name],
                    choices=[("", _("Model's default")), *[(value, value) for value in values]],
                    required=False,
                )
        if len(spec.response_formats) > 1:
            self.fields["response_format"] = forms.ChoiceField(
                label=_("Response"),
                choices=[
                    (value, RESPONSE_FORMAT_LABELS.get(value, value))
                    for value in spec.response_formats
                ],
                initial=spec.default_response_format,
            )
        # Initial values the chosen model does not offer (from another model) are dropped.
        for name, value in list(self.initial.items()):
            field = self.fields.get(name)
            offered = isinstance(field, forms.ChoiceField) and name != "model"
            if offered and value not in {choice for choice, _ in field.choices}:
                del self.initial[name]

    @property
    def option_fields(self) -> list[forms.BoundField]:
        names = ["n", "size", "aspect_ratio", "quality", "resolution", "style", "response_format"]
        return [self[name] for name in names if name in self.fields]

    def params(self) -> GenerationParams:
        data = self.cleaned_data
        return GenerationParams(
            prompt=data["prompt"],
            model=data["model"],
            n=data["n"],
            size=data.get("size") or self.spec.default_size,
            aspect_ratio=data.get("aspect_ratio", ""),
            quality=data.get("quality", ""),
            resolution=data.get("resolution", ""),
            response_format=data.get("response_format") or self.spec.default_response_format,
            style=data.get("style", ""),
        )


def initial_from_generation(generation: Generation | None) -> dict[str, Any]:
    """The form's starting values: the user's last choices (every option but the prompt)."""
    if generation is None:
        return {}
    initial = asdict(GenerationParams.from_generation(generation))
    del initial["prompt"]
    return {key: value for key, value in initial.items() if value not in ("", None)}


class SignupForm(UserCreationForm):
    """Django's sign-up form, refusing names that look like an existing one."""

    def clean_username(self) -> str | None:
        username = super().clean_username()  # None when taken (the error is already added)
        if not username:
            return username
        users = get_user_model().objects

        def taken(name: str) -> bool:
            return users.filter(username__iexact=name).exists()

        if problem := usernames.lookalike_problem(username, taken=taken):
            raise forms.ValidationError(problem, code="lookalike")
        return username


class BoardForm(forms.Form):
    """A board's name and visibility (and, when editing, its cover: an image on it or none)."""

    name = forms.CharField(label=_("Name"), max_length=80, strip=True)
    visibility = forms.ChoiceField(
        label=_("Who sees it"), choices=Board.Visibility.choices, initial="workspace"
    )
    cover = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class BudgetForm(forms.ModelForm):
    """A workspace's monthly budget and the limits each member gets (blank: no limit)."""

    class Meta:
        model = Workspace
        fields = [
            "monthly_budget",
            "member_monthly_images",
            "member_monthly_cost",
            "member_per_minute",
        ]
        labels = {
            "monthly_budget": _("Monthly budget (US$)"),
            "member_monthly_images": _("Images per member per month"),
            "member_monthly_cost": _("Spend per member per month (US$)"),
            "member_per_minute": _("Generations per member per minute"),
        }
        help_texts = {
            "monthly_budget": _("Blank: no limit. Costs are estimates from model prices.")
        }


class MemberLimitForm(forms.ModelForm):
    """One member's own monthly limits, in place of the workspace's (blank: the workspace's)."""

    class Meta:
        model = Membership
        fields = ["monthly_images", "monthly_cost"]
        labels = {
            "monthly_images": _("Images per month"),
            "monthly_cost": _("Spend per month (US$)"),
        }


class ModelRulesForm(forms.Form):
    """Which catalog models each role that may generate may use (every box ticked: no rule)."""

    def __init__(self, data: Any = None, *, workspace: Workspace) -> None:
        super().__init__(data)
        self.workspace = workspace
        self.model_ids = [spec.id for spec in catalog.all_models()]
        choices = [(spec.id, model_choice_label(spec)) for spec in catalog.all_models()]
        rules = workspace.model_rules or {}
        for role in generating_roles():
            self.fields[f"models_{role}"] = forms.MultipleChoiceField(
                label=_("%(role)s may use") % {"role": role.label},
                choices=choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=rules.get(role.value, self.model_ids),
            )

    def rules(self) -> dict[str, list[str]]:
        rules = {}
        for role in generating_roles():
            allowed = self.cleaned_data[f"models_{role}"]
            if set(allowed) != set(self.model_ids):
                rules[role.value] = [model_id for model_id in self.model_ids if model_id in allowed]
        return rules


def generating_roles() -> list[Role]:
    minimum = policy.MINIMUM_ROLE[policy.Action.GENERATE]
    return [role for role in Role if role.at_least(minimum)]


class PreferencesForm(forms.Form):
    """The settings page: the user's language and time zone."""

    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("The browser's language")), *settings.LANGUAGES],
        required=False,
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Dates and times are shown in it; months of budgets follow it too."),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            ("", _("Detect from my browser")),
            *[(name, name) for name in i18n.time_zone_names()],
        ]
