from __future__ import annotations

import io

from django.core.management import call_command


def test_bench_memory_prints_one_row_per_scenario_from_its_own_worker_process():
    out = io.StringIO()
    call_command(
        "bench_memory", "--n", "2", "--response-cap", "2000000", "--image-cap", "600000", stdout=out
    )
    lines = out.getvalue().splitlines()

    assert lines[0].startswith("Peak worker RSS for one generation of n=2; response cap 2 MB")
    assert lines[1].split() == [
        "scenario", "answer", "MB", "images", "ok", "start", "MB", "call", "MB", "peak", "MB",
        "seconds", "outcome",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[3:6]}
    assert set(rows) == {"b64-at-cap", "b64-over-cap", "url-at-cap"}
    assert rows["b64-at-cap"][3] == "2"  # both images stored
    assert rows["url-at-cap"][3] == "2"
    assert rows["b64-over-cap"][3] == "0"
    assert rows["b64-over-cap"][8:12] == ["failed:", "The", "image", "service"]
    assert rows["b64-at-cap"][8] == "succeeded"
    for row in rows.values():
        start, call, peak = (int(value) for value in row[4:7])
        assert 0 < start <= call <= peak
