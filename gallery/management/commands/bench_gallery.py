"""Fill a throwaway database with a realistic gallery and time the pages people wait for.

    python manage.py bench_gallery [--generations 100000] [--total-generations 1000000]
                                   [--images 300000] [--team-generations 100000]
                                   [--team-members 20] [--small-share 0.01]
                                   [--repeat 30] [--keep] [--views]

Where the data goes: never into the configured database. The command asks Django's own test
database machinery (connection.creation.create_test_db, the code `manage.py test` trusts) for a
fresh database of the same engine and options, with the project's migrations applied: a file in
a new temporary directory for SQLite, a database named by --database-name (default
atelier_bench, dropped first if it exists) for PostgreSQL. The default connection points at it
for the duration, and it is dropped (and the connection pointed back) when the command ends,
unless --keep is given.

What it makes, among --total-generations generations in all: the personal workspace of one user
("bench") with --generations generations and --images images; a team workspace ("team") of
--team-members members (bench and others) holding --team-generations generations made by all of
them; a small personal workspace ("bench-small") holding --small-share of all
rows; the rest in other users' personal workspaces, one image per finished generation. Each
scenario is timed in the bench workspace, and the grid and search scenarios again in the team
and the small workspace (a small workspace must not pay for the big ones). Prompts come from an
English and a Chinese vocabulary with a long tail (some words common, most rare), a quarter
reuse one of their owner's earlier prompts (differently spaced or cased, as people retype them),
some carry a revised prompt; models, sizes, statuses, favourites, trash and usage JSON are mixed
as in real use. Rows are written with executemany (SQLite) or COPY (PostgreSQL); the SQLite
full-text index is filled once after the load (one INSERT ... SELECT) instead of row by row
through its triggers, which are put back afterwards.

What it prints: for each scenario, the median and 95th percentile over --repeat runs (after one
warm-up) of the service call that builds the page, including evaluating every row and related
row the page renders. With --views, the same scenarios are also requested through the gallery
view (Django's test Client, as a logged-in user) where one is given.
"""

from __future__ import annotations

import importlib
import itertools
import json
import math
import os
import random
import shutil
import statistics
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q
from django.test import Client
from django.test.utils import override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from gallery.models import Generation, Image, Membership, Role, Workspace, normalize_prompt
from gallery.services import browse
from gallery.services.search import filter_generations

# ----------------------------------------------------------------------------------------------
# The vocabulary. Each slot is a list ranked by how often people use it: picks follow Zipf's law,
# so the first words are everywhere and the tail is rare, as in real prompt logs.

# fmt: off
STYLES = [
    "photorealistic", "watercolor", "cinematic", "oil painting", "digital art", "anime",
    "pixel art", "isometric", "studio photo of", "pencil sketch of", "3d render of", "ukiyo-e",
    "low poly", "charcoal drawing of", "art nouveau", "vaporwave", "claymation", "gouache",
    "linocut", "stained glass", "papercut", "synthwave", "baroque", "blueprint of", "mosaic",
    "cyanotype", "pointillist", "risograph", "tilt-shift photo of", "daguerreotype",
]
ADJECTIVES = [
    "a", "a small", "a giant", "an ancient", "a glowing", "a sleepy", "a curious", "a tiny",
    "a majestic", "a robotic", "a mechanical", "a crystal", "a fluffy", "a melancholy",
    "a translucent", "a rusty", "a cheerful", "an origami", "a clockwork", "a bioluminescent",
]
SUBJECTS = [
    "cat", "dog", "fox", "dragon", "robot", "castle", "astronaut", "owl", "city", "forest",
    "lighthouse", "whale", "samurai", "wizard", "tiger", "mountain", "teapot", "bicycle",
    "jellyfish", "octopus", "mushroom", "spaceship", "knight", "panda", "rabbit", "deer",
    "violinist", "tram", "greenhouse", "windmill", "koi fish", "hummingbird", "bonsai tree",
    "submarine", "library", "train station", "hot air balloon", "crow", "lantern", "snail",
    "pagoda", "typewriter", "chess board", "ferris wheel", "beekeeper", "glacier", "cathedral",
    "tortoise", "harbor", "fennec", "narwhal", "axolotl", "zeppelin", "pangolin", "quokka",
    "capybara", "okapi", "armadillo", "manatee", "tardigrade", "aurochs", "basilisk", "kraken",
    "minotaur", "griffin", "chimera", "phoenix", "golem", "sphinx", "hydra",
]
PLACES = [
    "under a neon moon", "in a misty forest", "on a rainy street in Tokyo", "in space",
    "on the beach at sunset", "in a snowy village", "at the edge of the universe",
    "in a cozy kitchen", "on a floating island", "in an underwater city", "in the desert",
    "on a rooftop garden", "inside a snow globe", "in a bamboo grove", "at a night market",
    "in a flooded cathedral", "on Mars", "in a cyberpunk alley", "among the clouds",
    "in a Victorian greenhouse", "on a frozen lake", "in a lavender field", "inside a volcano",
    "in a coral reef", "at the bottom of a well", "on a chessboard", "in a paper city",
]
DETAILS = [
    "golden hour", "dramatic lighting", "soft morning light", "volumetric fog", "4k",
    "highly detailed", "pastel colors", "muted palette", "bokeh", "rim light", "long exposure",
    "wide angle", "macro", "symmetrical", "film grain", "octane render", "trending on artstation",
    "moody", "high contrast", "double exposure", "isometric view", "overcast",
]
ZH_ANIMALS = [
    "猫", "狗", "狐狸", "龙", "熊猫", "兔子", "老虎", "鲸鱼", "仙鹤", "金鱼", "猫头鹰", "鹿",
    "麒麟", "凤凰", "锦鲤", "松鼠", "刺猬", "水獭", "雪豹", "骆驼",
]
ZH_PLACES = [
    "月亮上", "竹林里", "雪山上", "城市屋顶上", "古镇的小巷里", "海边", "星空下", "樱花树下",
    "沙漠中", "云端", "湖面上", "灯笼街", "长城上", "茶园里", "雨夜的街头",
]
ZH_STYLES = [
    "水墨", "工笔", "赛博朋克", "油画", "像素", "水彩", "国潮", "剪纸", "敦煌壁画", "浮世绘",
]
ZH_LIGHT = ["夕阳", "月光", "霓虹灯光", "清晨的薄雾", "柔和的光线", "电影感光影"]
ZH_ADJECTIVES = ["可爱的", "巨大的", "发光的", "古老的", "睡着的", "机械的", "透明的"]
# The long tail: one prompt in twenty names one of these, so each is in a few prompts per
# ten thousand, like the thing you search for to find that one prompt from last spring.
TAIL = [
    "ocarina", "sextant", "astrolabe", "theremin", "zither", "gramophone", "abacus",
    "metronome", "harpsichord", "periscope", "samovar", "hourglass", "kaleidoscope", "quill",
    "lute", "accordion", "bagpipe", "banjo", "barometer", "bellows", "candelabra", "carousel",
    "catapult", "cauldron", "chandelier", "compass rose", "cuckoo clock", "dirigible",
    "dreamcatcher", "easel", "fiddle", "figurehead", "gargoyle", "globe", "gondola", "harp",
    "jukebox", "kiln", "lantern fish", "loom", "marionette", "monocle", "mortar and pestle",
    "music box", "orrery", "pocket watch", "pinwheel", "quiver", "rocking horse", "sundial",
    "spinning wheel", "tapestry", "telescope", "tuba", "unicycle", "weathervane", "xylophone",
    "yurt", "zoetrope", "bassoon", "clavichord", "didgeridoo", "dulcimer", "glockenspiel",
    "hurdy-gurdy", "kazoo", "mandolin", "oboe", "piccolo", "sitar", "ukulele", "vibraphone",
]
ZH_TAIL = [
    "油纸伞", "青花瓷", "走马灯", "不倒翁", "万花筒", "八音盒", "九连环", "七巧板", "拨浪鼓",
    "糖葫芦", "中国结", "紫砂壶", "景泰蓝", "唐三彩", "兵马俑", "浑天仪", "日晷仪", "铜香炉",
    "文房四宝", "舞狮头", "皮影戏", "剪纸窗花", "琉璃灯", "青铜鼎", "竹蜻蜓", "风车阵",
]
TAIL_SHARE = 0.05
ZH_COMMA = "\uff0c"  # the full-width comma Chinese text uses

