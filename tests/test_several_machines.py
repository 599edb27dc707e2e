"""Atelier as several machines run it: 2 web processes (gunicorn) and 3 workers, each with its
own empty local disk, sharing only PostgreSQL and S3 object storage (SeaweedFS).

Generate through both web processes, kill a worker in the middle of a generation, and check
that nothing is lost or duplicated and that every file is reachable from every web process.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from gallery.models import Generation, Image
from tests.management.test_runserver_with_workers import free_port
from tests.workers import ROOT, wait_until

GENERATIONS = 4
IMAGES_EACH = 2


@pytest.fixture
def on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Several machines share PostgreSQL: this runs in make test's PostgreSQL pass.")


@pytest.fixture
def machines_env(on_postgresql, workers, s3_server) -> dict[str, str]:
    return {
        **workers.env,
        **s3_server.env(),
        "AWS_LOCATION": f"machines-{uuid.uuid4().hex[:8]}",  # this test's own prefix
        "GENERATION_LEASE_SECONDS": "2",
        "IMAGES_API_ALLOW_PRIVATE_URLS": "1",
    }


class Machine:
    """One process with its own empty MEDIA_ROOT, as if alone on its machine."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], root: Path) -> None:
        self.name = name
        self.media_root = root / name / "media"
        self.media_root.mkdir(parents=True)
        self.log_path = root / f"{name}.log"
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, "MEDIA_ROOT": str(self.media_root)},
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def terminate(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait(self) -> None:
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log(self) -> str:
        return f"--- {self.name}\n{self.log_path.read_text()}"


@pytest.fixture
def machines(machines_env, tmp_path) -> Iterator[dict[str, Machine]]:
    started: dict[str, Machine] = {}

    def web(name: str) -> None:
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "gallery.wsgi", "--graceful-timeout=2"]
        started[name] = Machine(
            name, [*command, f"--bind=127.0.0.1:{port}"], machines_env, tmp_path
        )
        started[name].url = f"http://127.0.0.1:{port}"

    def worker(name: str) -> None:
        command = [sys.executable, "manage.py", "worker", "--no-reload", "--no-startup-delay"]
        started[name] = Machine(
            name, [*command, "--interval=0.1", f"--worker-id={name}"], machines_env, tmp_path
        )

    try:
        web("web-a")
        web("web-b")
        for name in ("worker-1", "worker-2", "worker-3"):
            worker(name)
        yield started
    finally:
        for machine in started.values():  # all at once: each may take a moment to stop
            machine.terminate()
        for machine in started.values():
            machine.wait()


def logs(machines: dict[str, Machine]) -> str:
    return "\n".join(machine.log() for machine in machines.values())


def signed_in(url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=20, follow_redirects=False)

    def up() -> bool:
        try:
            return client.get("/accounts/login/").status_code == 200
        except httpx.TransportError:
            return False

    wait_until(up, timeout=30, message=f"{url} never answered")
    response = client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": url + "/accounts/login/"},
    )
    assert response.status_code == 302, response.text
    return client


def generate(client: httpx.Client, slug: str, prompt: str) -> None:
    page = client.get(f"/w/{slug}/")
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found, (page.status_code, page.headers.get("location"), page.text[:2000])
    token = found[1]
    response = client.post(
        f"/w/{slug}/generate/",
        data={
            "csrfmiddlewaretoken": token,
            "model": "grok-3-image",
            "prompt": prompt,
            "n": str(IMAGES_EACH),
            "size": "960x960",
            "response_format": "url",
            "idempotency_key": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 302, response.text


def test_two_web_processes_and_three_workers_share_only_the_database_and_object_storage(
    machines, user, workspace, password, fake_images_api, settings
):
    # The tests hash with MD5 for speed; the web processes know only the production hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user.set_password(password)
    user.save(update_fields=["password"])
    web_a = signed_in(machines["web-a"].url, user.username, password)
    web_b = signed_in(machines["web-b"].url, user.username, password)

    # The first call of this prompt hangs: its worker is killed in the middle of it.
    generate(web_a, workspace.slug, "a slow fox [fault:slow=4x1]")
    victim_generation = wait_until(
        lambda: Generation.objects.filter(status="running").first(),
        timeout=30,
        message=logs(machines),
    )
    wait_until(lambda: fake_images_api.generation_requests, timeout=10, message=logs(machines))
    task = DBTaskResult.objects.filter(status="RUNNING").get()
    victim = machines[task.worker_ids[-1]]
    os.killpg(victim.process.pid, signal.SIGKILL)
    victim.process.wait()

    for number in range(GENERATIONS - 1):
        generate(web_b if number % 2 else web_a, workspace.slug, f"fox number {number}")

    def all_finished() -> bool:
        return not Generation.objects.filter(status__in=["queued", "running"]).exists()

    wait_until(all_finished, timeout=45, message=logs(machines))

    # Nothing lost, nothing twice.
    finished = Generation.objects.all()
    assert finished.count() == GENERATIONS
    assert set(finished.values_list("status", flat=True)) == {"succeeded"}, logs(machines)
    assert Image.objects.count() == GENERATIONS * IMAGES_EACH
    victim_generation.refresh_from_db()
    assert victim_generation.attempts == 2
    assert victim_generation.images.count() == IMAGES_EACH

    # Every page and file from both web processes, the same bytes from each.
    for client in (web_a, web_b):
        page = client.get(f"/w/{workspace.slug}/").text
        for image in Image.objects.all():
            assert f'id="tile-{image.pk}"' in page
    for image in Image.objects.all():
        for path in (
            f"/images/{image.pk}/original/",
            f"/images/{image.pk}/thumbnail/small/",
            f"/images/{image.pk}/thumbnail/large/",
        ):
            bodies = [client.get(path) for client in (web_a, web_b)]
            assert [body.status_code for body in bodies] == [200, 200], (path, logs(machines))
            assert bodies[0].content == bodies[1].content
            if path.endswith("/original/"):
                assert hashlib.sha256(bodies[0].content).hexdigest() == image.sha256
        download = web_a.get(f"/images/{image.pk}/download/")
        assert download.status_code == 200
        assert b"atelier:provenance" in download.content

    # No process kept anything on its own disk.
    for machine in machines.values():
        assert list(machine.media_root.rglob("*")) == [], machine.name
