"""Screenshots of every page, in English and Chinese, desktop and phone, light and dark.

    python manage.py screenshots [--out screenshots] [--languages en zh-hans]
                                 [--sizes desktop phone] [--schemes light dark] [--pages ...]

For reviewing a change by eye: run it before and after, and compare the folders. It needs the
dev dependencies (Playwright) and Debian's chromium (/usr/bin/chromium, or CHROMIUM_PATH).

It never touches your database: it makes a throwaway SQLite database and media folder in a
temporary directory, fills them with a lived-in workspace (images drawn by the offline demo
model, a board, a team with members, a failed and a pending generation, an invitation, a share
link), serves them with `manage.py runserver` on a free loopback port, and signs in as the seed
user. Files are written as <out>/<language>/<size>-<scheme>/<page>.png (whole pages).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

ROOT = Path(__file__).resolve().parents[3]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
SCHEMES = ("light", "dark")
LANGUAGES = ("en", "zh-hans")
USERNAME, PASSWORD = "ada", "screenshots-pass-42"

# Runs in a subprocess on the throwaway database; prints "name=url" lines for pages of rows.
SEED = """
import django
django.setup()
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from gallery.models import Generation, Image, Role
from gallery.services import boards, generations, sharing, workspaces
from gallery.services.generations import GenerationParams, new_idempotency_key

User = get_user_model()
ada = User.objects.create_user("{username}", "ada@example.com", "{password}")
me = workspaces.create_personal_workspace(user=ada)
prompts = [
    "a watercolor fox under a neon moon",
    "霓虹月光下的水彩狐狸",
    "a lighthouse on a cliff at dusk, cinematic",
    "雨夜里的老上海街道，胶片质感",
]
made = []
for index, prompt in enumerate(prompts):
    params = GenerationParams(prompt=prompt, model="demo", n=2 if index % 2 else 1,
                              size="960x960" if index % 2 else "1280x720")
    generation, _created = generations.create_generation(
        membership=me, params=params, idempotency_key=new_idempotency_key())
    generations.run_generation(generation_id=generation.pk)
    made.append(generation)
images = list(Image.objects.filter(workspace=me.workspace).order_by("id"))
Image.objects.filter(pk=images[0].pk).update(is_favorite=True)
board = boards.create_board(membership=me, name="Foxes · 狐狸", visibility="workspace")
boards.add_images(board=board, membership=me, ids=[image.pk for image in images[:3]])
Image.objects.filter(pk=images[-1].pk).update(deleted_at=timezone.now())
failed = Generation.objects.create(
    workspace=me.workspace, created_by=ada, prompt="a fox that failed", model="demo",
    size="960x960", n=1, idempotency_key="failed", status="failed", error_kind="rejected",
    error_message="The image service refused the request.",
    error_i18n={{"msgid": "The image service refused the request."}},
    finished_at=timezone.now())
Generation.objects.create(
    workspace=me.workspace, created_by=ada, prompt="a fox on the way", model="demo",
    size="960x960", n=2, idempotency_key="pending", status="queued")
team = workspaces.create_team_workspace(user=ada, name="Studio 工作室")
for name, role in (("grace", Role.EDITOR), ("李雷", Role.VIEWER)):
    User.objects.create_user(name, f"{{name}}@example.invalid", "{password}")
    workspaces.add_member(workspace=team.workspace, username=name, role=role)
invitation, token = workspaces.create_invitation(
    membership=team, role=Role.VIEWER, days=7, max_uses=3)
link, share_token = sharing.create_share_link(
    membership=me, board=board, hours=168, allow_download=True, show_prompt=True)
