"""What the gallery pages show: grids of images and generations, prompt history, usage.

Every list is a keyset page, newest first: a page is "the next per_page rows with an id below
the cursor", read from an index in order and stopped early, so page 1000 costs what page 1
costs, and rows added between two page loads (they get higher ids) never shift or repeat what
the user already saw. OFFSET would read and throw away every earlier row instead.

The cursor is opaque to callers: pass back Page.next_cursor as it is (today the decimal id of
the last row shown, or "g" and a generation id on an image search page). A malformed cursor, or
one from another kind of page, is ignored: the caller gets the first page, never an error.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from itertools import groupby
from typing import TYPE_CHECKING, Any

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gallery.models import (
    Generation,
    GridQuerySet,
    Image,
    local_day_bounds,
)
from gallery.services import search
from gallery.services.search import (
    MAX_QUERY_CHARS,
    filter_generations,
    filter_images,
    parse_terms,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from gallery.models import Board, Membership

MAX_PER_PAGE = 200
# Generation.n is at most 10 (a check constraint), so a generation has at most 10 images.
MAX_IMAGES_PER_GENERATION = 10
GENERATION_CURSOR_PREFIX = "g"
THUMBNAILS_PER_PROMPT = 6
_TRUE = frozenset({"1", "true", "on", "yes"})


OUT_OF_RANGE_DATES = gettext_lazy(
    "Dates must fall between the years 1 and 9999 where you are; that date was left out."
)


def searchable_days(date_from: dt.date | None, date_to: dt.date | None) -> dict[str, Any]:
    """The days as GridFilters fields, or none and why, when their bounds in the current time
    zone fall outside what a datetime holds (9999-12-31 has no next day; 0001-01-01 east of
    UTC starts in the year 0)."""
    try:
        for bound in local_day_bounds(date_from, date_to):
            if bound is not None:
                bound.astimezone(dt.UTC)
    except OverflowError:
        return {"date_error": OUT_OF_RANGE_DATES}
    return {"date_from": date_from, "date_to": date_to}


@dataclass(frozen=True)
class GridFilters:
    """What the user narrowed a grid to, read from the query string (all optional)."""

    q: str = ""
    model: str = ""
    size: str = ""
    aspect_ratio: str = ""
    status: str = ""
    favorites: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    by: int | None = None  # the id of the member who made the rows (a team's gallery)
    # Why a date the user gave was set aside (shown beside the grid); not part of the URL.
    date_error: str = field(default="", metadata={"in_query": False})

    @classmethod
    def from_query(cls, querydict: Mapping[str, Any]) -> GridFilters:
        """Filters from request.GET (or any mapping). A value that cannot be right (an unknown
        status, a date that is not YYYY-MM-DD, a model name longer than any model's) is
        dropped, never raised about: a stale or hand-edited URL still shows a page."""

        def text(name: str, max_length: int) -> str:
            value = querydict.get(name, "")
            if not isinstance(value, str):
                return ""
            # PostgreSQL refuses NUL in text; no real value holds one.
            value = value.replace("\x00", "").strip()
            return value if len(value) <= max_length else ""

        def day(name: str) -> dt.date | None:
            value = text(name, 10)
            try:
                return dt.date.fromisoformat(value) if len(value) == 10 else None
            except ValueError:
                return None

        status = text("status", 16)
        raw_query = querydict.get("q", "")
        query = raw_query.replace("\x00", "").strip() if isinstance(raw_query, str) else ""
        return cls(
            q=query[:MAX_QUERY_CHARS],
            model=text("model", Generation._meta.get_field("model").max_length),
            size=text("size", Generation._meta.get_field("size").max_length),
            aspect_ratio=text(
                "aspect_ratio", Generation._meta.get_field("aspect_ratio").max_length
            ),
            status=status if status in Generation.Status.values else "",
            favorites=text("favorites", 8).lower() in _TRUE,
            **searchable_days(day("date_from"), day("date_to")),
            by=int(maker) if (maker := text("by", 18)).isdigit() and int(maker) > 0 else None,
        )

    def as_query(self) -> dict[str, str]:
        """The filters that differ from the defaults, as query-string values (for URLs)."""
        query: dict[str, str] = {}
        for filter_field in fields(self):
            value = getattr(self, filter_field.name)
            if value == filter_field.default or not filter_field.metadata.get("in_query", True):
                continue
            if isinstance(value, bool):
                query[filter_field.name] = "1"
            elif isinstance(value, dt.date):
                query[filter_field.name] = value.isoformat()
            else:
                query[filter_field.name] = str(value)
        return query

    @property
    def is_empty(self) -> bool:
        return not self.as_query()


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    # Pass back as `cursor` for the following page; None on the last page.
    next_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def parse_cursor(cursor: str | None, *, prefix: str = "") -> int | None:
    """The id a cursor stands for, or None for a missing or malformed one (or one of another
    kind of page: a search page's cursor names a generation and starts with `prefix`)."""
    if not cursor or not isinstance(cursor, str) or not cursor.startswith(prefix):
        return None
    digits = cursor.removeprefix(prefix)
    if not (0 < len(digits) <= 18 and digits.isascii() and digits.isdigit()):
        return None
    value = int(digits)
    return value if value > 0 else None


def narrow[Q: GridQuerySet[Any]](queryset: Q, filters: GridFilters, *, workspace_id: int) -> Q:
    """`queryset` (generations or images of workspace `workspace_id`) narrowed by every filter
    set (lazy; chain on)."""
    if filters.model:
        queryset = queryset.of_model(filters.model)
    if filters.size:
        queryset = queryset.of_size(filters.size)
    if filters.aspect_ratio:
        queryset = queryset.of_aspect_ratio(filters.aspect_ratio)
    if filters.status:
        queryset = queryset.in_status(filters.status)
    if filters.favorites:
        queryset = queryset.favorites()
    if filters.date_from or filters.date_to:
        queryset = queryset.created_between(filters.date_from, filters.date_to)
    if filters.by:
        queryset = queryset.made_by(filters.by)
    if queryset.model is Image:
        return filter_images(queryset, query=filters.q, workspace_id=workspace_id)
    return filter_generations(queryset, query=filters.q, workspace_id=workspace_id)


def image_page(
    *,
    membership: Membership,
    filters: GridFilters,
    cursor: str | None,
    per_page: int = 48,
    board: Board | None = None,
) -> Page[Image]:
    """One page of the workspace's live images (those on `board`, when given), newest first,
    each with its generation loaded (one query).

    Without a search, newest first means by image id. With one, it means by generation, newest
    first, and a page ends at the end of a generation (so it holds per_page to per_page + 9
    images): the search index yields generations, and reading its matches in its own order is
    what keeps a search for a common word as fast as one for a rare word.
    """
    per_page = clamp_per_page(per_page)
    workspace_id = membership.workspace_id
    images = Image.objects.for_member(membership).live()
    if board is not None:
        images = images.in_board(board)
    images = narrow(images, filters, workspace_id=workspace_id).select_related("generation")
    if not parse_terms(filters.q):
        return keyset_page(images, cursor=cursor, per_page=per_page)

    before = parse_cursor(cursor, prefix=GENERATION_CURSOR_PREFIX)
    limit = per_page + MAX_IMAGES_PER_GENERATION
    rows = list(
        search.newest_first(images, workspace_id=workspace_id, before_generation=before)[:limit]
    )
    items: list[Image] = []
    groups = [list(group) for _, group in groupby(rows, key=lambda image: image.generation_id)]
    for position, group in enumerate(groups):
        # With a full fetch the last generation may go on past it: it opens the next page.
        if position == len(groups) - 1 and len(rows) == limit and items:
            break
        items.extend(sorted(group, key=lambda image: image.id, reverse=True))
        if len(items) >= per_page:
            break
    has_next = len(rows) == limit or len(items) < len(rows)
    next_cursor = f"{GENERATION_CURSOR_PREFIX}{items[-1].generation_id}" if has_next else None
    return Page(items=items, next_cursor=next_cursor)


def generation_page(
    *, membership: Membership, filters: GridFilters, cursor: str | None, per_page: int = 24
) -> Page[Generation]:
    """One page of the workspace's live generations, newest first, with their live images
    prefetched in index order (two queries whatever the page size)."""
    per_page = clamp_per_page(per_page)
    workspace_id = membership.workspace_id
    generations = narrow(
        Generation.objects.for_member(membership).live(), filters, workspace_id=workspace_id
    )
    ordered = search.newest_first(
        generations.with_live_images(),
        workspace_id=workspace_id,
        before_generation=parse_cursor(cursor),
    )
    rows = list(ordered[: per_page + 1])
    items = rows[:per_page]
    next_cursor = str(items[-1].id) if len(rows) > per_page else None
    return Page(items=items, next_cursor=next_cursor)


def keyset_page(queryset: QuerySet[Any], *, cursor: str | None, per_page: int) -> Page[Any]:
    """The rows of `queryset` below the cursor, by id descending, and the cursor after them.

    One row more than the page is read: it says whether a next page exists without a COUNT.
    """
    per_page = clamp_per_page(per_page)
    after = parse_cursor(cursor)
    if after is not None:
        queryset = queryset.filter(id__lt=after)
    rows = list(queryset.order_by("-id")[: per_page + 1])
    items = rows[:per_page]
    next_cursor = str(items[-1].id) if len(rows) > per_page else None
    return Page(items=items, next_cursor=next_cursor)


def clamp_per_page(per_page: int) -> int:
    return max(1, min(per_page, MAX_PER_PAGE))


@dataclass(frozen=True)
class PromptSummary:
    """One distinct prompt (grouped by Generation.prompt_normalized) in the prompt history."""

    prompt: str  # the most recent wording, as typed
    prompt_normalized: str
    generation_id: int  # the most recent generation with it, to reuse its settings
    last_used: dt.datetime
    count: int  # live generations with this prompt
    models: tuple[str, ...]  # most used first
    thumbnails: tuple[Image, ...]  # the newest live images, up to THUMBNAILS_PER_PROMPT


def prompt_history(
    *, membership: Membership, query: str = "", cursor: str | None = None, per_page: int = 30
) -> Page[PromptSummary]:
    """The workspace's distinct prompts, most recently used first, with counts, models and a strip
    of thumbnails: three queries per page whatever its size (one when it is empty).

    Each prompt is represented by its newest live generation: the page walks the workspace's
    generations newest first and keeps the rows no newer live row of the same prompt supersedes
    (one probe of the (workspace, prompt_normalized) index each), so it stops after about per_page
    rows instead of grouping all of them. The cursor is that generation's id. With a query, a
    prompt is listed when its newest generation matches (prompt or revised prompt).
    """
    per_page = clamp_per_page(per_page)
    workspace_id = membership.workspace_id
    live = Generation.objects.for_member(membership).live()
    newer_same_prompt = live.filter(
        prompt_normalized=OuterRef("prompt_normalized"), id__gt=OuterRef("id")
    )
    latest = filter_generations(live, query=query, workspace_id=workspace_id).filter(
        ~Exists(newer_same_prompt)
    )
    latest = search.newest_first(
        latest, workspace_id=workspace_id, before_generation=parse_cursor(cursor)
    )
    rows = list(latest.only("id", "prompt", "prompt_normalized", "created_at")[: per_page + 1])
    newest = rows[:per_page]
    if not newest:
        return Page(items=[], next_cursor=None)
    keys = [generation.prompt_normalized for generation in newest]

    counts: dict[str, int] = defaultdict(int)
    models: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in (
        live.filter(prompt_normalized__in=keys)
        .values("prompt_normalized", "model")
        .annotate(uses=Count("id"))
        .order_by()
    ):
        counts[row["prompt_normalized"]] += row["uses"]
        models[row["prompt_normalized"]].append((-row["uses"], row["model"]))

    thumbnails: dict[str, list[Image]] = defaultdict(list)
    # The newest few images per prompt in one query: a window numbers each prompt's images.
    # Generations are found first through their prompt index, then their images by FK.
    strip = (
        Image.objects.live()
        .filter(generation__in=live.filter(prompt_normalized__in=keys).values("id"))
        .annotate(
            prompt_key=F("generation__prompt_normalized"),
            rank=Window(
                RowNumber(),
                partition_by=F("generation__prompt_normalized"),
                order_by=F("id").desc(),
            ),
        )
        .filter(rank__lte=THUMBNAILS_PER_PROMPT)
        .order_by("-id")
    )
    for image in strip:
        thumbnails[image.prompt_key].append(image)

    items = [
        PromptSummary(
            prompt=generation.prompt,
            prompt_normalized=generation.prompt_normalized,
            generation_id=generation.id,
            last_used=generation.created_at,
            count=counts[generation.prompt_normalized],
            models=tuple(model for _, model in sorted(models[generation.prompt_normalized])),
            thumbnails=tuple(thumbnails[generation.prompt_normalized]),
        )
        for generation in newest
    ]
    next_cursor = str(newest[-1].id) if len(rows) > per_page else None
    return Page(items=items, next_cursor=next_cursor)


@dataclass(frozen=True)
class Usage:
    images: int = 0
    tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(images=self.images + other.images, tokens=self.tokens + other.tokens)


@dataclass(frozen=True)
class DayUsage:
    day: dt.date
    total: Usage
    by_model: dict[str, Usage] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberUsage:
    username: str
    user_id: int
    usage: Usage


@dataclass(frozen=True)
class UsageSummary:
    """Images made and tokens reported over the last `days` calendar days (today included).

    Counted by the day the generation was made, in the current time zone, trashed ones too:
    usage is what was spent, not what was kept.
    """

    start: dt.date
    end: dt.date
    days: list[DayUsage]  # every day of the range, oldest first, empty days included
    models: dict[str, Usage]  # most images first
    total: Usage
    members: list[MemberUsage] = field(default_factory=list)  # who made them, most first


def usage_summary(*, membership: Membership, days: int = 30) -> UsageSummary:
    """Per day and per model, and per member, images and tokens for the workspace, summed by the
    database in two queries (a month of a busy workspace's generations is thousands of rows; a
    summary is a few dozen)."""
    days = max(1, min(days, 3660))
    tz = timezone.get_current_timezone()
    end = timezone.localdate(timezone=tz)
    start = end - dt.timedelta(days=days - 1)
    day_starts = [start + dt.timedelta(days=offset) for offset in range(days)]
    # Days are numbered against instants computed here, in the user's time zone (DST included),
    # rather than by truncating each row's timestamp: SQLite would call back into Python per row.
    day_number = Case(
        *(
            When(created_at__lt=local_day_bounds(None, day)[1], then=Value(number))
            for number, day in enumerate(day_starts)
        ),
        output_field=IntegerField(),
    )
    image_count = (
        Image.objects.filter(generation=OuterRef("pk"))
        .order_by()
        .values("generation")
        .annotate(count=Count("pk"))
        .values("count")
    )
    rows = (
        Generation.objects.for_member(membership)
        .created_between(start, end)
        .order_by()
        .values(day_number=day_number, model_name=F("model"))
        .annotate(
            images=Sum(Coalesce(Subquery(image_count), 0)),
            tokens=Sum(UsageTokens("usage")),
        )
    )

    per_member = (
        Generation.objects.for_member(membership)
        .created_between(start, end)
        .order_by()
        .values("created_by_id", username=F("created_by__username"))
        .annotate(
            images=Sum(Coalesce(Subquery(image_count), 0)),
            tokens=Sum(UsageTokens("usage")),
        )
    )
    members = [
        MemberUsage(
            username=row["username"],
            user_id=row["created_by_id"],
            usage=Usage(images=row["images"] or 0, tokens=row["tokens"] or 0),
        )
        for row in per_member
    ]

    by_day: dict[dt.date, dict[str, Usage]] = defaultdict(dict)
    by_model: dict[str, Usage] = defaultdict(Usage)
    for row in rows:
        cell = Usage(images=row["images"] or 0, tokens=row["tokens"] or 0)
        by_day[day_starts[row["day_number"]]][row["model_name"]] = cell
        by_model[row["model_name"]] += cell
    day_list = []
    for day in day_starts:
        models_that_day = dict(sorted(by_day.get(day, {}).items()))
        day_list.append(
            DayUsage(
                day=day, total=sum(models_that_day.values(), Usage()), by_model=models_that_day
            )
        )
    return UsageSummary(
        start=start,
        end=end,
        days=day_list,
        models=dict(sorted(by_model.items(), key=lambda item: (-item[1].images, item[0]))),
        total=sum(by_model.values(), Usage()),
        members=sorted(members, key=lambda member: (-member.usage.images, member.username)),
    )


# Larger counts are taken for this: a sum of them cannot overflow a 64-bit integer.
MAX_TOKENS_PER_GENERATION = 10**15


class UsageTokens(Func):
    """Tokens in a usage JSON column: total_tokens when it is a number, else input_tokens plus
    output_tokens (each when it is a number), else 0. Fractions are truncated, negatives count
    as 0; a usage that is null, a list, a string, or holds strings or booleans counts nothing,
    so no provider's odd shape can break the sum."""

    output_field = BigIntegerField()
    arity = 1

    def _sql(self, compiler: Any, number: Callable[[str, str], str]) -> tuple[str, Any]:
        column, params = compiler.compile(self.source_expressions[0])
        total, input_, output = (
            number(column, key) for key in ("total_tokens", "input_tokens", "output_tokens")
        )
        sql = f"COALESCE({total}, COALESCE({input_}, 0) + COALESCE({output}, 0))"
        # Each of the three numbers names the column twice.
        return sql, (*params,) * 6

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        def number(column: str, key: str) -> str:
            return (
                f"(CASE WHEN json_type({column}, '$.{key}') IN ('integer', 'real') "
                f"THEN MIN(MAX(CAST(json_extract({column}, '$.{key}') AS INTEGER), 0), "
                f"{MAX_TOKENS_PER_GENERATION}) END)"
            )

        return self._sql(compiler, number)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        def number(column: str, key: str) -> str:
            return (
                f"(CASE WHEN jsonb_typeof({column} -> '{key}') = 'number' "
                f"THEN LEAST(GREATEST(TRUNC(({column} ->> '{key}')::numeric), 0), "
                f"{MAX_TOKENS_PER_GENERATION})::bigint END)"
            )

        return self._sql(compiler, number)
