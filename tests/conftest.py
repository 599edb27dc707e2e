from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from gallery.services import workspaces

pytest_plugins = ["tests.fake_images_api", "tests.workers", "tests.s3"]


def pytest_sessionstart(session):
    """The Chinese pages need the compiled catalogues (build output, not in git): `make test`
    compiles them, and so does a bare `pytest` run."""
    from gallery.management.commands.compile_translations import (
        catalogue_paths,
        compile_catalogue,
    )

    for path in catalogue_paths():
        compile_catalogue(path)


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    """Every test writes its files to a fresh MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def password() -> str:
    return "correct horse battery staple"


def make_user(username: str, password: str):
    """A user as sign-up makes one: with their personal workspace."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", password)
    workspaces.create_personal_workspace(user=user)
    return user


@pytest.fixture
def user(db, password):
    """Ada, whose personal workspace has the slug "ada" (view tests reverse its URLs with it)."""
    return make_user("ada", password)


@pytest.fixture
def other_user(db, password):
    return make_user("mallory", password)


@pytest.fixture
def membership(user):
    """The user's membership of their personal workspace (owner)."""
    return workspaces.personal_membership(user=user)


@pytest.fixture
def workspace(membership):
    return membership.workspace


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