MODELS = [
    # (model, weight, sizes, aspect ratios)
    ("gpt-image-1", 40, ["1024x1024", "1536x1024", "1024x1536", "auto"], [""]),
    ("grok-3-image", 25, ["960x960", "1280x720", "720x1280"], ["1:1", "16:9", "9:16"]),
    ("dall-e-3", 20, ["1024x1024", "1792x1024", "1024x1792"], [""]),
    ("dall-e-2", 10, ["256x256", "512x512", "1024x1024"], [""]),
    ("demo", 5, ["960x960", "1168x784", "784x1168"], ["1:1", "3:2", "2:3"]),
]
STATUSES = [
    (Generation.Status.SUCCEEDED, 90),
    (Generation.Status.PARTIAL, 4),
    (Generation.Status.FAILED, 4),
    (Generation.Status.CANCELED, 2),
]
# fmt: on

# What the scenarios search for: tail words (finding that one prompt from last spring, where an
# index matters most), common ones (where walking the newest rows also finds a page at once), a
# word no prompt holds, and a term too short for trigrams.
RARE_ENGLISH = "ocarina"
RARE_CHINESE = "青花瓷"
COMMON_CHINESE = "一只猫"
COMMON_ENGLISH = "moon"
MISSING_WORD = "platypus"
SHORT_TERM = "猫"
FILTER_MODEL = "dall-e-3"
TRASHED_SHARE = 0.01
FAVORITE_SHARE = 0.03
REUSE_SHARE = 0.25
REVISED_SHARE = 0.3
CHINESE_SHARE = 0.3
DEEP_PAGE = 1000
PAGE_TARGET_MS = 20
SPAN = timedelta(days=730)


def zipf_weights(count: int) -> list[float]:
    return list(_cumulative([1 / rank for rank in range(1, count + 1)]))


