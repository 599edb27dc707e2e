"""What the workspace migrations (0007-0009) share: the search index SQL of both vendors and
the data step. Kept out of the numbered files (the loader skips names starting with "_")."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.text import slugify

# gallery.services.search.WORKSPACE_KEY: the same number, written here so that this migration
# never changes when the app's code does.
WORKSPACE_KEY = 2**40

OLD_SQLITE_FTS = [
    "DROP TRIGGER IF EXISTS gallery_generation_fts_update",
    "DROP TRIGGER IF EXISTS gallery_generation_fts_delete",
    "DROP TRIGGER IF EXISTS gallery_generation_fts_insert",
    "DROP TABLE IF EXISTS gallery_generation_fts",
]
NEW_SQLITE_FTS = [
    """
    CREATE VIRTUAL TABLE gallery_generation_fts USING fts5(
        prompt, revised_prompt, content='', tokenize='trigram'
    )
    """,
    f"""
    CREATE TRIGGER gallery_generation_fts_insert AFTER INSERT ON gallery_generation BEGIN
        INSERT INTO gallery_generation_fts(rowid, prompt, revised_prompt)
        VALUES (new.workspace_id * {WORKSPACE_KEY} + new.id, new.prompt, new.revised_prompt);
    END
    """,
    f"""
    CREATE TRIGGER gallery_generation_fts_delete AFTER DELETE ON gallery_generation BEGIN
        INSERT INTO gallery_generation_fts(gallery_generation_fts, rowid, prompt, revised_prompt)
        VALUES ('delete', old.workspace_id * {WORKSPACE_KEY} + old.id, old.prompt,
                old.revised_prompt);
    END
    """,
    # Status and lease updates are frequent and must not rewrite the index: only a changed text
    # or workspace does (Django's save() without update_fields sets every column, hence WHEN).
    f"""
    CREATE TRIGGER gallery_generation_fts_update
    AFTER UPDATE OF prompt, revised_prompt, workspace_id ON gallery_generation
    WHEN old.prompt IS NOT new.prompt OR old.revised_prompt IS NOT new.revised_prompt
        OR old.workspace_id IS NOT new.workspace_id
    BEGIN
        INSERT INTO gallery_generation_fts(gallery_generation_fts, rowid, prompt, revised_prompt)
        VALUES ('delete', old.workspace_id * {WORKSPACE_KEY} + old.id, old.prompt,
                old.revised_prompt);
        INSERT INTO gallery_generation_fts(rowid, prompt, revised_prompt)
        VALUES (new.workspace_id * {WORKSPACE_KEY} + new.id, new.prompt, new.revised_prompt);
    END
    """,
    f"""
    INSERT INTO gallery_generation_fts(rowid, prompt, revised_prompt)
    SELECT workspace_id * {WORKSPACE_KEY} + id, prompt, revised_prompt FROM gallery_generation
    """,
]
OLD_POSTGRESQL_TRGM = [
    "DROP INDEX IF EXISTS generation_revised_prompt_trgm",
    "DROP INDEX IF EXISTS generation_prompt_trgm",
]
NEW_POSTGRESQL_TRGM = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX IF NOT EXISTS generation_ws_prompt_trgm"
    " ON gallery_generation USING gin (workspace_id, prompt gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS generation_ws_revised_prompt_trgm"
    " ON gallery_generation USING gin (workspace_id, revised_prompt gin_trgm_ops)",
]
NEW_POSTGRESQL_TRGM_BACKWARD = [
    "DROP INDEX IF EXISTS generation_ws_revised_prompt_trgm",
    "DROP INDEX IF EXISTS generation_ws_prompt_trgm",
]
OLD_SQLITE_FTS_RESTORE = [
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
    "INSERT INTO gallery_generation_fts(gallery_generation_fts) VALUES ('rebuild')",
]
OLD_POSTGRESQL_TRGM_RESTORE = [
    "CREATE INDEX IF NOT EXISTS generation_prompt_trgm"
    " ON gallery_generation USING gin (prompt gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS generation_revised_prompt_trgm"
    " ON gallery_generation USING gin (revised_prompt gin_trgm_ops)",
]


def run_for_vendor(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


def unique_slug(base, taken):
    base = (slugify(base) or "workspace")[:50]
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    taken.add(slug)
    return slug


def make_personal_workspaces(apps, schema_editor):
    """One personal workspace per user (owner role), and every row moved into its maker's."""
    database = schema_editor.connection.alias
    User = apps.get_model(settings.AUTH_USER_MODEL)
    Workspace = apps.get_model("gallery", "Workspace")
    Membership = apps.get_model("gallery", "Membership")
    Generation = apps.get_model("gallery", "Generation")
    Image = apps.get_model("gallery", "Image")
    # Historical models have no USERNAME_FIELD: the name comes from the real user model.
    username_field = get_user_model().USERNAME_FIELD
    taken = set(Workspace.objects.using(database).values_list("slug", flat=True))
    now = timezone.now()
    for user in User.objects.using(database).order_by("pk").iterator(chunk_size=500):
        username = getattr(user, username_field)
        workspace = Workspace.objects.using(database).create(
            name=str(username), slug=unique_slug(username, taken), is_personal=True, created_at=now
        )
        Membership.objects.using(database).create(
            workspace=workspace, user=user, role="owner", created_at=now
        )
    personal = Membership.objects.using(database).filter(
        user_id=OuterRef("created_by_id"), workspace__is_personal=True
    )
    # One UPDATE per table, whatever the number of users.
    Generation.objects.using(database).update(
        workspace_id=Subquery(personal.values("workspace_id")[:1])
    )
    Image.objects.using(database).update(workspace_id=Subquery(personal.values("workspace_id")[:1]))