print(f"image=/images/{{images[1].pk}}/")
print(f"generation=/generations/{{failed.pk}}/")
print(f"board=/boards/{{board.pk}}/")
print(f"team-members=/w/{{team.workspace.slug}}/members/")
print(f"invitation=/invite/{{invitation.pk}}/{{token}}/")
print(f"shared=/s/{{share_token}}/")
"""

# (name, path, signed in?); "{...}" names come from the seed.
PAGES: list[tuple[str, str, bool]] = [
    ("login", "/accounts/login/", False),
    ("signup", "/accounts/signup/", False),
    ("shared", "{shared}", False),
    ("invitation", "{invitation}", False),
    ("gallery", "/w/ada/", True),
    ("gallery-generations", "/w/ada/?view=generations", True),
    ("gallery-search-nothing", "/w/ada/?q=zebra", True),
    ("overlay", "/w/ada/#overlay", True),
    ("image", "{image}", True),
    ("generation-failed", "{generation}", True),
    ("prompts", "/w/ada/prompts/", True),
    ("usage", "/w/ada/usage/", True),
    ("boards", "/w/ada/boards/", True),
    ("board", "{board}", True),
    ("trash", "/w/ada/trash/", True),
    ("members", "/w/ada/members/", True),
    ("team-members", "{team-members}", True),
    ("budget", "/w/ada/budget/", True),
    ("shares", "/w/ada/shares/", True),
    ("workspace-new", "/workspaces/new/", True),
    ("settings", "/settings/", True),
    ("password", "/accounts/password/", True),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Command(BaseCommand):
    help = "Screenshots of every page in both languages, desktop and phone, light and dark."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default="screenshots", help="folder to write into")
        parser.add_argument("--languages", nargs="+", default=list(LANGUAGES), choices=LANGUAGES)
        parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
        parser.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=SCHEMES)
        parser.add_argument(
            "--pages", nargs="+", default=None, help="only these page names (default: all)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as error:
            raise CommandError(
                "Playwright is a dev dependency: pip install -e . --group dev"
            ) from error
        chromium = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
        if not chromium.exists():
            raise CommandError(f"{chromium} is missing: apt-get install chromium")
        if "zh-hans" in options["languages"] and not self._has_chinese_font():
            self.stderr.write(
                "No Chinese font is installed: Chinese text will show as empty boxes. Install "
                "one (Debian: apt-get install fonts-wqy-microhei, or fonts-noto-cjk)."
            )
        wanted = options["pages"]
        pages = [page for page in PAGES if wanted is None or page[0] in wanted]
        if not pages:
            raise CommandError(f"No such page; the pages are: {', '.join(p[0] for p in PAGES)}")
        out = Path(options["out"]).resolve()
        workdir = Path(tempfile.mkdtemp(prefix="atelier-screenshots-"))
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "MEDIA_ROOT": str(workdir / "media"),
            "IMAGES_API_KEY": "",
            "IMAGES_API_MODELS_FILE": "",
            "DJANGO_DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "gallery.settings",
            "ATELIER_SIGNUP": "open",
        }
        server = None
        try:
            self._run([sys.executable, "manage.py", "compile_translations", "-v", "0"], env)
            self._run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], env)
            seeded = self._run(
                [sys.executable, "-c", SEED.format(username=USERNAME, password=PASSWORD)], env
            )
            rows = dict(line.split("=", 1) for line in seeded.splitlines() if "=" in line)
            port = free_port()
            server = subprocess.Popen(  # noqa: S603 - our own manage.py
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            base_url = f"http://127.0.0.1:{port}"
            self._wait_for(base_url + "/accounts/login/")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"]
                )
                try:
                    written = self._shoot(browser, base_url, rows, pages, out, options)
                finally:
                    browser.close()
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
            shutil.rmtree(workdir, ignore_errors=True)
        self.stdout.write(f"{written} screenshots in {out}")

    def _has_chinese_font(self) -> bool:
        try:
            found = subprocess.run(
                ["fc-list", ":lang=zh"],  # noqa: S607 - fontconfig's own tool
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError:
            return True  # no fontconfig to ask: say nothing
        return bool(found.stdout.strip())

    def _run(self, command: list[str], env: dict[str, str]) -> str:
        result = subprocess.run(  # noqa: S603 - our own manage.py and seed
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise CommandError(f"{' '.join(command[:3])} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def _wait_for(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                    return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"The server did not answer at {url}")

    def _shoot(self, browser, base_url, rows, pages, out: Path, options) -> int:
        written = 0
        for language in options["languages"]:
            for size in options["sizes"]:
                for scheme in options["schemes"]:
                    width, height = SIZES[size]
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        color_scheme=scheme,
                        locale="zh-CN" if language == "zh-hans" else "en-US",
                        timezone_id="Asia/Shanghai" if language == "zh-hans" else "Europe/London",
                        is_mobile=size == "phone",
                        has_touch=size == "phone",
                    )
                    context.add_cookies(
                        [{"name": "django_language", "value": language, "url": base_url}]
                    )
                    try:
                        written += self._shoot_context(
                            context, base_url, rows, pages, out / language / f"{size}-{scheme}"
                        )
                    finally:
                        context.close()
        return written

    def _shoot_context(self, context, base_url, rows, pages, folder: Path) -> int:
        folder.mkdir(parents=True, exist_ok=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        signed_in = False
        written = 0
        for name, path, needs_login in sorted(pages, key=lambda page: page[2]):
            if needs_login and not signed_in:
                page.goto(base_url + "/accounts/login/")
                page.locator("#id_username").fill(USERNAME)
                page.locator("#id_password").fill(PASSWORD)
                page.locator("form[action='/accounts/login/'] [type=submit]").click()
                page.wait_for_url(lambda url: "/accounts/login/" not in url)
                signed_in = True
            path = path.format(**rows) if "{" in path else path
            if name == "overlay":
                page.goto(base_url + "/w/ada/")
                page.locator("#grid .tile a").first.click()
                page.locator("#overlay").wait_for(state="visible")
            else:
                page.goto(base_url + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
            written += 1
        page.close()
        return written
