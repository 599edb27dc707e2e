from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from gallery.services import catalog
from gallery.services.catalog import ModelSpec, UnknownModel


def test_the_built_in_catalog():
    assert [spec.id for spec in catalog.all_models()] == [
        "grok-3-image",
        "gpt-image-1",
        "dall-e-3",
        "dall-e-2",
        "demo",
    ]
    grok = catalog.get_model("grok-3-image")
    assert (grok.dialect, grok.array_options, grok.demo) == ("relay", True, False)
    assert grok.sizes == ("960x960", "720x1280", "1280x720", "1168x784", "784x1168")
    assert grok.qualities == ("low", "medium", "high")
    assert grok.resolutions == ("1k", "2k")
    assert "19.5:9" in grok.aspect_ratios
    assert grok.response_formats == ("url", "b64_json")
    assert (grok.max_n, grok.max_n_per_request, grok.prompt_max_chars) == (10, 10, 1000)

    gpt_image = catalog.get_model("gpt-image-1")
    assert gpt_image.response_formats == ()
    assert gpt_image.prompt_max_chars == 32000

    dall_e_3 = catalog.get_model("dall-e-3")
    assert dall_e_3.max_n_per_request == 1
    assert dall_e_3.styles == ("vivid", "natural")

    demo = catalog.get_model("demo")
    assert demo.demo is True
    assert demo.display_label == "Demo (offline)"


def test_without_a_key_only_the_demo_is_available_and_is_the_default(settings):
    settings.IMAGES_API_KEY = ""
    assert [spec.id for spec in catalog.available_models()] == ["demo"]
    assert catalog.default_model().id == "demo"


def test_with_a_key_every_model_is_available_and_the_first_real_one_is_the_default(settings):
    settings.IMAGES_API_KEY = "sk-anything"
    assert len(catalog.available_models()) == 5
    assert catalog.default_model().id == "grok-3-image"


def test_an_unknown_model_is_a_key_error():
    with pytest.raises(UnknownModel):
        catalog.get_model("dall-e-4")
    assert issubclass(UnknownModel, KeyError)


def test_a_models_file_replaces_the_catalog_and_a_built_in_id_starts_from_the_built_in(
    models_file, settings
):
    settings.IMAGES_API_KEY = "sk-anything"
    models_file(
        [
            {"id": "my-relay", "label": "My relay", "dialect": "relay", "max_n": 4,
             "max_n_per_request": 4, "sizes": ["1024x1024"], "default_size": "1024x1024",
             "response_formats": ["b64_json"], "default_response_format": "b64_json"},
            {"id": "grok-3-image", "array_options": False},
            {"id": "demo"},
        ]
    )  # fmt: skip
    assert [spec.id for spec in catalog.all_models()] == ["my-relay", "grok-3-image", "demo"]
    mine = catalog.get_model("my-relay")
    assert mine.sizes == ("1024x1024",)
    assert mine.array_options is False
    grok = catalog.get_model("grok-3-image")
    assert grok.array_options is False
    assert grok.qualities == ("low", "medium", "high")  # the rest is the built-in's
    assert catalog.default_model().id == "my-relay"
    with pytest.raises(UnknownModel):
        catalog.get_model("dall-e-3")


def test_the_file_may_hold_an_object_with_a_models_list(models_file):
    models_file({"models": [{"id": "demo"}]})
    assert [spec.id for spec in catalog.all_models()] == ["demo"]


def test_the_parsed_catalog_is_cached_until_cleared(models_file, tmp_path):
    models_file([{"id": "demo"}])
    assert [spec.id for spec in catalog.all_models()] == ["demo"]
    (tmp_path / "models.json").write_text(json.dumps([{"id": "demo"}, {"id": "dall-e-2"}]))
    assert [spec.id for spec in catalog.all_models()] == ["demo"]
    catalog.clear_cache()
    assert [spec.id for spec in catalog.all_models()] == ["demo", "dall-e-2"]


def test_changing_the_setting_clears_the_cache(models_file, settings):
    models_file([{"id": "demo"}])
    assert len(catalog.all_models()) == 1
    settings.IMAGES_API_MODELS_FILE = ""
    assert len(catalog.all_models()) == 5


def test_without_a_key_and_without_a_demo_model_there_is_no_default(models_file, settings):
    settings.IMAGES_API_KEY = ""
    models_file([{"id": "dall-e-2"}])
    assert catalog.available_models() == []
    with pytest.raises(ImproperlyConfigured, match="No image model is available"):
        catalog.default_model()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "non-empty list of models"),
        ({"models": "demo"}, "non-empty list of models"),
        ([{"label": "no id"}], "model #1 needs a string 'id'"),
        ([{"id": "x", "colour": "red"}], "unknown fields: colour"),
        ([{"id": "x", "dialect": "grpc"}], "dialect must be one of relay, openai"),
        ([{"id": "x", "max_n": 11}], "max_n must be 1 to 10"),
        ([{"id": "x", "max_n": 2, "max_n_per_request": 3}], "max_n_per_request must be 1"),
        ([{"id": "x", "sizes": ["1x1"], "default_size": "2x2"}], "default_size must be one of"),
        ([{"id": "x", "sizes": "1x1"}], "sizes must be a list of strings"),
        ([{"id": "x", "qualities": ["low "]}], "qualities must hold non-empty values"),
        ([{"id": "x", "array_options": True}], "array_options is a relay dialect switch"),
        ([{"id": "x", "response_formats": ["url"]}], "default_response_format is required"),
        ([{"id": "demo"}, {"id": "demo"}], "duplicate model ids: demo"),
    ],
)
def test_a_bad_models_file_says_what_is_wrong(models_file, document, message):
    models_file(document)
    with pytest.raises(ImproperlyConfigured, match=message):
        catalog.all_models()


def test_a_missing_or_unreadable_file_says_so(settings, tmp_path):
    settings.IMAGES_API_MODELS_FILE = str(tmp_path / "nope.json")
    with pytest.raises(ImproperlyConfigured, match=r"nope\.json"):
        catalog.all_models()
    (tmp_path / "broken.json").write_text("[{")
    settings.IMAGES_API_MODELS_FILE = str(tmp_path / "broken.json")
    with pytest.raises(ImproperlyConfigured, match=r"broken\.json"):
        catalog.all_models()


def test_a_spec_is_frozen():
    spec = ModelSpec(id="x")
    with pytest.raises(AttributeError):
        spec.id = "y"  # type: ignore[misc]


# --- Providers ---------------------------------------------------------------------------------


def test_every_built_in_model_is_served_by_the_default_provider_from_the_settings(settings):
    settings.IMAGES_API_BASE_URL = "https://relay.example/v1"
    settings.IMAGES_API_KEY = "sk-relay"
    [provider] = catalog.all_providers()
    assert provider.name == "default"
    assert (provider.resolved_base_url(), provider.api_key()) == (
        "https://relay.example/v1",
        "sk-relay",
    )
    assert {catalog.provider_for(spec).name for spec in catalog.all_models()} == {"default"}


def test_a_models_file_defines_providers_and_models_name_theirs(models_file, settings, monkeypatch):
    settings.IMAGES_API_KEY = ""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    models_file(
        {
            "providers": [
                {
                    "name": "openai",
                    "base_url": "https://api.openai.com/v1",
                    "api_key_env": "OPENAI_API_KEY",
                    "max_in_flight": 4,
                }
            ],
            "models": [
                {"id": "grok-3-image"},
                {"id": "gpt-image-1", "provider": "openai"},
                {"id": "demo"},
            ],
        }
    )
    openai = catalog.provider_for(catalog.get_model("gpt-image-1"))
    assert (openai.name, openai.max_in_flight, openai.api_key()) == ("openai", 4, "sk-openai")
    # The default provider has no key: its models are not offered, the other provider's are.
    assert [spec.id for spec in catalog.available_models()] == ["gpt-image-1", "demo"]
    assert catalog.default_model().id == "gpt-image-1"
    assert catalog.api_configured()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"models": [{"id": "dall-e-2", "provider": "nowhere"}]}, "names the provider 'nowhere'"),
        (
            {"providers": [{"base_url": "https://x.example"}], "models": [{"id": "demo"}]},
            "needs a string 'name'",
        ),
        (
            {"providers": [{"name": "x", "api_key": "sk-1"}], "models": [{"id": "demo"}]},
            "unknown fields: api_key",
        ),
        (
            {"providers": [{"name": "x", "api_key_env": "sk-1 2"}], "models": [{"id": "demo"}]},
            "api_key_env must be",
        ),
        (
            {"providers": [{"name": "x", "base_url": "ftp://x"}], "models": [{"id": "demo"}]},
            "base_url must be",
        ),
        (
            {"providers": [{"name": "x", "max_in_flight": -1}], "models": [{"id": "demo"}]},
            "max_in_flight",
        ),
        (
            {"providers": [{"name": "x"}, {"name": "x"}], "models": [{"id": "demo"}]},
            "duplicate provider",
        ),
        ({"providers": {"name": "x"}, "models": [{"id": "demo"}]}, "providers must be a list"),
    ],
)
def test_a_bad_provider_says_what_is_wrong(models_file, document, message):
    models_file(document)
    with pytest.raises(ImproperlyConfigured, match=message):
        catalog.all_models()


def test_a_model_can_leave_response_format_out(models_file):
    models_file([{"id": "grok-3-image", "send_response_format": False}])
    assert catalog.get_model("grok-3-image").send_response_format is False
