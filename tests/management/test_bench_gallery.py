from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from gallery.models import Generation, Image

SCENARIOS = [
    "image grid, first page",
    "image grid, page ",
    "generation grid, first page",
    "generation grid, page ",
    "search 'ocarina' (rare English)",
    "search '青花瓷' (rare Chinese)",
    "search '一只猫' (common Chinese)",
    "search 'moon' (common English)",
    "search 'platypus' (no match)",
    "search '猫' (1 character)",
    "filter model=dall-e-3 + favorites",
    "filter one day a year ago",
    "search 'moon' + model=dall-e-3 + favorites",
    "prompt history, first page",
    "prompt history, search 'ocarina'",
    "usage summary, 30 days",
    "scan baseline: icontains 'ocarina'",
    "scan baseline: icontains '青花瓷'",
    "scan baseline: icontains '一只猫'",
    "scan baseline: icontains 'platypus'",
    *(
        f"{label}: {name}"
        for label in ("team", "1%")
        for name in (
            "image grid, first page",
            "generation grid, first page",
            "search 'ocarina' (rare English)",
            "search '一只猫' (common Chinese)",
            "search 'moon' (common English)",
            "search 'platypus' (no match)",
            "search 'moon' + model=dall-e-3 + favorites",
            "prompt history, first page",
        )
    ),
]


# The command switches the default connection to a database of its own and back, which it
# cannot do inside the transaction a plain `db` test runs in.
@pytest.mark.django_db(transaction=True)
def test_bench_gallery_prints_a_row_per_scenario_and_leaves_nothing_behind():
    configured = connection.settings_dict["NAME"]
    out = io.StringIO()

    call_command(
        "bench_gallery",
        "--generations=200",
        "--total-generations=400",
        "--team-generations=100",
        "--team-members=3",
        "--images=500",
        "--repeat=2",
        f"--database-name=atelier_bench_test_{os.getpid()}",
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    bench_name = next(line for line in lines if line.startswith("Bench database")).split(": ")[1]
    assert re.fullmatch(r"Fill time: \d+\.\ds", next(line for line in lines if "Fill" in line))
    assert "400 generations and " in out.getvalue()
    assert "(the user's: 200 and 500)" in out.getvalue()

    header = lines.index(next(line for line in lines if line.startswith("scenario ")))
    assert lines[header].split() == [
        "scenario",
        "matches",
        "rows",
        "median",
        "ms",
        "p95",
        "ms",
        "note",
    ]
    assert set(lines[header + 1]) <= {"-", " "}
    rows = lines[header + 2 : header + 2 + len(SCENARIOS)]
    for scenario, row in zip(SCENARIOS, rows, strict=True):
        assert row.startswith(scenario), row
        assert re.search(r"\s\d+\s+\d+\.\d\d\s+\d+\.\d\d(\s|$)", row), row
        if scenario.startswith("scan baseline"):
            assert re.search(r"the search is \d+\.\dx faster$", row), row
        if scenario.endswith("page "):
            assert re.search(r"\d\.\d\dx the first page$", row), row
    assert lines[header + 2 + len(SCENARIOS)] == ""
    assert lines[-1].startswith("Pages with a median of 20 ms or more: ")

    # The configured (here: the test) database was neither used nor left pointing elsewhere,
    # and the bench database is gone.
    assert connection.settings_dict["NAME"] == configured
    assert not Generation.objects.exists()
    assert not Image.objects.exists()
    if connection.vendor == "sqlite":
        assert not Path(bench_name).exists()
        assert not Path(bench_name).parent.exists()
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name])
            assert cursor.fetchone() is None


@pytest.mark.parametrize(
    "arguments",
    [
        ["--generations=0"],
        ["--generations=10", "--total-generations=5"],
        ["--generations=10", "--team-generations=10", "--total-generations=15"],
        ["--images=-1"],
        ["--repeat=0"],
    ],
)
def test_bench_gallery_refuses_impossible_sizes(arguments):
    with pytest.raises(CommandError):
        call_command("bench_gallery", *arguments, stdout=io.StringIO())
