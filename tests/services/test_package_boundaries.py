"""The rules that keep risky imports in one package each: Pillow in imaging, httpx in images_api,
and production code free of the test suite."""

from __future__ import annotations

import re
from pathlib import Path

GALLERY = Path(__file__).resolve().parents[2] / "gallery"


def importers_of(module: str) -> set[str]:
    pattern = re.compile(rf"^\s*(from|import) {module}\b", flags=re.MULTILINE)
    return {
        path.relative_to(GALLERY).as_posix()
        for path in GALLERY.rglob("*.py")
        if pattern.search(path.read_text())
    }


def test_only_the_imaging_package_imports_pillow():
    importers = importers_of("PIL")
    assert importers
    assert all(path.startswith("services/imaging/") for path in importers), importers


def test_only_the_images_api_package_imports_httpx():
    importers = importers_of("httpx") | importers_of("httpcore")
    assert importers
    assert all(path.startswith("services/images_api/") for path in importers), importers


def test_production_code_imports_nothing_from_the_tests():
    assert importers_of("tests") == set()
