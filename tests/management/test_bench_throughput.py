from __future__ import annotations

import io
import os
import re

import pytest
from django.core.management import call_command
from django.db import connection

from gallery.models import Generation


# The command switches the default connection to a database of its own and back, which it
# cannot do inside the transaction a plain `db` test runs in.
@pytest.mark.django_db(transaction=True)
def test_bench_throughput_prints_pickup_and_a_row_per_batch_and_leaves_nothing_behind(
    monkeypatch,
):
    # The workers take the app's settings (the tests' ones turn the API key off).
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "gallery.settings")
    configured = connection.settings_dict["NAME"]
    out = io.StringIO()

    call_command(
        "bench_throughput",
        "--workers=1",
        "--concurrency=4",
        "--latency=0.2",
        "--generations",
        "3",
        "5",
        "--idle-samples=2",
        f"--database-name=atelier_bench_test_{os.getpid()}",
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"bench_throughput on {connection.vendor}: 1 worker process(es)")
    assert re.fullmatch(
        r"idle pickup \(2 samples\): median \d+ ms, p95 \d+ ms, max \d+ ms", lines[-3]
    )
    for count, line in zip((3, 5), lines[-2:], strict=True):
        assert re.match(
            rf"\s*{count} generations: +\d+\.\d\d s to all finished, +\d+\.\d generations/s, "
            rf"{count}/{count} succeeded",
            line,
        ), line
    # The configured (here: the test) database was neither used nor left pointing elsewhere.
    assert connection.settings_dict["NAME"] == configured
    assert not Generation.objects.exists()
