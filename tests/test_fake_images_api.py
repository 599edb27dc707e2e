"""The fake images API itself, as browser tests and operators use it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.fake_images_api import (
    png_dimensions,
)


def test_the_fake_runs_standalone_with_faults_chosen_by_the_prompt():
    # How browser tests with a real worker process use it: no in-process access at all.
    process = subprocess.Popen(
        [sys.executable, "-m", "gallery.fake_images_api", "--port", "0"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        base_url = line.removeprefix("Fake images API listening on ").strip()
        assert base_url.startswith("http://127.0.0.1:"), line
        with httpx.Client(base_url=base_url, timeout=10) as client:
            faulty = client.post(
                "/v1/images/generations", json={"model": "grok-3-image", "prompt": "[fault:500]"}
            )
            happy = client.post(
                "/v1/images/generations",
                json={"model": "grok-3-image", "prompt": "a cat", "size": "720x1280"},
            )
            image = client.get(happy.json()["data"][0]["url"])
            received = client.get("/__requests").json()
        assert faulty.status_code == 500
        assert png_dimensions(image.content) == (720, 1280)
        assert [r["json"]["prompt"] for r in received if r["method"] == "POST"] == [
            "[fault:500]",
            "a cat",
        ]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_fake_answers_in_one_write(fake_images_api):
    # Head and body in one segment: a head sent alone makes a small body wait on Nagle and the
    # client's delayed ACK (~40 ms a request on Linux), which would skew every timing.
    host, port = fake_images_api.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        first = connection.recv(65536)
    head, _, body = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: 3" in head
    assert body == b"ok\n"
