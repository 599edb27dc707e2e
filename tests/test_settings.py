"""Production settings: `check --deploy` is clean, and nothing secret is defaulted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={
            # The browser tests allow async-unsafe calls in this process; production does not.
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DJANGO_SETTINGS_MODULE": "gallery.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="a-production-key-that-is-long-and-random-enough-0123456789abcdef",
        DJANGO_ALLOWED_HOSTS="atelier.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-production-key-that-is-long-and-random-enough-0123456789abcdef",
    "DJANGO_ALLOWED_HOSTS": "atelier.example.com",
}


def test_hsts_preload_only_when_the_operator_asks():
    show = "from django.conf import settings; print(settings.SECURE_HSTS_PRELOAD)"
    assert manage("shell", "-c", show, **PRODUCTION).stdout.split()[-1] == "False"
    asked = manage("shell", "-c", show, **PRODUCTION, DJANGO_SECURE_HSTS_PRELOAD="1")
    assert asked.stdout.split()[-1] == "True"


def test_the_web_server_refuses_to_start_without_collected_static_files(tmp_path):
    static_root = tmp_path / "static"
    load_app = [sys.executable, "-c", "import gallery.wsgi"]
    env = {**os.environ, **PRODUCTION, "DJANGO_STATIC_ROOT": str(static_root)}
    env["DJANGO_SETTINGS_MODULE"] = "gallery.settings"
    missing = subprocess.run(
        load_app, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert missing.returncode != 0
    assert "The static files were not collected" in missing.stderr
    assert "collectstatic --no-input" in missing.stderr

    assert (
        manage(
            "collectstatic", "--no-input", **PRODUCTION, DJANGO_STATIC_ROOT=str(static_root)
        ).returncode
        == 0
    )
    started = subprocess.run(
        load_app, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert started.returncode == 0, started.stderr
