"""Search over what people asked for: Generation.prompt and Generation.revised_prompt.

A query is split into terms (words on whitespace, or "quoted phrases" kept whole) and a row
matches when every term is a case-insensitive substring of its prompt or of its revised prompt.
Substrings rather than words, because many prompts are written in scripts without spaces
between words: 一只猫 must find 画一只猫在月亮上.

The index behind it (migration 0002):

- SQLite: an FTS5 table with the trigram tokenizer, joined to the searched rows by rowid (the
  generation id). Terms of three characters or more go to it as quoted FTS5 strings, so nothing
  the user types is read as FTS syntax. Trigrams cannot find shorter terms (猫, "ai"): those are
  matched with LIKE, which runs on the rows the index returned when there is a longer term, and
  otherwise on the rows the caller's queryset selects (the user's, read through their index).
- PostgreSQL: pg_trgm GIN indexes on both columns, used by ILIKE '%term%'. The planner chooses
  between them and walking the user's newest rows, by the statistics ANALYZE keeps.

filter_generations() and filter_images() take and return lazy QuerySets: the caller keeps
filtering, and orders with newest_first(), which reads a search's results newest generation
first in the order the index can stream them. (Plain order_by("-id") gives the same rows in the
same order, but on SQLite it makes the database collect every match before sorting: for a
common word among a million prompts that is the difference between 0.2 ms and half a second.)

Case-insensitivity: full Unicode case folding for terms of three characters or more on SQLite
(the trigram tokenizer folds case) and for every term on PostgreSQL; SQLite's LIKE folds ASCII
letters only, which matters only for one- and two-character terms such as "é".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import BigIntegerField, Expression, F, Q
from django.db.models.lookups import LessThan, Lookup

from gallery.models import Generation

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from gallery.models import Image

# What one query may cost is bounded by what it may contain.
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
# The trigram tokenizer indexes runs of three characters; shorter terms match nothing through it.
TRIGRAM_LENGTH = 3

FTS_TABLE = "gallery_generation_fts"
_TERM = re.compile(r'"([^"]*)"|(\S+)')


def parse_terms(query: str) -> list[str]:
    """The substrings a match must contain, in order, without case-insensitive duplicates.

    Words are split on whitespace; a "quoted phrase" is one term with its inner spaces. Stray
    double quotes are dropped, so `"fox` is the word fox and a lone `"` is no term at all.
    """
    terms: list[str] = []
    seen: set[str] = set()
    # PostgreSQL refuses NUL in text, and no prompt holds one.
    for match in _TERM.finditer(query[:MAX_QUERY_CHARS].replace("\x00", "")):
        phrase, word = match.groups()
        term = " ".join(phrase.split()) if phrase is not None else word.replace('"', "")
        key = term.casefold()
        if term and key not in seen:
            seen.add(key)
            terms.append(term)
            if len(terms) == MAX_TERMS:
                break
    return terms


def filter_generations(queryset: QuerySet[Generation], *, query: str) -> QuerySet[Generation]:
    """The generations of `queryset` whose prompt or revised prompt contains every term of
    `query`. A query without terms (empty, blank) returns `queryset` unchanged."""
    terms = parse_terms(query)
    if not terms:
        return queryset
    return _filter(queryset, terms, generation_id="id", generation_path="")


def filter_images(queryset: QuerySet[Image], *, query: str) -> QuerySet[Image]:
    """The images of `queryset` whose generation matches `query` (see filter_generations)."""
    terms = parse_terms(query)
    if not terms:
        return queryset
    # Image.owner is the generation's owner: saying so lets the database narrow the generations
    # by their owner index too (it derives generation.owner_id = <user> from the image filter).
    queryset = queryset.filter(generation__owner=F("owner"))
    return _filter(queryset, terms, generation_id="generation_id", generation_path="generation__")


def newest_first(queryset: QuerySet[Any], *, before_generation: int | None = None) -> QuerySet[Any]:
    """Generations, or images, ordered by generation id descending (newest generation first),
    keeping only generations older than `before_generation` when given: the keyset order of
    search results.

    Images of one generation come out together in no particular order (on SQLite, ordering them
    too would stop the index from streaming); the caller orders within a generation.
    """
    generation_id = "id" if queryset.model is Generation else "generation_id"
    if FTS_TABLE in queryset.query.extra_tables:
        # SQLite walks FTS5 results in rowid order, and stops at the LIMIT, only when the
        # ORDER BY and the bound name the FTS table's own rowid (not the equal generation id).
        if before_generation is not None:
            queryset = queryset.filter(LessThan(FtsRowid(), before_generation))
        return queryset.order_by(FtsRowid().desc())
    if before_generation is not None:
        queryset = queryset.filter(**{f"{generation_id}__lt": before_generation})
    return queryset.order_by(f"-{generation_id}")


def fts_match_expression(terms: list[str]) -> str:
    """An FTS5 MATCH expression requiring every term, each a quoted FTS5 string, so that
    quotes, *, -, ^, (, :, AND, OR, NOT and NEAR in what the user typed are plain text."""
    return " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _filter(
    queryset: QuerySet[Any], terms: list[str], *, generation_id: str, generation_path: str
) -> QuerySet[Any]:
    prompt, revised_prompt = f"{generation_path}prompt", f"{generation_path}revised_prompt"
    if connection.vendor == "sqlite":
        indexed = [term for term in terms if len(term) >= TRIGRAM_LENGTH]
        if indexed:
            if FTS_TABLE not in queryset.query.extra_tables:
                queryset = queryset.extra(tables=[FTS_TABLE])  # noqa: S610 (a constant name)
            queryset = queryset.filter(FtsMatch(F(generation_id), fts_match_expression(indexed)))
        for term in terms:
            if len(term) < TRIGRAM_LENGTH:
                queryset = queryset.filter(
                    Q(**{f"{prompt}__icontains": term})
                    | Q(**{f"{revised_prompt}__icontains": term})
                )
        return queryset
    for term in terms:
        pattern = "%" + escape_like(term) + "%"
        queryset = queryset.filter(
            Q(ILike(F(prompt), pattern)) | Q(ILike(F(revised_prompt), pattern))
        )
    return queryset


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class FtsMatch(Lookup):
    """SQLite: the FTS5 row of this generation id matches an FTS5 expression.

    The FTS table joins the query through QuerySet.extra(tables=...) (the one way to add a table
    without a model); the generation id column is compiled by Django, so the condition stays
    right when the query is aliased as a subquery.
    """

    lookup_name = "fts_match"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        sql = f'("{FTS_TABLE}".rowid = {lhs_sql} AND "{FTS_TABLE}" MATCH {rhs_sql})'
        return sql, (*lhs_params, *rhs_params)


class FtsRowid(Expression):
    """SQLite: the rowid (generation id) of the joined FTS5 row."""

    output_field = BigIntegerField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        return f'"{FTS_TABLE}".rowid', ()


class ILike(Lookup):
    """PostgreSQL: `column ILIKE pattern`, the form pg_trgm's GIN operator class serves.

    Django's icontains writes UPPER(column::text) LIKE UPPER(pattern), which an index on the
    plain column cannot answer. The pattern is used as given: escape it with escape_like().
    """

    lookup_name = "trigram_ilike"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs_sql} ILIKE {rhs_sql}", (*lhs_params, *rhs_params)