def _cumulative(values: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


class PromptMaker:
    """Varied prompts: "a watercolor fox under a neon moon", "画一只猫在月亮上"."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.weights = {
            id(words): zipf_weights(len(words))
            for words in (
                STYLES,
                ADJECTIVES,
                SUBJECTS,
                PLACES,
                DETAILS,
                ZH_ANIMALS,
                ZH_PLACES,
                ZH_STYLES,
                ZH_LIGHT,
                ZH_ADJECTIVES,
            )
        }

    def pick(self, words: list[str]) -> str:
        return self.rng.choices(words, cum_weights=self.weights[id(words)])[0]

    def english(self) -> str:
        rng, pick = self.rng, self.pick
        form = rng.random()
        if form < 0.4:
            return f"{pick(ADJECTIVES)} {pick(STYLES)} {pick(SUBJECTS)} {pick(PLACES)}"
        if form < 0.75:
            text = f"{pick(STYLES)} {pick(ADJECTIVES)} {pick(SUBJECTS)} {pick(PLACES)}"
            return f"{text}, {pick(DETAILS)}, {pick(DETAILS)}"
        return f"{pick(SUBJECTS)} and {pick(SUBJECTS)} {pick(PLACES)}, {pick(DETAILS)}"

    def chinese(self) -> str:
        rng, pick = self.rng, self.pick
        form = rng.random()
        if form < 0.4:
            return f"画一只{pick(ZH_ANIMALS)}在{pick(ZH_PLACES)}"
        if form < 0.7:
            parts = (
                f"一只{pick(ZH_ADJECTIVES)}{pick(ZH_ANIMALS)}",
                pick(ZH_PLACES),
                pick(ZH_LIGHT),
            )
            return ZH_COMMA.join(parts)
        return f"{pick(ZH_STYLES)}风格的{pick(ZH_ANIMALS)}{ZH_COMMA}{pick(ZH_LIGHT)}"

    def fresh(self) -> str:
        rng = self.rng
        if rng.random() < CHINESE_SHARE:
            prompt = self.chinese()
            if rng.random() < TAIL_SHARE:
                prompt += f"{ZH_COMMA}旁边有{rng.choice(ZH_TAIL)}"
            return prompt
        prompt = self.english()
        if rng.random() < TAIL_SHARE:
            prompt += f", with a {rng.choice(TAIL)}"
        return prompt

    def retyped(self, prompt: str) -> str:
        """The same prompt as someone types it again: same words, other case or spacing."""
        roll = self.rng.random()
        if roll < 0.7:
            return prompt
        if roll < 0.85:
            return prompt.capitalize()
        return "  " + prompt.replace(" ", "  ") + " "

    def revised(self, prompt: str) -> str:
        return (
            f"A {self.pick(DETAILS)} image: {prompt}, rendered with {self.pick(DETAILS)} and "
            f"careful composition."
        )


# ----------------------------------------------------------------------------------------------
# The data plan: every generation's workspace, maker, status and image count decided up front
# (a few small lists), so rows can be streamed to the database in batches.


@dataclass
class Plan:
    generations: int
    total_generations: int
    images: int
    seed: int
    team_generations: int = 0
    small_generations: int = 0
    workspaces: list[int] = field(default_factory=list)  # workspace id per generation, id order
    creators: list[int] = field(default_factory=list)  # the user who made each generation
    image_counts: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    workspace_id: int = 0  # the bench user's personal workspace

    @property
    def user_images(self) -> int:
        pairs = zip(self.workspaces, self.image_counts, strict=True)
        return sum(count for workspace, count in pairs if workspace == self.workspace_id)

    @property
    def other_generations(self) -> int:
        return (
            self.total_generations
            - self.generations
            - self.team_generations
            - self.small_generations
        )


@dataclass(frozen=True)
class Population:
    """Who is in the bench database: the workspaces and the users making their rows."""

    bench_workspace: int
    team_workspace: int
    team_members: list[int]  # user ids, bench first
    small_workspace: int
    creator_of: dict[int, int]  # personal workspace id -> its user id
    other_workspaces: list[int]


def make_plan(plan: Plan, people: Population, rng: random.Random) -> None:
    workspace_id = people.bench_workspace
    owners = (
        [workspace_id] * plan.generations
        + [people.team_workspace] * plan.team_generations
        + [people.small_workspace] * plan.small_generations
        + [
            people.other_workspaces[i % len(people.other_workspaces)]
            for i in range(plan.other_generations)
        ]
    )
    rng.shuffle(owners)
    team_turn = itertools.count()
    creators = [
        people.team_members[next(team_turn) % len(people.team_members)]
        if owner == people.team_workspace
        else people.creator_of[owner]
        for owner in owners
    ]
    user_id = workspace_id
    statuses = rng.choices(
        [status for status, _ in STATUSES],
        weights=[weight for _, weight in STATUSES],
        k=len(owners),
    )
    # The user's newest few are still being made, as on a real account.
    pending_left = min(3, plan.generations)
    for position in range(len(owners) - 1, -1, -1):
        if not pending_left:
            break
        if owners[position] == user_id:
            statuses[position] = Generation.Status.RUNNING
            pending_left -= 1
    image_counts = []
    for owner, status in zip(owners, statuses, strict=True):
        if status not in (Generation.Status.SUCCEEDED, Generation.Status.PARTIAL):
            image_counts.append(0)
        elif owner == user_id:
            image_counts.append(rng.choice((1, 1, 2, 4, 4, 4)))
        else:
            image_counts.append(1)
    # Move the user's total to exactly --images, one image at a time, within 1..10 each.
    mine = [
        position
        for position, owner in enumerate(owners)
        if owner == user_id and image_counts[position]
    ]
    if mine:
        wanted = min(plan.images, 10 * len(mine))
        difference = wanted - sum(image_counts[position] for position in mine)
        step = 1 if difference > 0 else -1
        while difference:
            position = rng.choice(mine)
            after = image_counts[position] + step
            if 1 <= after <= 10:
                image_counts[position] = after
                difference -= step
    plan.workspaces, plan.creators, plan.statuses, plan.image_counts, plan.workspace_id = (
        owners,
        creators,
        statuses,
        image_counts,
        workspace_id,
    )


def usage_json(rng: random.Random, status: str, images: int) -> str | None:
    if status in (Generation.Status.FAILED, Generation.Status.CANCELED):
        return None
    roll = rng.random()
    inputs = rng.randint(8, 120)
    outputs = images * rng.choice((272, 1056, 4160))
    if roll < 0.6:
        usage: Any = {
            "total_tokens": inputs + outputs,
            "input_tokens": inputs,
            "output_tokens": outputs,
        }
    elif roll < 0.8:
        usage = {"input_tokens": inputs, "output_tokens": outputs}
    elif roll < 0.95:
        return None
    else:
        usage = rng.choice(
            (
                [],
                {"total_tokens": str(inputs)},
                {"total_tokens": None},
                {"prompt_tokens": inputs},
                "n/a",
            )
        )
    return json.dumps(usage)


# The columns written, in order (check_columns() fails the run if the models grow another).
# fmt: off
GENERATION_COLUMNS = (
    "id", "workspace_id", "created_by_id", "parent_id", "idempotency_key", "prompt",
    "prompt_normalized", "model", "size", "aspect_ratio", "n", "quality", "resolution",
    "response_format", "estimated_cost", "extra_params", "status", "error_kind",
    "error_message", "error_i18n", "request_body", "response_created", "usage", "revised_prompt",
    "attempts", "lease_owner", "lease_expires_at", "created_at", "started_at", "finished_at",
    "api_ms", "download_ms", "deleted_at",
)
IMAGE_COLUMNS = (
    "id", "generation_id", "workspace_id", "created_by_id", "index", "original", "format",
    "width", "height", "bytes", "sha256", "thumbnail_small", "thumbnail_large",
    "placeholder_color", "revised_prompt", "is_favorite", "created_at", "deleted_at",
)
# fmt: on


def check_columns() -> None:
    """Fail loudly (not with a NOT NULL error deep in a COPY) when the models grew a column."""
    for model, columns in ((Generation, GENERATION_COLUMNS), (Image, IMAGE_COLUMNS)):
        actual = {f.column for f in model._meta.concrete_fields}
        if actual != set(columns):
            raise CommandError(
                f"bench_gallery writes {model.__name__} rows by hand and its columns changed: "
                f"missing {sorted(actual - set(columns))}, extra {sorted(set(columns) - actual)}."
            )


def dimensions(size: str) -> tuple[int, int]:
    width, _, height = size.partition("x")
    if width.isdigit() and height.isdigit():
        return int(width), int(height)
    return 1024, 1024


def generate_rows(
    plan: Plan, rng: random.Random, now: datetime
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """(generation row, its image rows) in id order, values as Python objects."""
    prompts = PromptMaker(rng)
    recent_prompts: dict[int, list[str]] = {}
    start = now - SPAN
    step = SPAN / max(plan.total_generations, 1)
    image_id = 0
    model_weights = [weight for _, weight, _, _ in MODELS]
    for position, (owner, creator, status, image_count) in enumerate(
        zip(plan.workspaces, plan.creators, plan.statuses, plan.image_counts, strict=True)
    ):
        generation_id = position + 1
        history = recent_prompts.setdefault(owner, [])
        if history and rng.random() < REUSE_SHARE:
            prompt = prompts.retyped(rng.choice(history))
        else:
            prompt = prompts.fresh()
            history.append(prompt)
            if len(history) > 300:
                del history[:100]
        model, _, sizes, ratios = rng.choices(MODELS, weights=model_weights)[0]
        size, aspect_ratio = rng.choice(sizes), rng.choice(ratios)
        created_at = start + step * position + timedelta(milliseconds=rng.randint(0, 500))
        finished = status not in Generation.PENDING_STATUSES
        api_ms = rng.randint(3_000, 60_000)
        finished_at = created_at + timedelta(milliseconds=api_ms + 800) if finished else None
        trashed = finished and rng.random() < TRASHED_SHARE
        deleted_at = finished_at + timedelta(days=1) if trashed else None
        revised = prompts.revised(prompt) if rng.random() < REVISED_SHARE else ""
        failed = status == Generation.Status.FAILED
        generation = {
            "id": generation_id,
            "workspace_id": owner,
            "created_by_id": creator,
            "parent_id": None,
            "idempotency_key": f"bench-{generation_id}",
            "prompt": prompt,
            "prompt_normalized": normalize_prompt(prompt),  # bulk inserts bypass save()
            "model": model,
            "size": size,
            "aspect_ratio": aspect_ratio,
            "n": max(image_count, 1),
            "quality": "",
            "resolution": "",
            "response_format": "",
            "estimated_cost": None,  # rows from before budgets: they count nothing
            "extra_params": "{}",
            "status": status,
            "error_kind": "api_error" if failed else "",
            "error_message": "The provider refused the request." if failed else "",
            "error_i18n": None,  # shown as error_message, like rows from before it
            "request_body": None,
            "response_created": int(created_at.timestamp()) if finished else None,
            "usage": usage_json(rng, status, image_count),
            "revised_prompt": revised,
            "attempts": 1,
            "lease_owner": "",
            "lease_expires_at": None,
            "created_at": created_at,
            "started_at": created_at if finished else None,
            "finished_at": finished_at,
            "api_ms": api_ms if finished else None,
            "download_ms": rng.randint(50, 900) if finished else None,
            "deleted_at": deleted_at,
        }
        images = []
        width, height = dimensions(size)
        for index in range(image_count):
            image_id += 1
            digest = f"{rng.getrandbits(256):064x}"
            image_trashed = deleted_at or (
                finished_at + timedelta(hours=1) if rng.random() < 0.005 else None
            )
            image = {
                "id": image_id,
                "generation_id": generation_id,
                "workspace_id": owner,
                "created_by_id": creator,
                "index": index,
                "original": f"w{owner}/originals/{digest}.png",
                "format": "png",
                "width": width,
                "height": height,
                "bytes": rng.randint(200_000, 3_000_000),
                "sha256": digest,
                "thumbnail_small": f"w{owner}/thumbnails/{digest[:32]}-s.webp",
                "thumbnail_large": f"w{owner}/thumbnails/{digest[:32]}-l.webp",
                "placeholder_color": f"#{rng.getrandbits(24):06x}",
                "revised_prompt": "",
                "is_favorite": rng.random() < FAVORITE_SHARE,
                "created_at": finished_at,
                "deleted_at": image_trashed,
            }
            images.append(tuple(image[column] for column in IMAGE_COLUMNS))
        yield tuple(generation[column] for column in GENERATION_COLUMNS), images


# ----------------------------------------------------------------------------------------------
# Writing rows: executemany on SQLite, COPY on PostgreSQL.


def sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # What Django's SQLite backend stores: naive UTC text.
        return str(value.astimezone(UTC).replace(tzinfo=None))
    return value


def write_rows(
    rows: Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]], batch: int = 20_000
) -> tuple[int, int]:
    generation_table, image_table = Generation._meta.db_table, Image._meta.db_table
    quote = connection.ops.quote_name
    generation_columns = ", ".join(quote(column) for column in GENERATION_COLUMNS)
    image_columns = ", ".join(quote(column) for column in IMAGE_COLUMNS)
    generations_written = images_written = 0
    if connection.vendor == "postgresql":
        copy_generations = f"COPY {quote(generation_table)} ({generation_columns}) FROM STDIN"
        copy_images = f"COPY {quote(image_table)} ({image_columns}) FROM STDIN"

        def write_batch(generation_rows: list, image_rows: list) -> None:
            # Generations before their images, batch by batch: memory stays bounded.
            with connection.cursor() as cursor:
                with cursor.cursor.copy(copy_generations) as copy:
                    for row in generation_rows:
                        copy.write_row(row)
                with cursor.cursor.copy(copy_images) as copy:
                    for row in image_rows:
                        copy.write_row(row)
            generation_rows.clear()
            image_rows.clear()

        generation_batch: list[tuple[Any, ...]] = []
        image_batch: list[tuple[Any, ...]] = []
        for generation, images in rows:
            generation_batch.append(generation)
            image_batch.extend(images)
            generations_written += 1
            images_written += len(images)
            if len(generation_batch) >= batch:
                write_batch(generation_batch, image_batch)
        write_batch(generation_batch, image_batch)
        return generations_written, images_written

    raw = connection.connection  # the sqlite3 connection: no per-row Django overhead
    # Table and column names come from the models, values are parameters.
    generation_sql = (
        f"INSERT INTO {quote(generation_table)} ({generation_columns}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(GENERATION_COLUMNS))})"
    )
    image_sql = (
        f"INSERT INTO {quote(image_table)} ({image_columns}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(IMAGE_COLUMNS))})"
    )
    generation_batch = []
    image_batch = []

    def flush() -> None:
        raw.executemany(generation_sql, generation_batch)
        raw.executemany(image_sql, image_batch)
        generation_batch.clear()
        image_batch.clear()

    for generation, images in rows:
        generation_batch.append(tuple(map(sqlite_value, generation)))
        image_batch.extend(tuple(map(sqlite_value, image)) for image in images)
        generations_written += 1
        images_written += len(images)
        if len(generation_batch) >= batch:
            flush()
    flush()
    return generations_written, images_written


def sqlite_search_index() -> tuple[list[str], list[str], str]:
    """The trigger statements of the search migration and its statement filling the index from
    the table (so this never drifts from it)."""
    migration = importlib.import_module("gallery.migrations._workspaces")
    create = [sql for sql in migration.NEW_SQLITE_FTS if "CREATE TRIGGER" in sql]
    drop = [sql for sql in migration.OLD_SQLITE_FTS if "DROP TRIGGER" in sql]
    (populate,) = [sql for sql in migration.NEW_SQLITE_FTS if "SELECT" in sql]
    return create, drop, populate


def populate(plan: Plan, team_members: int) -> Population:
    """Users, their personal workspaces, the team and its memberships (a few thousand rows)."""
    User = get_user_model()
    others = max(team_members, min(1000, plan.other_generations // 10_000))
    names = ["bench", "bench-small", *(f"bench-{i}" for i in range(others))]
    User.objects.bulk_create([User(username=name, email=f"{name}@example.com") for name in names])
    users = {user.username: user.pk for user in User.objects.filter(username__in=names)}
    Workspace.objects.bulk_create(
        [Workspace(name=name, slug=name, is_personal=True) for name in names]
        + [Workspace(name="team", slug="team")]
    )
    workspace_ids = dict(Workspace.objects.values_list("slug", "pk"))
    team = [users["bench"], *(users[f"bench-{i}"] for i in range(team_members - 1))]
    Membership.objects.bulk_create(
        [
            Membership(workspace_id=workspace_ids[name], user_id=users[name], role=Role.OWNER)
            for name in names
        ]
        + [
            Membership(
                workspace_id=workspace_ids["team"],
                user_id=user_id,
                role=Role.OWNER if user_id == users["bench"] else Role.EDITOR,
            )
            for user_id in team
        ]
    )
    return Population(
        bench_workspace=workspace_ids["bench"],
        team_workspace=workspace_ids["team"],
        team_members=team,
        small_workspace=workspace_ids["bench-small"],
        creator_of={workspace_ids[name]: users[name] for name in names},
        other_workspaces=[workspace_ids[f"bench-{i}"] for i in range(others)],
    )


def fill(plan: Plan, *, team_members: int, log: Callable[[str], None]) -> None:
    rng = random.Random(plan.seed)  # noqa: S311 (reproducible data, not secrets)
    check_columns()
    make_plan(plan, populate(plan, team_members), rng)
    now = datetime.now(UTC)

    started = time.perf_counter()
    if connection.vendor == "sqlite":
        create_triggers, drop_triggers, fill_index = sqlite_search_index()
        with transaction.atomic():
            for statement in drop_triggers:
                connection.cursor().execute(statement)
            written = write_rows(generate_rows(plan, rng, now))
            log(f"  rows written in {time.perf_counter() - started:.1f}s")
            phase = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(fill_index)
                cursor.execute(
                    "INSERT INTO gallery_generation_fts(gallery_generation_fts) VALUES ('optimize')"
                )
                for statement in create_triggers:
                    cursor.execute(statement)
            log(f"  full-text index built in {time.perf_counter() - phase:.1f}s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with transaction.atomic():
            written = write_rows(generate_rows(plan, rng, now))
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Generation, Image]):
                    cursor.execute(sql)
        log(f"  rows written and indexed in {time.perf_counter() - started:.1f}s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    log(
        f"  {written[0]:,} generations and {written[1]:,} images "
        f"(the user's: {plan.generations:,} and {plan.user_images:,})"
    )


# ----------------------------------------------------------------------------------------------
# The throwaway database.


@contextmanager
def bench_database(*, name: str, keep: bool, log: Callable[[str], None]) -> Iterator[str]:
    """Point the default connection at a new, migrated database; drop it afterwards."""
    alias = DEFAULT_DB_ALIAS
    db = connections[alias]
    original_name = db.settings_dict["NAME"]
    original_test = dict(db.settings_dict.get("TEST") or {})
    temporary_directory = None
    if db.vendor == "sqlite":
        temporary_directory = tempfile.mkdtemp(prefix="atelier-bench-")
        bench_name = os.path.join(temporary_directory, "bench.sqlite3")
    elif db.vendor == "postgresql":
        bench_name = name
    else:
        raise CommandError(f"bench_gallery supports SQLite and PostgreSQL, not {db.vendor}.")
    if str(bench_name) == str(original_name):
        raise CommandError(f"Refusing to fill the configured database {original_name!r}.")

    # The search index comes from a migration: the bench database is always migrated.
    db.settings_dict["TEST"] = {**original_test, "NAME": bench_name, "MIGRATE": True}
    db.close()
    # A PostgreSQL pool keeps connections to the database it was made for: drop it here and
    # when switching back, so each side makes its own.
    close_pool = getattr(db, "close_pool", lambda: None)
    close_pool()
    created = False
    try:
        db.creation.create_test_db(verbosity=0, autoclobber=True)
        created = True
        yield str(bench_name)
    finally:
        db.settings_dict["TEST"] = original_test
        if created and not keep:
            db.creation.destroy_test_db(original_name, verbosity=0)
        else:
            db.close()
            settings.DATABASES[alias]["NAME"] = original_name
            db.settings_dict["NAME"] = original_name
        close_pool()
        if temporary_directory and not keep:
            shutil.rmtree(temporary_directory, ignore_errors=True)
        if keep and created:
            log(f"Kept the bench database: {bench_name}")


# ----------------------------------------------------------------------------------------------
# Scenarios and timing.


@dataclass(frozen=True)
class ViewRequest:
    """The same page requested through its view: a URL name, its query, and whether htmx asks
    (infinite scroll fetches later pages as fragments)."""

    url_name: str
    query: dict[str, str] = field(default_factory=dict)
    htmx: bool = False


@dataclass
class Scenario:
    name: str
    run: Callable[[], int]  # builds the page and touches what the page renders; returns rows
    view: ViewRequest | None = None
    matches: int | None = None  # the user's generations the search matches
    baseline_of: str = ""  # for a plain-scan baseline: the scenario it is the ratio to beat
    deep_of: str = ""  # for a deep page: the first page it is compared with


@dataclass
class Timing:
    scenario: Scenario
    rows: int
    service_ms: list[float]
    view_ms: list[float] = field(default_factory=list)


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def timed(function: Callable[[], Any], repeat: int) -> tuple[Any, list[float]]:
    result = function()  # warm-up: caches, prepared statements, first connection
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return result, times


def render_images(page: browse.Page[Image]) -> int:
    for image in page.items:
        _ = (image.thumbnail_small.name, image.generation.prompt, image.generation.model)
    return len(page.items)


def render_generations(page: browse.Page[Generation]) -> int:
    for generation in page.items:
        _ = [image.thumbnail_small.name for image in generation.images.all()]
    return len(page.items)


def render_history(page: browse.Page[browse.PromptSummary]) -> int:
    for item in page.items:
        _ = [image.thumbnail_small.name for image in item.thumbnails]
    return len(page.items)


def scan_baseline(membership: Membership, word: str) -> Callable[[], int]:
    """The first grid page of a search done the naive way: icontains over the workspace's images,
    newest first (it stops as soon as it has a page, so it is only slow for rare words)."""

    def run() -> int:
        images = (
            Image.objects.for_member(membership)
            .live()
            .filter(
                Q(generation__prompt__icontains=word)
                | Q(generation__revised_prompt__icontains=word)
            )
            .select_related("generation")
            .order_by("-id")[:49]
        )
        return render_images(browse.Page(items=list(images)[:48], next_cursor=None))

    return run


def deep_cursor(queryset: Any, per_page: int, pages: int) -> tuple[str | None, int]:
    """The cursor that opens page `pages` + 1 (computed once with OFFSET, outside the timing),
    and the page number it really opens when there are fewer rows."""
    available = queryset.count()
    page_count = max(1, math.ceil(available / per_page))
    depth = min(pages, page_count - 1)
    if depth <= 0:
        return None, 1
    last_id = queryset.order_by("-id").values_list("id", flat=True)[depth * per_page - 1]
    return str(last_id), depth + 1


# In the team and the small workspace, only these are timed again (the grid and search).
SUBJECT_SCENARIOS = (
    "image grid, first page",
    "generation grid, first page",
    "search 'ocarina' (rare English)",
    "search '一只猫' (common Chinese)",
    "search 'moon' (common English)",
    "search 'platypus' (no match)",
    "search 'moon' + model=dall-e-3 + favorites",
    "prompt history, first page",
)


def scenarios(membership: Membership, *, label: str = "") -> list[Scenario]:
    """Every scenario in the member's workspace; with a label (another workspace than the bench
    user's own), only SUBJECT_SCENARIOS, named with the label."""
    Filters = browse.GridFilters
    workspace_id = membership.workspace_id

    def images(filters: Filters, cursor: str | None = None) -> Callable[[], int]:
        return lambda: render_images(
            browse.image_page(membership=membership, filters=filters, cursor=cursor)
        )

    def generations(filters: Filters, cursor: str | None = None) -> Callable[[], int]:
        return lambda: render_generations(
            browse.generation_page(membership=membership, filters=filters, cursor=cursor)
        )

    def matches(query: str) -> int:
        live = Generation.objects.for_member(membership).live()
        return filter_generations(live, query=query, workspace_id=workspace_id).count()

    def index(query: dict[str, str], *, htmx: bool = False) -> ViewRequest:
        return ViewRequest("gallery:index", {k: v for k, v in query.items() if v}, htmx)

    def search(label: str, word: str, **filters: Any) -> Scenario:
        grid = Filters(q=word, **filters)
        return Scenario(
            f"search {word!r}{label}", images(grid), index(grid.as_query()), matches=matches(word)
        )

    def baseline(word: str, of: str) -> Scenario:
        return Scenario(
            f"scan baseline: icontains {word!r}",
            scan_baseline(membership, word),
            matches=matches(word),
            baseline_of=of,
        )

    image_cursor, image_depth = deep_cursor(
        Image.objects.for_member(membership).live(), 48, DEEP_PAGE - 1
    )
    generation_cursor, generation_depth = deep_cursor(
        Generation.objects.for_member(membership).live(), 24, DEEP_PAGE - 1
    )
    a_year_ago = timezone.localdate() - timedelta(days=365)
    one_day = Filters(date_from=a_year_ago, date_to=a_year_ago)
    model_favorites = Filters(model=FILTER_MODEL, favorites=True)
    rare_english = search(" (rare English)", RARE_ENGLISH)
    rare_chinese = search(" (rare Chinese)", RARE_CHINESE)
    common_chinese = search(" (common Chinese)", COMMON_CHINESE)
    missing = search(" (no match)", MISSING_WORD)
    everything = [
        Scenario("image grid, first page", images(Filters()), index({})),
        Scenario(
            f"image grid, page {image_depth}",
            images(Filters(), image_cursor),
            index({"cursor": image_cursor or ""}, htmx=True),
            deep_of="image grid, first page",
        ),
        Scenario(
            "generation grid, first page",
            generations(Filters()),
            index({"view": "generations"}),
        ),
        Scenario(
            f"generation grid, page {generation_depth}",
            generations(Filters(), generation_cursor),
            index({"view": "generations", "cursor": generation_cursor or ""}, htmx=True),
            deep_of="generation grid, first page",
        ),
        rare_english,
        rare_chinese,
        common_chinese,
        search(" (common English)", COMMON_ENGLISH),
        missing,
        search(" (1 character)", SHORT_TERM),
        Scenario(
            f"filter model={FILTER_MODEL} + favorites",
            images(model_favorites),
            index(model_favorites.as_query()),
        ),
        Scenario("filter one day a year ago", images(one_day), index(one_day.as_query())),
        search(
            f" + model={FILTER_MODEL} + favorites",
            COMMON_ENGLISH,
            model=FILTER_MODEL,
            favorites=True,
        ),
        Scenario(
            "prompt history, first page",
            lambda: render_history(browse.prompt_history(membership=membership)),
            ViewRequest("gallery:prompts"),
        ),
        Scenario(
            f"prompt history, search {RARE_ENGLISH!r}",
            lambda: render_history(
                browse.prompt_history(membership=membership, query=RARE_ENGLISH)
            ),
            ViewRequest("gallery:prompts", {"q": RARE_ENGLISH}),
            matches=matches(RARE_ENGLISH),
        ),
        Scenario(
            "usage summary, 30 days",
            lambda: len(browse.usage_summary(membership=membership, days=30).days),
            ViewRequest("gallery:usage"),
        ),
        baseline(RARE_ENGLISH, rare_english.name),
        baseline(RARE_CHINESE, rare_chinese.name),
        baseline(COMMON_CHINESE, common_chinese.name),
        baseline(MISSING_WORD, missing.name),
    ]
    if not label:
        return everything
    chosen = [scenario for scenario in everything if scenario.name in SUBJECT_SCENARIOS]
    for scenario in chosen:
        scenario.name = f"{label}: {scenario.name}"
    return chosen


def view_runner(membership: Membership) -> Callable[[ViewRequest], float | None]:
    """Times one request through Django's test Client as the member (middleware, session, auth,
    view, template): None when the project has no such URL."""
    client = Client()
    client.force_login(membership.user)

    def run(request: ViewRequest) -> float | None:
        try:
            url = reverse(request.url_name, kwargs={"slug": membership.workspace.slug})
        except NoReverseMatch:
            return None
        headers = {"HX-Request": "true"} if request.htmx else {}
        started = time.perf_counter()
        response = client.get(url, request.query, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise CommandError(f"GET {url} {request.query} answered {response.status_code}")
        return elapsed

    return run


class Command(BaseCommand):
    help = "Fill a throwaway database with a large gallery and time its pages (see module doc)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--generations",
            type=int,
            default=100_000,
            help="the benchmarked user's generations (default 100000)",
        )
        parser.add_argument(
            "--total-generations",
            type=int,
            default=1_000_000,
            help="generations of all users together (default 1000000)",
        )
        parser.add_argument(
            "--images",
            type=int,
            default=300_000,
            help="the benchmarked user's images (default 300000)",
        )
        parser.add_argument(
            "--team-generations",
            type=int,
            default=100_000,
            help="generations of the team workspace (default 100000)",
        )
        parser.add_argument(
            "--team-members",
            type=int,
            default=20,
            help="members of the team workspace, who all make its rows (default 20)",
        )
        parser.add_argument(
            "--small-share",
            type=float,
            default=0.01,
            help="the small workspace's share of all generations (default 0.01)",
        )
        parser.add_argument(
            "--repeat",
            type=int,
            default=30,
            help="timed runs per scenario, after one warm-up (default 30)",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--keep", action="store_true", help="keep the bench database and print where it is"
        )
        parser.add_argument(
            "--views",
            action="store_true",
            help="also time each page through its view (Django's test Client, logged in)",
        )
        parser.add_argument(
            "--database-name",
            default="atelier_bench",
            help="PostgreSQL only: the database to create (and drop)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        generations, total = options["generations"], options["total_generations"]
        team_generations = options["team_generations"]
        small_generations = max(1, round(total * options["small_share"]))
        if generations < 1 or options["images"] < 0 or team_generations < 1:
            raise CommandError("Need --generations >= 1, --team-generations >= 1, --images >= 0.")
        if total < generations + team_generations + small_generations:
            raise CommandError(
                "--total-generations must hold --generations, --team-generations and the small "
                "workspace's share."
            )
        if options["repeat"] < 1 or options["team_members"] < 1:
            raise CommandError("--repeat and --team-members must be at least 1.")
        plan = Plan(
            generations=generations,
            total_generations=total,
            images=options["images"],
            seed=options["seed"],
            team_generations=team_generations,
            small_generations=small_generations,
        )

        def log(message: str) -> None:
            self.stdout.write(message)
            self.stdout.flush()

        with bench_database(name=options["database_name"], keep=options["keep"], log=log) as name:
            log(f"Bench database ({connection.vendor}): {name}")
            started = time.perf_counter()
            fill(plan, team_members=options["team_members"], log=log)
            fill_seconds = time.perf_counter() - started
            log(f"Fill time: {fill_seconds:.1f}s")
            log(
                f"  the team workspace: {team_generations:,} generations by "
                f"{options['team_members']} members; the small workspace: "
                f"{small_generations:,} generations ({small_generations / total:.1%} of all)"
            )
            members = Membership.objects.select_related("workspace", "user")
            subjects = [
                (members.get(user__username="bench", workspace__slug="bench"), ""),
                (members.get(user__username="bench", workspace__slug="team"), "team"),
                (members.get(user__username="bench-small", workspace__slug="bench-small"), "1%"),
            ]
            timings = self.measure(subjects, repeat=options["repeat"], views=options["views"])
            self.print_table(timings, views=options["views"], fill_seconds=fill_seconds)

    def measure(
        self, subjects: list[tuple[Membership, str]], *, repeat: int, views: bool
    ) -> list[Timing]:
        timings = []
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            for membership, label in subjects:
                timings += self.measure_one(membership, label, repeat=repeat, views=views)
        return timings

    def measure_one(
        self, membership: Membership, label: str, *, repeat: int, views: bool
    ) -> list[Timing]:
        timings = []
        view = view_runner(membership) if views else None
        for scenario in scenarios(membership, label=label):
            rows, service_ms = timed(scenario.run, repeat)
            timing = Timing(scenario=scenario, rows=rows, service_ms=service_ms)
            if view is not None and scenario.view is not None:
                request = scenario.view
                _, view_ms = timed(lambda request=request: view(request), repeat)
                timing.view_ms = [ms for ms in view_ms if ms is not None]
            timings.append(timing)
        return timings

    def print_table(self, timings: list[Timing], *, views: bool, fill_seconds: float) -> None:
        by_name = {timing.scenario.name: timing for timing in timings}
        headers = ["scenario", "matches", "rows", "median ms", "p95 ms"]
        if views:
            headers += ["view median", "view p95"]
        headers.append("note")
        table = []
        for timing in timings:
            scenario = timing.scenario
            row = [
                scenario.name,
                "" if scenario.matches is None else f"{scenario.matches:,}",
                str(timing.rows),
                f"{median(timing.service_ms):.2f}",
                f"{p95(timing.service_ms):.2f}",
            ]
            if views:
                row += (
                    [f"{median(timing.view_ms):.2f}", f"{p95(timing.view_ms):.2f}"]
                    if timing.view_ms
                    else ["-", "-"]
                )
            note = ""
            if scenario.baseline_of in by_name:
                indexed = median(by_name[scenario.baseline_of].service_ms)
                note = f"the search is {median(timing.service_ms) / max(indexed, 1e-6):.1f}x faster"
            elif scenario.deep_of in by_name:
                first = median(by_name[scenario.deep_of].service_ms)
                note = f"{median(timing.service_ms) / max(first, 1e-6):.2f}x the first page"
            row.append(note)
            table.append(row)
        widths = [
            max(display_width(row[i]) for row in [headers, *table]) for i in range(len(headers))
        ]

        def line(cells: list[str]) -> str:
            return "  ".join(
                pad(cell, width, right=0 < i < len(cells) - 1)
                for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        self.stdout.write("")
        self.stdout.write(line(headers))
        self.stdout.write(line(["-" * width for width in widths]))
        for row in table:
            self.stdout.write(line(row))
        pages = [t for t in timings if not t.scenario.baseline_of]
        slow = [t.scenario.name for t in pages if median(t.service_ms) >= PAGE_TARGET_MS]
        self.stdout.write(
            f"\n{connection.vendor}: fill {fill_seconds:.1f}s; times in ms over "
            f"{len(timings[0].service_ms)} runs after a warm-up; matches = the workspace's "
            f"matching generations; rows = items on the page; team = a workspace of "
            f"many members, 1% = a workspace holding 1% of all rows."
        )
        self.stdout.write(
            f"Pages with a median of {PAGE_TARGET_MS} ms or more: {', '.join(slow) or 'none'}."
        )
        if views:
            slow_views = [
                t.scenario.name for t in pages if t.view_ms and median(t.view_ms) >= PAGE_TARGET_MS
            ]
            self.stdout.write(f"Through their views: {', '.join(slow_views) or 'none'}.")


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int, *, right: bool = False) -> str:
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap
