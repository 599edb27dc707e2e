"""The model catalog: which image models Atelier offers, and what each one accepts.

The built-in catalog is `BUILTIN_MODELS`. An operator replaces it without code changes by
pointing the setting `IMAGES_API_MODELS_FILE` at a JSON file holding a list of models (or an
object with a "models" list). Each entry has the fields of `ModelSpec`; lists become tuples. An
entry whose id is a built-in model starts from that model's values, so flipping one switch is
short:

    [{"id": "grok-3-image", "array_options": false}, {"id": "demo"}]

The file replaces the catalog: only the models it lists are offered, in its order.

Providers. Every model is served by a provider: where to send its requests and which key to
send. The built-in "default" provider is IMAGES_API_BASE_URL with IMAGES_API_KEY. A models
file may name more in a "providers" list, so a relay's models and OpenAI's work side by side:

    {"providers": [{"name": "openai", "base_url": "https://api.openai.com/v1",
                    "api_key_env": "OPENAI_API_KEY", "max_in_flight": 4}],
     "models": [{"id": "grok-3-image"}, {"id": "gpt-image-1", "provider": "openai"}]}

Prices. Each model has a price per image in US dollars, by size and quality, what budgets
estimate a generation's cost with (gallery.services.budgets). In the file, "prices" maps a key
to a price; the first key that matches wins: "<size>/<quality>", "<size>", "<quality>", then
"*" (any); a model without a match costs 0:

    [{"id": "gpt-image-1", "prices": {"1024x1024/high": 0.167, "high": 0.25, "*": 0.042}}]

`api_key_env` names the environment variable that holds the key (never the key itself, so the
file can be committed). `max_in_flight` caps the calls to the provider at once (0: no cap).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

DIALECTS = ("relay", "openai")
# The seed's relay and OpenAI both cap one request at 10 images.
MAX_N = 10


DEFAULT_PROVIDER = "default"


class UnknownModel(KeyError):
    """No model with this id is in the catalog."""


@dataclass(frozen=True)
class Provider:
    """Where a model's requests go. Empty base_url / api_key_env: the IMAGES_API_* settings."""

    name: str
    # Used as given, like the OpenAI SDK's base_url: requests go to {base_url}/images/...
    base_url: str = ""
    # The name of the environment variable holding the key, never the key.
    api_key_env: str = ""
    # How many calls to this provider may be in flight at once, over all workers' threads;
    # 0 for no cap.
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not self.name or self.name != self.name.strip():
            problems.append("a name without surrounding spaces is required")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            problems.append("base_url must be an http(s) URL")
        if self.api_key_env and not self.api_key_env.replace("_", "").isalnum():
            problems.append("api_key_env must be the name of an environment variable")
        if self.max_in_flight < 0:
            problems.append("max_in_flight must be 0 (no cap) or more")
        if problems:
            raise ImproperlyConfigured(f"Image provider {self.name!r}: {'; '.join(problems)}.")

    def resolved_base_url(self) -> str:
        return (self.base_url or getattr(settings, "IMAGES_API_BASE_URL", "")).strip()

    def api_key(self) -> str:
        if self.api_key_env:
            return os.environ.get(self.api_key_env, "").strip()
        return getattr(settings, "IMAGES_API_KEY", "") or ""

    @property
    def configured(self) -> bool:
        return bool(self.api_key())


DEFAULT = Provider(name=DEFAULT_PROVIDER)


@dataclass(frozen=True)
class ModelSpec:
    id: str
    label: str = ""
    # "relay": the seed's gateway (array options, response_format always sent);
    # "openai": the standard API (plain strings, only the fields the model accepts).
    dialect: str = "openai"
    # The offline demo provider: no HTTP, images drawn locally.
    demo: bool = False
    prompt_max_chars: int = 1000
    sizes: tuple[str, ...] = ()
    default_size: str = ""
    aspect_ratios: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()
    # Empty: the field is never sent (gpt-image models reject it and always answer b64_json).
    response_formats: tuple[str, ...] = ()
    default_response_format: str = ""
    # False: response_format is left out of the body even though the model has formats (a relay
    # that rejects the field for a model); the answer's url or b64_json is read either way.
    send_response_format: bool = True
    max_n: int = 1
    # More images than this in one request are split into several concurrent requests.
    max_n_per_request: int = 1
    # aspect_ratio / quality / resolution as arrays of length n (the seed's relay example)
    # rather than plain strings.
    array_options: bool = False
    styles: tuple[str, ...] = ()
    # The provider (see Provider) that serves this model.
    provider: str = DEFAULT_PROVIDER
    # US dollars per image by "<size>/<quality>", "<size>", "<quality>" or "*" (see
    # price_per_image); a models file gives them as an object.
    prices: tuple[tuple[str, Decimal], ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not self.id or self.id != self.id.strip():
            problems.append("an id without surrounding spaces is required")
        if self.dialect not in DIALECTS:
            problems.append(f"dialect must be one of {', '.join(DIALECTS)}")
        if self.dialect == "openai" and self.array_options:
            problems.append("array_options is a relay dialect switch")
        if not 1 <= self.max_n <= MAX_N:
            problems.append(f"max_n must be 1 to {MAX_N}")
        if not 1 <= self.max_n_per_request <= self.max_n:
            problems.append("max_n_per_request must be 1 to max_n")
        if self.prompt_max_chars < 1:
            problems.append("prompt_max_chars must be positive")
        if self.default_size and self.default_size not in self.sizes:
            problems.append("default_size must be one of sizes")
        if self.default_response_format not in (*self.response_formats, ""):
            problems.append("default_response_format must be one of response_formats")
        if self.response_formats and not self.default_response_format:
            problems.append("default_response_format is required when response_formats is set")
        for field in ("sizes", "aspect_ratios", "qualities", "resolutions", "response_formats"):
            if any(not value or value != value.strip() for value in getattr(self, field)):
                problems.append(f"{field} must hold non-empty values without surrounding spaces")
        if any(price < 0 for _, price in self.prices):
            problems.append("prices must not be negative")
        if problems:
            raise ImproperlyConfigured(f"Image model {self.id!r}: {'; '.join(problems)}.")

    def price_per_image(self, *, size: str = "", quality: str = "") -> Decimal:
        """What one image of this size and quality costs (an estimate, in US dollars)."""
        prices = dict(self.prices)
        for key in (f"{size}/{quality}", size, quality, "*"):
            if key and key in prices:
                return prices[key]
        return Decimal(0)

    @property
    def display_label(self) -> str:
        return self.label or self.id


RELAY_ASPECT_RATIOS = (
    "1:1",
    "3:4",
    "4:3",
    "9:16",
    "16:9",
    "2:3",
    "3:2",
    "9:19.5",
    "19.5:9",
    "9:20",
    "20:9",
    "1:2",
    "2:1",
    "auto",
)
RELAY_SIZES = ("960x960", "720x1280", "1280x720", "1168x784", "784x1168")


def _prices(table: dict[str, Any]) -> tuple[tuple[str, Decimal], ...]:
    return tuple((key, Decimal(str(price))) for key, price in table.items())


GROK_3_IMAGE = ModelSpec(
    id="grok-3-image",
    label="Grok 3 Image",
    dialect="relay",
    prompt_max_chars=1000,
    sizes=RELAY_SIZES,
    default_size="960x960",
    aspect_ratios=RELAY_ASPECT_RATIOS,
    qualities=("low", "medium", "high"),
    resolutions=("1k", "2k"),
    response_formats=("url", "b64_json"),
    default_response_format="url",
    max_n=10,
    max_n_per_request=10,
    array_options=True,
    prices=(("*", Decimal("0.07")),),
)

BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    GROK_3_IMAGE,
    ModelSpec(
        id="gpt-image-1",
        label="GPT Image 1",
        dialect="openai",
        prompt_max_chars=32000,
        sizes=("1024x1024", "1536x1024", "1024x1536", "auto"),
        default_size="auto",
        qualities=("low", "medium", "high", "auto"),
        max_n=10,
        max_n_per_request=10,
        # OpenAI's list prices (2025); "auto" is priced as high, the most it may cost.
        prices=_prices(
            {
                "1024x1024/low": "0.011",
                "1024x1024/medium": "0.042",
                "1024x1024/high": "0.167",
                "low": "0.016",
                "medium": "0.063",
                "*": "0.25",
            }
        ),
    ),
    ModelSpec(
        id="dall-e-3",
        label="DALL·E 3",
        dialect="openai",
        prompt_max_chars=4000,
        sizes=("1024x1024", "1792x1024", "1024x1792"),
        default_size="1024x1024",
        qualities=("standard", "hd"),
        response_formats=("url", "b64_json"),
        default_response_format="url",
        # Each image is its own billed request against a tight images-per-minute limit.
        max_n=4,
        max_n_per_request=1,
        styles=("vivid", "natural"),
        prices=_prices(
            {"1024x1024/standard": "0.04", "1024x1024/hd": "0.08", "hd": "0.12", "*": "0.08"}
        ),
    ),
    ModelSpec(
        id="dall-e-2",
        label="DALL·E 2",
        dialect="openai",
        prompt_max_chars=1000,
        sizes=("256x256", "512x512", "1024x1024"),
        default_size="1024x1024",
        response_formats=("url", "b64_json"),
        default_response_format="url",
        max_n=10,
        max_n_per_request=10,
        prices=_prices({"256x256": "0.016", "512x512": "0.018", "*": "0.02"}),
    ),
    # Offers the relay's options, so the form, the stored request body (built as the relay's,
    # showing what a real call would send) and the drawing all follow them.
    dataclasses.replace(
        GROK_3_IMAGE,
        id="demo",
        label="Demo (offline)",
        demo=True,
        response_formats=(),
        default_response_format="",
        # Drawn here, free; a models file may price it to try budgets out.
        prices=(),
    ),
)

