from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from gallery.models import Generation, Image


def test_bench_pipeline_prints_a_row_per_format_and_leaves_nothing(db, media_root):
    out = io.StringIO()

    call_command("bench_pipeline", "--n", "2", "--repeat", "1", "--size", "64", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Pillow ")
    assert "64x64 images, n=2, 1 repeats" in lines[0]
    header = next(line for line in lines if line.startswith("format"))
    assert header.split() == [
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
    for image_format in ("PNG", "JPEG"):
        row = next(line for line in lines if line.startswith(image_format + " "))
        assert re.fullmatch(rf"{image_format}\s+\d+ (kB|MB)\s+{times}\s+\d+\.\d\dx", row), row
    # Rows were rolled back and files went to a temporary MEDIA_ROOT.
    assert not Generation.objects.exists()
    assert not Image.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*"))


def test_bench_pipeline_refuses_an_impossible_n(db):
    with pytest.raises(CommandError, match="--n must be between 1 and 10"):
        call_command("bench_pipeline", "--n", "11", stdout=io.StringIO())
