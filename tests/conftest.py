from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

pytest_plugins = ["tests.fake_images_api", "tests.workers"]


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    """Every test writes its files to a fresh MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def password() -> str:
    return "correct horse battery staple"


@pytest.fixture
def user(db, password):
    return get_user_model().objects.create_user("ada", "ada@example.com", password)


@pytest.fixture
def other_user(db, password):
    return get_user_model().objects.create_user("mallory", "mallory@example.com", password)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def models_file(tmp_path, settings):
    """Write a catalog file and point IMAGES_API_MODELS_FILE at it."""
    path = tmp_path / "models.json"

    def write(document) -> None:
        path.write_text(json.dumps(document), encoding="utf-8")
        settings.IMAGES_API_MODELS_FILE = str(path)

    return write
