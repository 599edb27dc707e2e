"""The screenshots command: a throwaway seeded site, served and photographed by chromium."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from PIL import Image


@pytest.mark.django_db
def test_screenshots_of_pages_in_chinese_on_a_phone(tmp_path):
    call_command(
        "screenshots",
        out=str(tmp_path),
        languages=["zh-hans"],
        sizes=["phone"],
        schemes=["dark"],
        pages=["login", "gallery", "overlay"],
    )
    folder = tmp_path / "zh-hans" / "phone-dark"
    assert sorted(path.name for path in folder.iterdir()) == [
        "gallery.png",
        "login.png",
        "overlay.png",
    ]
    with Image.open(folder / "gallery.png") as shot:
        assert shot.width == 390  # the phone's viewport, whole page tall
        assert shot.height > 844
