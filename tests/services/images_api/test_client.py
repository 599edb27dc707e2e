"""The images API client's whole call, over real loopback HTTP (gallery/fake_images_api.py).

Each fault test pins the outcome exactly: the error type and kind, how many requests the server
received (so retries are counted, not timed), and what the user is told.

This layer does not judge whether bytes are an image: what the service sends comes through
unchanged, and gallery.services.imaging validates it with Pillow. The tests say so below.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import time

import httpx
import pytest

from gallery.services import images_api
from gallery.services.images_api import (
    AuthError,
    BadResponseError,
    ImageRequest,
    QuotaError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
    generate,
)
from tests.fake_images_api import (
    FAKE_API_KEY,
    PNG_SIGNATURE,
    TINY_JPEG,
    Reply,
    png_dimensions,
)
from tests.services.images_api.builders import relay

# ---------------------------------------------------------------------------------------------
# Happy answers


def test_url_results_are_downloaded_and_the_exact_body_sent_is_kept(fake_images_api):
    result = generate(request=relay(n=2, aspect_ratio="1:1"))

    [call] = fake_images_api.generation_requests
    assert call.json == result.request_bodies[0]
    assert call.headers["authorization"] == f"Bearer {FAKE_API_KEY}"
    assert call.headers["content-type"] == "application/json"
    assert len(result.images) == 2
    assert result.missing == 0
    for index, image in enumerate(result.images):
        assert image.index == index
        assert image.error is None
        assert png_dimensions(image.data) == (960, 960)
        assert image.source_url.startswith(fake_images_api.base_url + "/images/")
        assert image.content_type == "image/png"
    downloads = fake_images_api.downloads("/images/")
    assert sorted(d.path for d in downloads) == sorted(
        httpx.URL(image.source_url).path for image in result.images
    )
    # Downloads never carry the key.
    assert all("authorization" not in d.headers for d in downloads)
    assert result.usage == {"generated_images": 2, "output_tokens": 32768, "total_tokens": 32768}
    assert isinstance(result.created, int)
    assert result.request_ids == ["req_fake_000001"]
    assert result.retries == 0
    assert result.api_ms >= 0
    assert result.download_ms >= 0
    assert not result.demo


def test_b64_json_results_need_no_download(fake_images_api):
    result = generate(request=relay(n=3, response_format="b64_json"))

    assert [png_dimensions(image.data) for image in result.images] == [(960, 960)] * 3
    assert all(image.source_url == "" for image in result.images)
    assert fake_images_api.downloads("/images/") == []
    assert fake_images_api.generation_requests[0].json["response_format"] == "b64_json"


def test_a_b64_json_key_with_a_stray_space_is_read(fake_images_api):
    result = generate(request=relay("[fault:b64-space] a cat", n=2, response_format="b64_json"))
    assert [image.error for image in result.images] == [None, None]
    assert all(image.data.startswith(PNG_SIGNATURE) for image in result.images)


def test_a_data_uri_prefix_and_wrapped_base64_are_read(fake_images_api):
    result = generate(request=relay("[fault:b64-datauri] a cat", response_format="b64_json"))
    [image] = result.images
    assert image.data.startswith(PNG_SIGNATURE)
    assert image.content_type == "image/png"


def test_gpt_image_answers_b64_and_its_usage_is_kept_as_given(fake_images_api):
    result = generate(
        request=ImageRequest(model="gpt-image-1", prompt="a red apple", n=2, size="1024x1024")
    )
    [call] = fake_images_api.generation_requests
    assert "response_format" not in call.json
    assert [png_dimensions(image.data) for image in result.images] == [(1024, 1024)] * 2
    assert result.usage == {
        "input_tokens": 3,
        "output_tokens": 8320,
        "total_tokens": 8323,
        "input_tokens_details": {"text_tokens": 3, "image_tokens": 0},
    }


def test_dall_e_3_n_3_makes_three_concurrent_calls_and_adds_up_their_usage(fake_images_api):
    result = generate(request=ImageRequest(model="dall-e-3", prompt="a cat", n=3))

    calls = fake_images_api.generation_requests
    assert [call.json["n"] for call in calls] == [1, 1, 1]
    assert [image.index for image in result.images] == [0, 1, 2]
    assert all(image.error is None and image.data for image in result.images)
    assert [image.revised_prompt for image in result.images] == ["A detailed picture of a cat"] * 3
    assert result.usage == {"generated_images": 3, "output_tokens": 49152, "total_tokens": 49152}
    assert len(result.request_bodies) == 3
    assert len(set(result.request_ids)) == 3


def test_one_failed_call_of_several_fails_only_its_image(fake_images_api):
    fake_images_api.script(
        Reply(
            400,
            {"error": {"message": "Your prompt was flagged", "code": "content_policy_violation"}},
        )
    )
    result = generate(request=ImageRequest(model="dall-e-3", prompt="a cat", n=3))

    assert len(fake_images_api.generation_requests) == 3
    failed = [image for image in result.images if image.error is not None]
    assert [type(image.error) for image in failed] == [RejectedError]
    assert failed[0].data is None
    assert len(result.succeeded) == 2
    assert result.missing == 0


def test_fewer_images_than_n_are_kept_and_counted(fake_images_api):
    result = generate(request=relay("[fault:fewer] a cat", n=3))
    assert len(result.images) == 2
    assert result.missing == 1
    assert len(result.succeeded) == 2


# ---------------------------------------------------------------------------------------------
# Call failures: typed, retried only as docs/images-api-contract.md allows


def test_a_500_is_retried_once_then_unavailable(fake_images_api, settings):
    settings.IMAGES_API_MAX_RETRIES = 5  # a 5xx still gets one retry only: it may be billed
    with pytest.raises(UnavailableError) as caught:
        generate(request=relay("[fault:500] a cat"))

    error = caught.value
    assert len(fake_images_api.generation_requests) == 2
    assert error.retries == 1
    # Its one retry is spent: the task must not send it again (CONTRACT: 5xx at most once).
    assert (error.kind, error.status, error.retriable) == ("unavailable", 500, False)
    assert error.request_id == "req_fake_000002"
    assert error.user_message == (
        "The image service is unavailable right now (HTTP 500). Try again shortly."
    )


def test_a_500_then_success_returns_the_images(fake_images_api):
    result = generate(request=relay("[fault:500x1] a cat", n=2))
    assert len(fake_images_api.generation_requests) == 2
    assert result.retries == 1
    assert len(result.succeeded) == 2


def test_a_502_html_page_is_unavailable_and_its_html_never_reaches_the_user(fake_images_api):
    with pytest.raises(UnavailableError) as caught:
        generate(request=relay("[fault:502-html] a cat"))

    error = caught.value
    assert len(fake_images_api.generation_requests) == 2
    assert error.status == 502
    assert "<" not in error.user_message
    assert error.detail == "an HTML page (502 Bad Gateway)"


def test_a_chinese_no_channel_503_keeps_the_relay_request_id(fake_images_api, settings):
    settings.IMAGES_API_MAX_RETRIES = 0
    with pytest.raises(UnavailableError) as caught:
        generate(request=relay("[fault:503-zh] a cat"))

    assert len(fake_images_api.generation_requests) == 1
    assert caught.value.request_id == "20260325fake0001"
    assert "无可用渠道" in caught.value.detail


def test_a_429_with_retry_after_is_retried_after_waiting_as_asked(fake_images_api):
    started = time.monotonic()
    result = generate(request=relay("[fault:429x1] a cat"))

    assert time.monotonic() - started >= 1.0  # Retry-After: 1, honoured
    assert len(fake_images_api.generation_requests) == 2
    assert result.retries == 1
    assert len(result.succeeded) == 1


def test_a_429_with_a_reset_header_is_retried(fake_images_api):
    result = generate(request=relay("[fault:429-resetx1] a cat"))
    assert len(fake_images_api.generation_requests) == 2
    assert result.retries == 1


def test_a_429_that_persists_uses_the_retry_budget_then_is_rate_limited(fake_images_api, settings):
    settings.IMAGES_API_MAX_RETRIES = 2
    with pytest.raises(RateLimitedError) as caught:
        generate(request=relay("[fault:429-ms] a cat"))

    error = caught.value
    assert len(fake_images_api.generation_requests) == 3
    assert error.retries == 2
    assert (error.kind, error.status, error.retriable) == ("rate_limited", 429, True)
    assert error.retry_after == pytest.approx(0.05)
    assert error.user_message == (
        "The image service is busy with too many requests. Try again shortly."
    )


def test_a_429_asking_for_more_than_the_cap_is_not_waited_for(fake_images_api, settings):
    settings.IMAGES_API_RETRY_AFTER_CAP_SECONDS = 60
    with pytest.raises(RateLimitedError) as caught:
        generate(request=relay("[fault:429-long] a cat"))

    assert len(fake_images_api.generation_requests) == 1
    assert caught.value.retry_after == 3600
    assert caught.value.retriable is True
    assert "about 3600 seconds" in caught.value.user_message


@pytest.mark.parametrize(("fault", "status"), [("429-quota", 429), ("403-quota", 403)])
def test_an_empty_account_is_a_quota_error_and_not_retried(fake_images_api, fault, status):
    with pytest.raises(QuotaError) as caught:
        generate(request=relay(f"[fault:{fault}] a cat"))

    error = caught.value
    assert len(fake_images_api.generation_requests) == 1
    assert (error.kind, error.status, error.retriable) == ("quota", status, False)
    assert error.user_message == (
        "The image service account has run out of credit. Ask the operator to top it up."
    )


def test_a_401_never_shows_or_logs_the_key(fake_images_api, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as caught:
        generate(request=relay("[fault:401] a cat"))

    error = caught.value
    assert len(fake_images_api.generation_requests) == 1
    assert (error.kind, error.status, error.retriable) == ("auth", 401, False)
    assert error.user_message.startswith("The image service is misconfigured")
    assert error.request_id == "req_fake_000001"
    # The server echoed the whole key back in its message; none of it survives.
    assert "Incorrect API key provided: [redacted]" in error.detail
    for text in (str(error), repr(error), error.user_message, error.detail, error.log_fields()):
        assert FAKE_API_KEY not in text
        assert "SECRET" not in text
    assert caplog.records  # the failure was logged...
    assert FAKE_API_KEY not in caplog.text  # ...without the key
    assert "0123456789abcdef" not in caplog.text


def test_a_wrong_key_and_a_chinese_401_are_auth_errors(fake_images_api, settings):
    settings.IMAGES_API_KEY = "sk-wrong-but-secret-key-999"
    with pytest.raises(AuthError) as caught:
        generate(request=relay())
    assert "sk-wrong-but-secret-key-999" not in caught.value.detail
    assert "wrong-but-secret" not in caught.value.detail

    settings.IMAGES_API_KEY = FAKE_API_KEY
    with pytest.raises(AuthError) as caught:
        generate(request=relay("[fault:401-zh] a cat"))
    assert caught.value.detail == "无效的令牌"


def test_the_key_is_in_no_stored_body_nor_result(fake_images_api):
    result = generate(request=relay(n=1))
    assert FAKE_API_KEY not in json.dumps(result.request_bodies)
    assert FAKE_API_KEY not in repr(result)


@pytest.mark.parametrize("fault", ["400-policy", "400-moderation"])
def test_a_content_policy_refusal_shows_the_api_s_message_and_is_not_retried(
    fake_images_api, fault
):
    with pytest.raises(RejectedError) as caught:
        generate(request=relay(f"[fault:{fault}] a cat"))

    error = caught.value
    assert len(fake_images_api.generation_requests) == 1
    assert (error.kind, error.status, error.retriable) == ("rejected", 400, False)
    assert error.content_policy is True
    assert error.user_message.startswith(
        "The image service refused this prompt under its content policy: Your request was rejected"
    )


def test_a_chinese_refusal_in_the_string_error_shape_reaches_the_user(fake_images_api):
    with pytest.raises(RejectedError) as caught:
        generate(request=relay("[fault:400-zh] a cat"))

    error = caught.value
    assert error.content_policy is True
    assert error.code == "sensitive_words_detected"
    assert error.user_message == (
        "The image service refused this prompt under its content policy: "
        "提示词包含敏感内容\uff0c请修改后重试"
    )


def test_an_xai_style_422_is_a_rejection_with_its_message(fake_images_api):
    with pytest.raises(RejectedError) as caught:
        generate(request=relay("[fault:422-xai] a cat"))
    assert caught.value.status == 422
    assert caught.value.content_policy is False
    assert caught.value.user_message == (
        "The image service refused the request: Argument not supported: size"
    )


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("error-200", "upstream said no"),
        ("no-channel-200", "无可用渠道"),
        ("no-channel-200-text", ""),
    ],
)
def test_a_200_carrying_an_error_is_unavailable_and_asked_again_once(fake_images_api, fault, said):
    with pytest.raises(UnavailableError) as caught:
        generate(request=relay(f"[fault:{fault}] a cat"))

    error = caught.value
    assert len(fake_images_api.generation_requests) == 2
    assert (error.status, error.retries, error.retriable) == (200, 1, False)
    assert error.user_message.startswith("The image service answered with an error instead")
    assert said in error.user_message


def test_a_200_carrying_an_error_once_then_images_succeeds(fake_images_api):
    result = generate(request=relay("[fault:no-channel-200x1] a cat"))
    assert len(result.succeeded) == 1
    assert result.retries == 1


def test_a_200_carrying_a_content_policy_refusal_is_still_a_refusal(fake_images_api):
    payload = {"error": {"message": "blocked", "code": "content_policy_violation"}}
    fake_images_api.script(Reply(200, payload))
    with pytest.raises(RejectedError, match="content policy") as caught:
        generate(request=relay())
    assert len(fake_images_api.generation_requests) == 1
    assert caught.value.content_policy


def test_a_fastapi_list_shaped_detail_keeps_its_reasons(fake_images_api):
    with pytest.raises(RejectedError) as caught:
        generate(request=relay("[fault:422-fastapi] a cat"))
    assert caught.value.user_message == (
        "The image service refused the request: size: Input should be '960x960' or '720x1280'"
    )
    assert len(fake_images_api.generation_requests) == 1


def test_a_problem_json_answer_keeps_its_title_and_validation_reasons(fake_images_api):
    with pytest.raises(RejectedError) as caught:
        generate(request=relay("[fault:400-problem] a cat"))
    assert caught.value.user_message == (
        "The image service refused the request: Your request parameters didn't validate.; "
        "aspect_ratio: must have as many entries as n"
    )
    assert caught.value.code == ""


def test_problem_json_errors_with_json_pointers_are_read(fake_images_api):
    payload = {
        "title": "Invalid request",
        "errors": [{"detail": "must be at most 10", "pointer": "#/n"}, "prompt is too long"],
    }
    fake_images_api.script(Reply(422, payload, content_type="application/problem+json"))
    with pytest.raises(RejectedError) as caught:
        generate(request=relay())
    assert caught.value.user_message.endswith(
        "Invalid request; n: must be at most 10; prompt is too long"
    )


@pytest.mark.parametrize(
    ("headers", "request_id"),
    [
        ({"x-request-id": "req_1"}, "req_1"),
        ({"request-id": "req_2"}, "req_2"),
        ({"x-oneapi-request-id": "2026120312000001"}, "2026120312000001"),
        ({"x-new-api-request-id": "na-3"}, "na-3"),
        ({"x-litellm-call-id": "7f1d-litellm"}, "7f1d-litellm"),
        ({"x-amzn-requestid": "aws-4"}, "aws-4"),
        ({"apim-request-id": "azure-5"}, "azure-5"),
        ({"x-request-id": "req_up", "x-oneapi-request-id": "relay_6"}, "req_up, relay_6"),
        ({"cf-ray": "8e1f2a3b4c5d6e7f-FRA"}, "cf-ray 8e1f2a3b4c5d6e7f-FRA"),
        ({"cf-ray": "8e1f-FRA", "x-litellm-call-id": "ll-7"}, "ll-7"),
    ],
)
def test_request_ids_are_read_from_every_common_header(fake_images_api, headers, request_id):
    fake_images_api.script(Reply(400, {"error": {"message": "bad"}}, headers=headers))
    with pytest.raises(RejectedError) as caught:
        generate(request=relay())
    assert caught.value.request_id == request_id


def test_a_success_keeps_its_request_ids_too(fake_images_api):
    fake_images_api.script(
        Reply(
            200,
            {"created": 1, "data": [{"b64_json": base64.b64encode(TINY_JPEG).decode()}]},
            headers={"x-litellm-call-id": "ll-8"},
        )
    )
    assert generate(request=relay()).request_ids == ["ll-8"]


def test_a_broken_b64_falls_back_to_the_items_url(fake_images_api):
    result = generate(request=relay("[fault:b64-and-url] a cat", n=2, response_format="b64_json"))

    first, second = result.images
    assert first.error is None
    assert first.data.startswith(PNG_SIGNATURE)
    assert len(fake_images_api.downloads("/images/")) == 1
    # The second item's base64 was fine: its url was never fetched, only kept as a fallback.
    assert second.data.startswith(PNG_SIGNATURE)
    assert second.source_url == ""
    assert second.fallback_url.startswith(fake_images_api.base_url + "/images/")
    assert fake_images_api.downloads("/images/")[0].path == first.source_url.removeprefix(
        fake_images_api.base_url
    )


def test_an_over_cap_b64_falls_back_to_the_items_url(fake_images_api, settings):
    settings.IMAGES_API_MAX_DOWNLOAD_BYTES = 10_000
    big = base64.b64encode(b"\x89PNG" + b"\x00" * 50_000).decode()
    url = f"{fake_images_api.base_url}/images/abc123-0-64x48.png"
    fake_images_api.script(Reply(200, {"created": 1, "data": [{"b64_json": big, "url": url}]}))

    [image] = generate(request=relay()).images

    assert image.error is None
    assert png_dimensions(image.data) == (64, 48)


def test_a_b64_image_over_the_cap_is_refused_before_decoding(fake_images_api, settings):
    settings.IMAGES_API_MAX_DOWNLOAD_BYTES = 10_000
    big = base64.b64encode(b"\x00" * 20_000).decode()
    small = base64.b64encode(TINY_JPEG).decode()
    fake_images_api.script(
        Reply(200, {"created": 1, "data": [{"b64_json": big}, {"b64_json": small}]})
    )

    first, second = generate(request=relay(n=2)).images

    assert first.error.user_message == "The image service sent an image over the 0 MB limit."
    assert first.error.detail == "26,668 characters of base64"
    assert second.data == TINY_JPEG


@pytest.mark.parametrize("declared", [True, False])
def test_an_answer_over_the_response_cap_is_refused_while_reading(
    fake_images_api, settings, declared
):
    settings.IMAGES_API_MAX_RESPONSE_BYTES = 100_000
    data = [{"b64_json": base64.b64encode(TINY_JPEG).decode()}] * 400  # about 270 kB
    reply = Reply(200, {"created": 1, "data": data})
    if not declared:
        reply = Reply(200, body=json.dumps({"created": 1, "data": data}).encode(), chunked=True)
    fake_images_api.script(reply)

    with pytest.raises(BadResponseError) as caught:
        generate(request=relay())

    assert caught.value.user_message == (
        "The image service sent back more than 0 MB, more than Atelier accepts in one answer."
    )
    assert "IMAGES_API_MAX_RESPONSE_BYTES=100,000" in caught.value.detail
    assert caught.value.retriable is False
    assert len(fake_images_api.generation_requests) == 1


def test_a_huge_usage_is_stored_cut_down_with_a_marker(fake_images_api):
    usage = {"total_tokens": 12, "output_tokens": 10, "blob": "x" * 20_000_000}
    fake_images_api.script(
        Reply(
            200,
            {
                "created": 1,
                "data": [{"b64_json": base64.b64encode(TINY_JPEG).decode()}],
                "usage": usage,
            },
        )
    )
    result = generate(request=relay())
    assert result.usage == {
        "truncated": "usage was 20,000,053 bytes; kept its top-level numbers",
        "total_tokens": 12,
        "output_tokens": 10,
    }


def test_a_read_timeout_on_the_generation_call_is_never_retried(fake_images_api, settings):
    settings.IMAGES_API_TIMEOUT_SECONDS = 0.2
    settings.IMAGES_API_MAX_RETRIES = 3
    with pytest.raises(UnavailableError) as caught:
        generate(request=relay("[fault:slow=1.5] a cat"))

    error = caught.value
    assert len(fake_images_api.generation_requests) == 1
    assert error.retries == 0
    assert error.retriable is False  # the service may still make (and bill) the images
    assert error.user_message == (
        "The image service did not answer within 0.2 seconds. It may still make the images, "
        "so Atelier did not ask again."
    )


def test_a_connection_that_cannot_be_made_is_retried_within_the_budget(settings):
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]  # nothing listens here once it is closed
    settings.IMAGES_API_BASE_URL = f"http://127.0.0.1:{port}"
    settings.IMAGES_API_KEY = FAKE_API_KEY
    settings.IMAGES_API_MAX_RETRIES = 2
    settings.IMAGES_API_RETRY_BACKOFF_SECONDS = 0.01
    with pytest.raises(UnavailableError) as caught:
        generate(request=relay())
    assert caught.value.retries == 2
    assert caught.value.user_message == (
        "Atelier could not reach the image service. Try again shortly."
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("truncated", "The image service sent back broken JSON instead of images."),
        ("html-200", "The image service sent back an HTML page instead of images."),
        ("empty", "The image service answered but sent no images."),
        ("data-null", "The image service answered but sent no images."),
    ],
)
def test_an_unreadable_answer_is_a_bad_response_and_not_retried(fake_images_api, fault, message):
    with pytest.raises(BadResponseError) as caught:
        generate(request=relay(f"[fault:{fault}] a cat"))

    assert len(fake_images_api.generation_requests) == 1
    assert caught.value.kind == "bad_response"
    assert caught.value.user_message == message
    assert caught.value.request_id.startswith("req_fake_")


def test_a_connection_cut_mid_answer_is_retried_once(fake_images_api):
    with pytest.raises(UnavailableError) as caught:
        generate(request=relay("[fault:cut] a cat"))
    assert len(fake_images_api.generation_requests) == 2
    assert caught.value.retries == 1


def test_undecodable_base64_fails_only_that_image(fake_images_api):
    result = generate(request=relay("[fault:bad-b64] a cat", n=2, response_format="b64_json"))

    first, second = result.images
    assert isinstance(first.error, BadResponseError)
    assert first.error.user_message == (
        "The image service sent image data that could not be decoded."
    )
    assert first.data is None
    assert second.error is None
    assert second.data.startswith(PNG_SIGNATURE)


def test_an_entry_with_no_image_fails_only_that_image(fake_images_api):
    result = generate(request=relay("[fault:no-image] a cat", n=2))
    assert isinstance(result.images[0].error, BadResponseError)
    assert result.images[1].data.startswith(PNG_SIGNATURE)


def test_base64_is_never_logged(fake_images_api, caplog):
    caplog.set_level(logging.DEBUG)
    result = generate(request=relay(n=1, response_format="b64_json"))
    assert result.succeeded
    assert "iVBORw0KGgo" not in caplog.text  # how every base64 PNG starts
    assert "iVBORw0KGgo" not in repr(result)


# ---------------------------------------------------------------------------------------------
# The base URL, used as given


def test_the_base_url_is_used_as_given_so_a_relay_rooted_anywhere_is_reached(
    fake_images_api, settings
):
    settings.IMAGES_API_BASE_URL = fake_images_api.base_url + "/api/openai/v1/"
    assert len(generate(request=relay()).succeeded) == 1
    [call] = fake_images_api.generation_requests
    assert call.path == "/api/openai/v1/images/generations"


def test_a_base_url_without_a_path_gets_v1_with_a_warning(fake_images_api, settings, caplog):
    settings.IMAGES_API_BASE_URL = fake_images_api.base_url
    with caplog.at_level(logging.WARNING, logger="gallery.services.images_api"):
        generate(request=relay())
        generate(request=relay())

    assert [call.path for call in fake_images_api.generation_requests] == [
        "/v1/images/generations",
        "/v1/images/generations",
    ]
    warnings = [r.getMessage() for r in caplog.records if "has no path" in r.getMessage()]
    assert len(warnings) <= 1  # once per value and process
    assert images_api.api_base_url("https://api.openai.com") == "https://api.openai.com/v1"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("", "https://api.openai.com/v1"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("https://relay.example/v1/", "https://relay.example/v1"),
        ("https://relay.example/openai", "https://relay.example/openai"),
        ("http://10.0.0.5:3000/", "http://10.0.0.5:3000/v1"),
    ],
)
def test_base_url_rule(given, used):
    assert images_api.api_base_url(given) == used


# ---------------------------------------------------------------------------------------------
# Several providers


@pytest.fixture
def two_providers(fake_images_api, settings, tmp_path, monkeypatch):
    """The relay's models on the default provider, dall-e-2 on a second one (the same fake
    under another root, with its own key from its own variable)."""
    monkeypatch.setenv("OTHER_IMAGES_KEY", "sk-other-provider-key-0123456789")
    fake_images_api.other_keys.add("sk-other-provider-key-0123456789")
    models = tmp_path / "models.json"
    models.write_text(
        json.dumps(
            {
                "providers": [
                    {
                        "name": "other",
                        "base_url": fake_images_api.base_url + "/other/v1",
                        "api_key_env": "OTHER_IMAGES_KEY",
                        "max_in_flight": 2,
                    }
                ],
                "models": [{"id": "grok-3-image"}, {"id": "dall-e-2", "provider": "other"}],
            }
        )
    )
    settings.IMAGES_API_MODELS_FILE = str(models)
    return fake_images_api


def test_models_of_two_providers_are_used_side_by_side(two_providers):
    generate(request=relay())
    generate(request=ImageRequest(model="dall-e-2", prompt="a cat", response_format="b64_json"))

    relay_call, other_call = two_providers.generation_requests
    assert relay_call.path == "/v1/images/generations"
    assert relay_call.headers["authorization"] == f"Bearer {FAKE_API_KEY}"
    assert other_call.path == "/other/v1/images/generations"
    assert other_call.headers["authorization"] == "Bearer sk-other-provider-key-0123456789"


def test_a_provider_without_its_key_is_not_configured(two_providers, monkeypatch, settings):
    monkeypatch.delenv("OTHER_IMAGES_KEY")
    with pytest.raises(AuthError, match="not configured") as caught:
        generate(request=ImageRequest(model="dall-e-2", prompt="a cat"))
    assert "set OTHER_IMAGES_KEY" in caught.value.detail
    assert two_providers.generation_requests == []
    # The relay's models still work.
    assert generate(request=relay()).succeeded


def test_every_provider_s_key_is_scrubbed(two_providers):
    assert "sk-other" not in images_api.redact("echo sk-other-provider-key-0123456789")
    assert "0123456789" not in images_api.redact("masked: provider-key-0123456789")
