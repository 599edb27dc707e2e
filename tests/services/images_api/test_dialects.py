"""Request building, per dialect: what each model is sent, and what is refused before sending."""

from __future__ import annotations

import dataclasses

import pytest

from gallery.services import catalog
from gallery.services.images_api import (
    ImageRequest,
    RejectedError,
    build_request_bodies,
    generate,
)
from tests.services.images_api.builders import SEED_EXAMPLE, relay


def test_relay_repeats_the_form_s_one_value_n_times_and_sends_null_for_unset_options():
    spec = catalog.get_model("grok-3-image")
    bodies = build_request_bodies(spec, relay(n=3, aspect_ratio="16:9", quality="low"))
    assert bodies == [
        {
            "model": "grok-3-image",
            "prompt": "a cat",
            "size": "960x960",
            "n": 3,
            "aspect_ratio": ["16:9", "16:9", "16:9"],
            "quality": ["low", "low", "low"],
            "resolution": [None, None, None],
            "response_format": "url",
        }
    ]


def test_relay_builds_the_seed_s_own_example_from_per_image_values_with_clean_values():
    spec = catalog.get_model("grok-3-image")
    request = relay(
        n=2,
        aspect_ratio=(None, "1:1"),
        quality=("", "low"),
        resolution=(None, " 1k"),
        # The seed's example has the stray space; what is sent must not.
        response_format="b64_json ",
    )
    bodies = build_request_bodies(spec, request)
    assert bodies == [SEED_EXAMPLE]
    # Key order follows the seed's, so a stored body reads like the document.
    assert list(bodies[0]) == list(SEED_EXAMPLE)


def test_relay_values_are_sent_clean():
    spec = catalog.get_model("grok-3-image")
    [body] = build_request_bodies(
        spec, relay(prompt="  a cat \n", size=" 720x1280 ", aspect_ratio=" 9:16 ", n=1)
    )
    assert body["prompt"] == "a cat"
    assert body["size"] == "720x1280"
    assert body["aspect_ratio"] == ["9:16"]


def test_relay_with_the_array_switch_off_sends_plain_strings_and_leaves_unset_options_out():
    spec = dataclasses.replace(catalog.get_model("grok-3-image"), array_options=False)
    [body] = build_request_bodies(spec, relay(n=2, quality="high"))
    assert body == {
        "model": "grok-3-image",
        "prompt": "a cat",
        "size": "960x960",
        "n": 2,
        "quality": "high",
        "response_format": "url",
    }


def test_plain_string_models_refuse_different_values_per_image():
    spec = dataclasses.replace(catalog.get_model("grok-3-image"), array_options=False)
    with pytest.raises(RejectedError, match="one quality for all images"):
        build_request_bodies(spec, relay(n=2, quality=("low", "high")))


@pytest.mark.parametrize("asked", ["", "url", "b64_json"])
def test_gpt_image_never_sends_response_format(asked):
    spec = catalog.get_model("gpt-image-1")
    request = ImageRequest(
        model="gpt-image-1", prompt="a cat", n=2, size="1024x1536", quality="high",
        response_format=asked,
    )  # fmt: skip
    assert build_request_bodies(spec, request) == [
        {"model": "gpt-image-1", "prompt": "a cat", "size": "1024x1536", "n": 2, "quality": "high"}
    ]


def test_dall_e_3_sends_one_request_per_image_with_style():
    spec = catalog.get_model("dall-e-3")
    request = ImageRequest(
        model="dall-e-3", prompt="a cat", n=3, size="1792x1024", quality="hd", style="vivid"
    )
    body = {
        "model": "dall-e-3",
        "prompt": "a cat",
        "size": "1792x1024",
        "n": 1,
        "quality": "hd",
        "style": "vivid",
        "response_format": "url",
    }
    assert build_request_bodies(spec, request) == [body, body, body]


def test_dall_e_2_sends_n_in_one_request_and_no_quality():
    spec = catalog.get_model("dall-e-2")
    request = ImageRequest(model="dall-e-2", prompt="a cat", n=4, response_format="b64_json")
    assert build_request_bodies(spec, request) == [
        {"model": "dall-e-2", "prompt": "a cat", "n": 4, "response_format": "b64_json"}
    ]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (relay(size="1024x1024"), "does not offer the size 1024x1024"),
        (relay(quality="ultra"), "does not offer the quality ultra"),
        (relay(n=11), "1 to 10 images"),
        (relay(prompt="   "), "prompt is empty"),
        (relay(prompt="x" * 1001), "1001 characters long; Grok 3 Image takes at most 1000"),
        (relay(n=2, quality=("low",)), "quality was given 1 values for 2 images"),
        (relay(response_format="png"), "does not offer the response format png"),
        (ImageRequest(model="dall-e-3", prompt="a", aspect_ratio="1:1"), "aspect ratio 1:1"),
        (ImageRequest(model="dall-e-2", prompt="a", style="vivid"), "style vivid"),
    ],
)
def test_values_a_model_does_not_offer_are_refused_before_anything_is_sent(request_, message):
    with pytest.raises(RejectedError, match=message) as caught:
        build_request_bodies(catalog.get_model(request_.model), request_)
    assert caught.value.kind == "rejected"
    assert caught.value.retriable is False


def test_an_unknown_model_is_refused_without_http(fake_images_api):
    with pytest.raises(RejectedError, match="'grok-9' is not offered"):
        generate(request=ImageRequest(model="grok-9", prompt="a cat"))
    assert fake_images_api.requests == []


def test_the_catalog_can_leave_response_format_out_for_a_model():
    spec = dataclasses.replace(catalog.get_model("grok-3-image"), send_response_format=False)
    [body] = build_request_bodies(spec, relay(n=1, response_format="b64_json"))
    assert "response_format" not in body
