"""A generation's remix tree: its parents up to the first prompt, and every remix below it, at
any depth, in a fixed number of queries (a recursive CTE, written once for SQLite and
PostgreSQL, then the rows with their images)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from gallery.models import Generation, Image
from gallery.services.differences import Piece, word_diff

# How far up and down the tree goes, and how many generations it shows at most (nearest first).
MAX_DEPTH = 50
MAX_NODES = 300


@dataclass
class Node:
    generation: Generation
    depth: int = 0
    is_current: bool = False
    diff: list[Piece] = field(default_factory=list)  # the prompt against its parent's
    children: list[Node] = field(default_factory=list)

    @property
    def thumbnail(self) -> Image | None:
        images = list(self.generation.images.all())
        return images[0] if images else None


def _tree_ids(generation: Generation) -> list[int]:
    table = connection.ops.quote_name(Generation._meta.db_table)
    sql = f"""
        WITH RECURSIVE
        ancestors(id, parent_id, depth) AS (
            SELECT id, parent_id, 0 FROM {table} WHERE id = %s
            UNION ALL
            SELECT g.id, g.parent_id, a.depth + 1
            FROM {table} g JOIN ancestors a ON g.id = a.parent_id
            WHERE a.depth < %s AND g.workspace_id = %s AND g.deleted_at IS NULL
        ),
        descendants(id, depth) AS (
            SELECT id, 0 FROM {table} WHERE id = %s
            UNION ALL
            SELECT g.id, d.depth + 1 FROM {table} g JOIN descendants d ON g.parent_id = d.id
            WHERE d.depth < %s AND g.workspace_id = %s AND g.deleted_at IS NULL
        )
        SELECT id, depth FROM ancestors
        UNION ALL
        SELECT id, depth FROM descendants WHERE depth > 0
        ORDER BY depth, id
        LIMIT %s
    """  # noqa: S608 (the table name comes from the model, quoted)
    params = [generation.pk, MAX_DEPTH, generation.workspace_id] * 2 + [MAX_NODES]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def remix_tree(*, generation: Generation) -> list[Node]:
    """The tree around `generation`, flattened in reading order: its ancestors from the first
    (depth 0) down, the generation itself, then its remixes depth first; each node with the
    word diff of its prompt against its parent's. Three queries, whatever the depth."""
    ids = _tree_ids(generation)
    rows = {
        row.pk: row
        for row in Generation.objects.filter(pk__in=ids, deleted_at__isnull=True)
        .only("id", "parent", "prompt", "workspace", "status")
        .with_live_images()
    }
    if generation.pk not in rows:
        return []
    nodes = {pk: Node(row) for pk, row in rows.items()}
    # Ancestors: follow parents upward from the generation.
    chain = [nodes[generation.pk]]
    while (parent_id := chain[-1].generation.parent_id) in nodes and len(chain) <= MAX_DEPTH:
        chain.append(nodes[parent_id])
    chain.reverse()
    for child in nodes.values():
        parent = nodes.get(child.generation.parent_id)  # type: ignore[arg-type]
        if parent is not None:
            child.diff = word_diff(parent.generation.prompt, child.generation.prompt)
    ancestor_ids = {node.generation.pk for node in chain}
    for node in nodes.values():
        parent = nodes.get(node.generation.parent_id)  # type: ignore[arg-type]
        if parent is not None and node.generation.pk not in ancestor_ids:
            parent.children.append(node)
    nodes[generation.pk].is_current = True

    flat: list[Node] = []
    for depth, node in enumerate(chain):
        node.depth = depth
        flat.append(node)

    def below(node: Node, depth: int) -> None:
        for child in sorted(node.children, key=lambda n: n.generation.pk):
            child.depth = depth
            flat.append(child)
            below(child, depth + 1)

    below(nodes[generation.pk], len(chain))
    return flat
