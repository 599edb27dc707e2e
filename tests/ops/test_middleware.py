"""Headers every response carries (CSP, Permissions-Policy, request id) and what a 500 logs."""

from __future__ import annotations

import json
import logging
import logging.config
import re
from pathlib import Path

import pytest
from django.urls import reverse

from gallery.ops.logs import logging_config

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"


def test_pages_carry_a_csp_with_a_nonce_that_the_htmx_script_uses(user_client):
    response = user_client.get(reverse("gallery:index", args=["ada"]))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "'unsafe-eval'" not in policy
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)
    assert f'nonce="{nonce}"' in response.content.decode()


def test_pages_switch_off_browser_features_they_never_use(client):
    policy = client.get(reverse("login"))["Permissions-Policy"]
    assert "camera=()" in policy
    assert "microphone=()" in policy
    assert "geolocation=()" in policy


def test_no_template_has_an_inline_event_handler():
    """The CSP refuses onclick=/onsubmit=...: behaviour lives in static/gallery/app.js."""
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in re.finditer(r"\son[a-z]+\s*=", path.read_text())
    ]
    assert offenders == []


def test_every_response_has_a_request_id_and_keeps_a_proxy_s(client):
    first = client.get(reverse("login"))["X-Request-ID"]
    second = client.get(reverse("login"))["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second
    given = client.get(reverse("login"), headers={"X-Request-ID": "edge-1234abcd"})
    assert given["X-Request-ID"] == "edge-1234abcd"
    forged = client.get(reverse("login"), headers={"X-Request-ID": "bad\nid: injected"})
    assert forged["X-Request-ID"] != "bad\nid: injected"


@pytest.fixture
def production_logging():
    """The app's real logging set-up (tests run with a quiet one), removed afterwards."""

    def configure(*, json_lines: bool) -> None:
        logging.config.dictConfig(
            logging_config(json_lines=json_lines, level="INFO", django_level="WARNING")
        )

    yield configure
    for name in ("gallery", "django", "axes"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_500_logs_its_traceback_to_stderr_with_the_request_id(
    client, settings, capsys, production_logging, json_lines
):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.ops.boom_urls"
    production_logging(json_lines=json_lines)
    client.raise_request_exception = False

    response = client.get("/boom/")

    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert request_id in response.content.decode()  # the page says what to quote
    stderr = capsys.readouterr().err
    assert "RuntimeError: the view broke" in stderr
    if json_lines:
        entries = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        (entry,) = [entry for entry in entries if entry["level"] == "ERROR"]
        assert entry["request_id"] == request_id
        assert entry["logger"] == "django.request"
        assert "Traceback" in entry["exception"]
    else:
        assert f"ERROR [{request_id}] django.request: Internal Server Error: /boom/" in stderr