_TUPLE_FIELDS = {
    field.name
    for field in dataclasses.fields(ModelSpec)
    if field.type.startswith("tuple") and field.name != "prices"
}
_FIELD_NAMES = {field.name for field in dataclasses.fields(ModelSpec)}


def _spec_from_entry(entry: Any, *, position: int, source: str) -> ModelSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ImproperlyConfigured(f"{source}: model #{position + 1} needs a string 'id'.")
    unknown = set(entry) - _FIELD_NAMES
    if unknown:
        raise ImproperlyConfigured(
            f"{source}: model {entry['id']!r} has unknown fields: {', '.join(sorted(unknown))}."
        )
    values = dict(entry)
    for name in _TUPLE_FIELDS & set(values):
        if not isinstance(values[name], list | tuple) or not all(
            isinstance(item, str) for item in values[name]
        ):
            raise ImproperlyConfigured(
                f"{source}: model {entry['id']!r}: {name} must be a list of strings."
            )
        values[name] = tuple(values[name])
    if "prices" in values:
        values["prices"] = _prices_from_entry(values["prices"], model_id=entry["id"], source=source)
    builtin = next((spec for spec in BUILTIN_MODELS if spec.id == values["id"]), None)
    try:
        if builtin is not None:
            return dataclasses.replace(builtin, **values)
        return ModelSpec(**values)
    except TypeError as error:
        raise ImproperlyConfigured(f"{source}: model {entry['id']!r}: {error}") from error


def _prices_from_entry(
    value: Any, *, model_id: str, source: str
) -> tuple[tuple[str, Decimal], ...]:
    def number(price: Any) -> bool:
        return isinstance(price, int | float) and not isinstance(price, bool)

    if not isinstance(value, dict) or not all(number(price) for price in value.values()):
        raise ImproperlyConfigured(
            f"{source}: model {model_id!r}: prices must map sizes and qualities to numbers."
        )
    return tuple((key, Decimal(str(price))) for key, price in value.items())


_PROVIDER_FIELD_NAMES = {field.name for field in dataclasses.fields(Provider)}


