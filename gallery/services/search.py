"""Search over what people asked for: Generation.prompt and Generation.revised_prompt.

A query is split into terms (words on whitespace, or "quoted phrases" kept whole) and a row
matches when every term is a case-insensitive substring of its prompt or of its revised prompt.
Substrings rather than words, because many prompts are written in scripts without spaces
between words: 一只猫 must find 画一只猫在月亮上.

The index behind it (migrations 0002 and 0009) is keyed by workspace, so a search in a small
workspace reads only that workspace's part of it, however big the others are:

- SQLite: a contentless FTS5 table with the trigram tokenizer whose rowid is
  workspace_id * WORKSPACE_KEY + generation id. One workspace's rows are one rowid range, which
  FTS5 seeks to and walks newest first; each hit joins its generation by id. Terms of three
  characters or more go to it as quoted FTS5 strings, so nothing the user types is read as FTS
  syntax. Trigrams cannot find shorter terms (猫, "ai"): those are matched with LIKE, which runs
  on the rows the index returned when there is a longer term, and otherwise on the rows the
  caller's queryset selects (the workspace's, read through its index).
- PostgreSQL: pg_trgm GIN indexes on (workspace_id, prompt) and (workspace_id, revised_prompt)
  (btree_gin), used by workspace_id = N AND ILIKE '%term%': the small workspace's posting list
  drives the scan. The planner chooses between them and walking the workspace's newest rows,
  by the statistics ANALYZE keeps.

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
# The FTS rowid of a generation is workspace_id * WORKSPACE_KEY + id (migration 0009's triggers):
# ids below 2**40 per workspace, workspace ids below 2**23 keep it within SQLite's 64 bits.
WORKSPACE_KEY = 2**40
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


def filter_generations(
    queryset: QuerySet[Generation], *, query: str, workspace_id: int
) -> QuerySet[Generation]:
    """The generations of `queryset` (rows of workspace `workspace_id`) whose prompt or revised
    prompt contains every term of `query`. A query without terms (empty, blank) returns
    `queryset` unchanged."""
    terms = parse_terms(query)
    if not terms:
        return queryset
    return _filter(
        queryset, terms, generation_id="id", generation_path="", workspace_id=workspace_id
    )


def filter_images(queryset: QuerySet[Image], *, query: str, workspace_id: int) -> QuerySet[Image]:
    """The images of `queryset` whose generation matches `query` (see filter_generations)."""
    terms = parse_terms(query)
    if not terms:
        return queryset
    # Image.workspace is the generation's workspace: saying so lets the database narrow the
    # generations by their workspace index too.
    queryset = queryset.filter(generation__workspace_id=workspace_id)
    return _filter(
        queryset,
        terms,
        generation_id="generation_id",
        generation_path="generation__",
        workspace_id=workspace_id,
    )


def newest_first(
    queryset: QuerySet[Any], *, workspace_id: int, before_generation: int | None = None
) -> QuerySet[Any]:
    """Generations, or images, of workspace `workspace_id` ordered by generation id descending
    (newest generation first), keeping only generations older than `before_generation` when
    given: the keyset order of search results.

    Images of one generation come out together in no particular order (on SQLite, ordering them
    too would stop the index from streaming); the caller orders within a generation.
    """
    generation_id = "id" if queryset.model is Generation else "generation_id"
    if FTS_TABLE in queryset.query.extra_tables:
        # SQLite walks FTS5 results in rowid order, and stops at the LIMIT, only when the
        # ORDER BY and the bound name the FTS table's own rowid (not the equal generation id).
        if before_generation is not None:
            bound = workspace_id * WORKSPACE_KEY + before_generation
            queryset = queryset.filter(LessThan(FtsRowid(), bound))
        return queryset.order_by(FtsRowid().desc())
    if before_generation is not None:
        queryset = queryset.filter(**{f"{generation_id}__lt": before_generation})
    return queryset.order_by(f"-{generation_id}")


def fts_match_expression(terms: list[str]) -> str:
    """An FTS5 MATCH expression requiring every term, each a quoted FTS5 string, so that
    quotes, *, -, ^, (, :, AND, OR, NOT and NEAR in what the user typed are plain text."""
    return " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _filter(
    queryset: QuerySet[Any],
    terms: list[str],
    *,
    generation_id: str,
    generation_path: str,
    workspace_id: int,
) -> QuerySet[Any]:
    prompt, revised_prompt = f"{generation_path}prompt", f"{generation_path}revised_prompt"
    if connection.vendor == "sqlite":
        indexed = [term for term in terms if len(term) >= TRIGRAM_LENGTH]
        if indexed:
            if FTS_TABLE not in queryset.query.extra_tables:
                queryset = queryset.extra(tables=[FTS_TABLE])  # noqa: S610 (a constant name)
            queryset = queryset.filter(
                FtsMatch(F(generation_id), (workspace_id, fts_match_expression(indexed)))
            )
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
    """SQLite: the FTS5 row of this generation id, in workspace N, matches an FTS5 expression.
    The right-hand side is (workspace id, match expression).

    The FTS table joins the query through QuerySet.extra(tables=...) (the one way to add a table
    without a model); the generation id column is compiled by Django, so the condition stays
    right when the query is aliased as a subquery. The rowid range confines FTS5 to the
    workspace's rows; the join is written both ways so SQLite can go from either side.
    """

    lookup_name = "fts_match"
    prepare_rhs = False

    def process_rhs(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [self.rhs[1]]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        low = int(self.rhs[0]) * WORKSPACE_KEY
        rowid = f'"{FTS_TABLE}".rowid'
        sql = (
            f"({lhs_sql} = {rowid} - {low} AND {rowid} = {lhs_sql} + {low}"
            f" AND {rowid} BETWEEN {low} AND {low + WORKSPACE_KEY - 1}"
            f' AND "{FTS_TABLE}" MATCH {rhs_sql})'
        )
        return sql, (*lhs_params, *lhs_params, *rhs_params)


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
