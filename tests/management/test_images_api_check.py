from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.fake_images_api import FAKE_API_KEY

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def check(*args: str) -> str:
    out = StringIO()
    call_command("images_api_check", *args, stdout=out)
    return out.getvalue()


def test_a_successful_call_prints_counts_sizes_usage_and_timings(fake_images_api):
    output = check("--model", "grok-3-image", "--n", "2", "--prompt", "a red apple")

    assert f"Model: grok-3-image (Grok 3 Image, relay) via {fake_images_api.api_base_url}" in output
    assert '"n": 2' in output
    assert "Images: 2 of 2 (2 returned, 0 missing)" in output
    assert output.count(" png 960x960, ") == 2
    assert " bytes from http://127.0.0.1:" in output
    assert 'Usage: {"generated_images": 2, "output_tokens": 32768, "total_tokens": 32768}' in output
    assert "Timings: api " in output
    assert "Request ids: req_fake_000001" in output
    assert len(fake_images_api.generation_requests) == 1


def test_b64_json_can_be_asked_for(fake_images_api):
    output = check("--model", "dall-e-2", "--response-format", "b64_json")
    assert '"response_format": "b64_json"' in output
    assert "Images: 1 of 1" in output
    assert fake_images_api.downloads("/images/") == []


def test_an_error_is_printed_without_the_key_and_fails_the_command(fake_images_api):
    out = StringIO()
    with pytest.raises(CommandError, match="The image service is misconfigured"):
        call_command("images_api_check", "--prompt", "[fault:401] a cat", stdout=out)
    output = out.getvalue()
    assert "Error kind: auth (retriable: False)" in output
    assert "HTTP status: 401" in output
    assert "Request id: req_fake_000001" in output
    assert "Incorrect API key provided: [redacted]" in output
    assert FAKE_API_KEY not in output


def test_a_failed_image_fails_the_command(fake_images_api):
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 images came through"):
        call_command("images_api_check", "--n", "2", "--prompt", "[fault:expired] a", stdout=out)
    assert "#1 FAILED from http://127.0.0.1:" in out.getvalue()


def test_a_real_jpeg_behind_a_png_name_decodes(fake_images_api):
    output = check("--n", "2", "--prompt", "[fault:jpeg-as-png] a")
    assert "#1 jpeg 8x8, " in output


def test_an_image_that_does_not_decode_fails_the_command(fake_images_api):
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 images came through"):
        call_command("images_api_check", "--n", "2", "--prompt", "[fault:not-image] a", stdout=out)
    output = out.getvalue()
    assert "#1 FAILED from http://127.0.0.1:" in output
    assert "bytes that do not decode as an image (not a known image format: " in output
    assert "#2 png 960x960, " in output


def test_an_unknown_model_lists_the_known_ones(fake_images_api):
    with pytest.raises(
        CommandError, match=re.escape("Unknown model 'grok-9'. Known: grok-3-image, ")
    ):
        check("--model", "grok-9")


def test_without_a_key_the_default_is_the_offline_demo(settings):
    settings.IMAGES_API_KEY = ""
    output = check("--n", "2")
    assert "Model: demo (Demo (offline), relay) via offline demo, no HTTP" in output
    assert "Images: 2 of 2" in output


@pytest.mark.parametrize(("prompt", "returncode"), [("a cat", 0), ("[fault:401] a cat", 1)])
def test_the_exit_code_says_whether_it_worked(fake_images_api, prompt, returncode):
    # The real command line, with the operator's settings module (private URLs not allowed:
    # images on the API's own origin are still fetched).
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gallery.settings",
        "IMAGES_API_BASE_URL": fake_images_api.api_base_url,
        "IMAGES_API_KEY": FAKE_API_KEY,
        "IMAGES_API_ALLOW_PRIVATE_URLS": "0",
    }
    completed = subprocess.run(
        [sys.executable, "manage.py", "images_api_check", "--prompt", prompt],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == returncode, completed.stderr
    assert FAKE_API_KEY not in completed.stdout + completed.stderr
    if returncode:
        assert "CommandError: The image service is misconfigured" in completed.stderr
    else:
        assert "Images: 1 of 1" in completed.stdout
