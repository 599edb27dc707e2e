"""A full-text index over Generation.prompt and Generation.revised_prompt.

SQLite: an FTS5 table with the trigram tokenizer (substring matching, so scripts written without
spaces, such as Chinese or Japanese, are searchable; case-insensitive), holding no copy of the
text (external content) and kept in step with gallery_generation by triggers.

PostgreSQL: pg_trgm GIN indexes on both columns, used by ILIKE '%term%'.

gallery/services/search.py is the only code that queries either of them. The SQL runs inside
RunPython so each vendor skips the other's, and the model state is untouched (Django knows
nothing of these objects; they are not Meta.indexes because neither backend can build the
other's).
"""

from django.db import migrations

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE gallery_generation_fts USING fts5(
        prompt, revised_prompt,
        content='gallery_generation', content_rowid='id',
        tokenize='trigram'
    )
    """,
    """
    CREATE TRIGGER gallery_generation_fts_insert AFTER INSERT ON gallery_generation BEGIN
        INSERT INTO gallery_generation_fts(rowid, prompt, revised_prompt)
        VALUES (new.id, new.prompt, new.revised_prompt);
    END
    """,
    """
    CREATE TRIGGER gallery_generation_fts_delete AFTER DELETE ON gallery_generation BEGIN
        INSERT INTO gallery_generation_fts(gallery_generation_fts, rowid, prompt, revised_prompt)
        VALUES ('delete', old.id, old.prompt, old.revised_prompt);
    END
    """,
    # Status and lease updates are frequent and must not rewrite the index: only a changed text
    # does (Django's save() without update_fields sets every column, hence the WHEN).
    """
    CREATE TRIGGER gallery_generation_fts_update AFTER UPDATE OF prompt, revised_prompt
    ON gallery_generation
    WHEN old.prompt IS NOT new.prompt OR old.revised_prompt IS NOT new.revised_prompt
    BEGIN
        INSERT INTO gallery_generation_fts(gallery_generation_fts, rowid, prompt, revised_prompt)
        VALUES ('delete', old.id, old.prompt, old.revised_prompt);
        INSERT INTO gallery_generation_fts(rowid, prompt, revised_prompt)
        VALUES (new.id, new.prompt, new.revised_prompt);
    END
    """,
    # Rows that existed before this migration.
    "INSERT INTO gallery_generation_fts(gallery_generation_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS gallery_generation_fts_update",
    "DROP TRIGGER IF EXISTS gallery_generation_fts_delete",
    "DROP TRIGGER IF EXISTS gallery_generation_fts_insert",
    "DROP TABLE IF EXISTS gallery_generation_fts",
]

POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS generation_prompt_trgm"
    " ON gallery_generation USING gin (prompt gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS generation_revised_prompt_trgm"
    " ON gallery_generation USING gin (revised_prompt gin_trgm_ops)",
]
# The extension stays: other databases objects may use it, and it costs nothing.
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS generation_revised_prompt_trgm",
    "DROP INDEX IF EXISTS generation_prompt_trgm",
]


def run_for_vendor(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(
            run_for_vendor({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            run_for_vendor({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
            elidable=False,
        ),
    ]
