from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from gallery.models import Generation, Image
from gallery.services import images_api


def run_bench(*arguments: str) -> list[str]:
    out = io.StringIO()
    call_command("bench_pipeline", *arguments, stdout=out)
    return out.getvalue().splitlines()


def rows_after(lines: list[str], header_start: str) -> tuple[list[str], list[str]]:
    """The header's words and the rows below its rule, up to the next blank or prose line."""
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    assert set(lines[start + 1]) == {"-"}
    rows = []
    for line in lines[start + 2 :]:
        if not re.match(r"(PNG|JPEG) ", line):
            break
        rows.append(line)
    return lines[start].split(), rows


def test_bench_pipeline_prints_both_tables_and_leaves_nothing(db, media_root, settings):
    settings.IMAGES_API_BASE_URL = "https://api.example.invalid"
    settings.IMAGES_API_KEY = ""

    lines = run_bench("--n", "2", "--repeat", "1", "--size", "64")

    assert lines[0].startswith("Pillow ")
    assert "64x64 images, n=2, 1 repeats" in lines[0]

    header, rows = rows_after(lines, "format     file")
    assert header == [
        "format",
        "file",
        "decode",
        "p95",
        "thumbs",
        "p95",
        "store",
        "p95",
        "ratio",
    ]
    times = r"\s+".join([r"\d+\.\d"] * 6)
    assert [row.split()[0] for row in rows] == ["PNG", "JPEG"]
    for row in rows:
        assert re.fullmatch(rf"(PNG|JPEG)\s+\d+ (kB|MB)\s+{times}\s+\d+\.\d\dx", row), row

    header, rows = rows_after(lines, "format response")
    assert header == [
        "format",
        "response",
        "total",
        "p95",
        "api",
        "p95",
        "download",
        "p95",
        "overhead",
        "p95",
        "per",
        "image",
        "p95",
    ]
    assert [row.split()[:2] for row in rows] == [
        ["PNG", "b64_json"],
        ["PNG", "url"],
        ["JPEG", "b64_json"],
        ["JPEG", "url"],
    ]
    times = r"\s+".join([r"-?\d+\.\d"] * 10)
    for row in rows:
        assert re.fullmatch(rf"(PNG|JPEG)\s+(b64_json|url)\s+{times}", row), row
    assert any("gallery/fake_images_api.py" in line for line in lines)

    # Rows were rolled back, files went to a temporary MEDIA_ROOT, and the settings are back.
    assert not Generation.objects.exists()
    assert not Image.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*"))
    assert settings.IMAGES_API_BASE_URL == "https://api.example.invalid"
    assert settings.IMAGES_API_KEY == ""


def test_bench_pipeline_says_which_generation_failed(db, monkeypatch):
    def refuse(*, request):
        raise images_api.RejectedError("The service is closed today.")

    monkeypatch.setattr(images_api, "generate", refuse)

    with pytest.raises(CommandError, match=r"A PNG b64_json generation ended failed: .*closed"):
        run_bench("--n", "1", "--repeat", "1", "--size", "32")
    assert not Generation.objects.exists()


def test_bench_pipeline_refuses_an_impossible_n(db):
    with pytest.raises(CommandError, match="--n must be between 1 and 10"):
        call_command("bench_pipeline", "--n", "11", stdout=io.StringIO())