def _provider_from_entry(entry: Any, *, position: int, source: str) -> Provider:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ImproperlyConfigured(f"{source}: provider #{position + 1} needs a string 'name'.")
    unknown = set(entry) - _PROVIDER_FIELD_NAMES
    if unknown:
        raise ImproperlyConfigured(
            f"{source}: provider {entry['name']!r} has unknown fields: "
            f"{', '.join(sorted(unknown))}."
        )
    try:
        return Provider(**entry)
    except TypeError as error:
        raise ImproperlyConfigured(f"{source}: provider {entry['name']!r}: {error}") from error


@dataclass(frozen=True)
class _Catalog:
    models: tuple[ModelSpec, ...]
    providers: dict[str, Provider]


def _read_models_file(path: str) -> _Catalog:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(f"IMAGES_API_MODELS_FILE {path!r}: {error}") from error
    entries = document.get("models") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise ImproperlyConfigured(
            f"IMAGES_API_MODELS_FILE {path!r} must hold a non-empty list of models."
        )
    provider_entries = document.get("providers", []) if isinstance(document, dict) else []
    if not isinstance(provider_entries, list):
        raise ImproperlyConfigured(f"IMAGES_API_MODELS_FILE {path!r}: providers must be a list.")
    providers = {DEFAULT_PROVIDER: DEFAULT}
    for position, entry in enumerate(provider_entries):
        provider = _provider_from_entry(entry, position=position, source=path)
        if provider.name in providers and provider.name != DEFAULT_PROVIDER:
            raise ImproperlyConfigured(f"{path}: duplicate provider name {provider.name!r}.")
        providers[provider.name] = provider
    specs = tuple(
        _spec_from_entry(entry, position=position, source=path)
        for position, entry in enumerate(entries)
    )
    ids = [spec.id for spec in specs]
    duplicates = sorted({model_id for model_id in ids if ids.count(model_id) > 1})
    if duplicates:
        raise ImproperlyConfigured(f"{path}: duplicate model ids: {', '.join(duplicates)}.")
    for spec in specs:
        if spec.provider not in providers:
            raise ImproperlyConfigured(
                f"{path}: model {spec.id!r} names the provider {spec.provider!r}, which the "
                "file does not define."
            )
    return _Catalog(models=specs, providers=providers)


@functools.cache
def _loaded() -> _Catalog:
    path = getattr(settings, "IMAGES_API_MODELS_FILE", "")
    if path:
        return _read_models_file(path)
    return _Catalog(models=BUILTIN_MODELS, providers={DEFAULT_PROVIDER: DEFAULT})


def _catalog() -> tuple[ModelSpec, ...]:
    return _loaded().models


def clear_cache() -> None:
    _loaded.cache_clear()


@receiver(setting_changed)
def _clear_cache_on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "IMAGES_API_MODELS_FILE":
        clear_cache()


def all_models() -> list[ModelSpec]:
    return list(_catalog())


def all_providers() -> list[Provider]:
    return list(_loaded().providers.values())


def provider_for(spec: ModelSpec) -> Provider:
    return _loaded().providers.get(spec.provider, DEFAULT)


def is_available(spec: ModelSpec) -> bool:
    """A demo model always; a real one when its provider has a key."""
    return spec.demo or provider_for(spec).configured


def api_configured() -> bool:
    """Whether any provider has a key, so some real model can be used."""
    return any(provider.configured for provider in all_providers())


def available_models() -> list[ModelSpec]:
    """The models a user may pick now: the demo ones, and those whose provider has a key."""
    return [spec for spec in _catalog() if is_available(spec)]


def get_model(model_id: str) -> ModelSpec:
    for spec in _catalog():
        if spec.id == model_id:
            return spec
    raise UnknownModel(model_id)


def default_model() -> ModelSpec:
    """The first real model whose provider has a key (catalog order), else the first demo one."""
    models = available_models()
    if not models:
        raise ImproperlyConfigured(
            "No image model is available: set IMAGES_API_KEY, or keep a demo model in the catalog."
        )
    return next((spec for spec in models if not spec.demo), models[0])
