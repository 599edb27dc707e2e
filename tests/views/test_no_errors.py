"""Requests that used to answer 500 (issue 13), and a manifest a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
import logging
import zipfile

import pytest
from django.urls import reverse

from tests.views.test_gallery import stored_generation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "time_zone"),
    [
        ("date_to=9999-12-31", "UTC"),
        ("date_from=0001-01-01", "Asia/Tokyo"),  # east of UTC: the day starts in year 0
        ("date_from=0001-01-01&date_to=9999-12-31&view=generations", "UTC"),
    ],
)
def test_dates_beyond_the_calendar_are_a_form_error(user_client, user, settings, query, time_zone):
    settings.TIME_ZONE = time_zone
    stored_generation(user, n=1)
    for headers in ({}, {"HX-Request": "true", "HX-Target": "gallery-results"}):
        response = user_client.get(
            reverse("gallery:index", args=["ada"]) + "?" + query, headers=headers
        )
        assert response.status_code == 200
        text = response.content.decode()
        assert "Dates must fall between the years 1 and 9999" in text
        assert 'role="alert"' in text


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("gallery:image_download", []),
        ("gallery:image_original", []),
        ("gallery:image_thumbnail", ["small"]),
        ("gallery:image_thumbnail", ["large"]),
    ],
)
def test_a_missing_file_is_a_404_and_an_error_in_the_log(user_client, user, caplog, name, args):
    image = stored_generation(user, n=1).images.get()
    for field_file in (image.original, image.thumbnail_small, image.thumbnail_large):
        field_file.storage.delete(field_file.name)
    with caplog.at_level(logging.ERROR, logger="gallery"):
        response = user_client.get(reverse(name, args=[image.pk, *args]))
    assert response.status_code == 404
    assert any("missing from storage" in record.getMessage() for record in caplog.records)


def test_the_csv_manifest_neutralises_formulas(user_client, user):
    generation = stored_generation(user, prompt='=HYPERLINK("http://evil.example","x")', n=1)
    generation.images.update(revised_prompt="@SUM(1+1)*cmd|' /C calc'!A0")
    ids = list(generation.images.values_list("pk", flat=True))
    response = user_client.post(reverse("gallery:images_zip", args=["ada"]), {"image": ids})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    (row,) = csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig")))
    assert row["prompt"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["revised_prompt"].startswith("'@SUM")
    assert row["width"].isdigit()  # numbers stay numbers
    # manifest.json is data, not a spreadsheet: the prompt is kept as it was.
    assert '"=HYPERLINK' in archive.read("manifest.json").decode()


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised(start):
    from gallery.services.downloads import spreadsheet_safe

    assert spreadsheet_safe(f"{start}1+1") == f"'{start}1+1"
    assert spreadsheet_safe("a fox") == "a fox"
    assert spreadsheet_safe(42) == 42
