"""Workspaces own generations and images; a Membership gives a user a role in one.

Every existing user gets a personal workspace (owner role) and their rows move into it; the
maker of each row is kept as `created_by` (the former `owner` column, renamed). Files keep their
names (u<user id>/...): only new files go under w<workspace id>/.

The search index becomes keyed by workspace, so a search reads only its workspace's part:
- SQLite: the FTS5 table is contentless and its rowid is workspace_id * 2**40 + generation id
  (gallery.services.search.WORKSPACE_KEY), so one workspace's rows are one rowid range, which
  FTS5 seeks to directly; triggers keep it in step, a move between workspaces included.
- PostgreSQL: the trigram GIN indexes lead with workspace_id (btree_gin), so the posting list of
  a small workspace drives the scan instead of the whole table's.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from gallery.migrations._workspaces import (
    OLD_POSTGRESQL_TRGM,
    OLD_POSTGRESQL_TRGM_RESTORE,
    OLD_SQLITE_FTS,
    OLD_SQLITE_FTS_RESTORE,
    run_for_vendor,
)


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0006_file_name_and_finished_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The old search index goes first: SQLite rebuilds gallery_generation below, and the
        # old triggers and index would follow rows that are about to change.
        migrations.RunPython(
            run_for_vendor({"sqlite": OLD_SQLITE_FTS, "postgresql": OLD_POSTGRESQL_TRGM}),
            run_for_vendor(
                {"sqlite": OLD_SQLITE_FTS_RESTORE, "postgresql": OLD_POSTGRESQL_TRGM_RESTORE}
            ),
            elidable=False,
        ),
        migrations.CreateModel(
            name="Workspace",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=80)),
                ("slug", models.SlugField(max_length=60, unique=True)),
                ("is_personal", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(default=timezone.now)),
            ],
            options={"ordering": ["name", "id"]},
        ),
        migrations.CreateModel(
            name="Membership",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("viewer", "Viewer"),
                            ("reviewer", "Reviewer"),
                            ("editor", "Editor"),
                            ("admin", "Admin"),
                            ("owner", "Owner"),
                        ],
                        default="editor",
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(default=timezone.now)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="gallery.workspace",
                    ),
                ),
            ],
            options={
                "ordering": ["workspace", "user"],
                "indexes": [
                    models.Index(fields=["user", "workspace"], name="membership_user_workspace")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("workspace", "user"), name="membership_once_per_user"
                    )
                ],
            },
        ),
        # Indexes and the constraint that name `owner` go, then the column is renamed.
        migrations.RemoveConstraint(
            model_name="generation", name="generation_idempotency_key_per_owner"
        ),
        migrations.RemoveIndex(model_name="generation", name="generation_owner_newest"),
        migrations.RemoveIndex(model_name="generation", name="generation_owner_prompt"),
        migrations.RemoveIndex(model_name="generation", name="generation_owner_created"),
        migrations.RemoveIndex(model_name="generation", name="generation_owner_status"),
        migrations.RemoveIndex(model_name="image", name="image_owner_live_newest"),
        migrations.RemoveIndex(model_name="image", name="image_owner_favorites"),
        migrations.RemoveIndex(model_name="image", name="image_owner_live_generation"),
        migrations.RemoveIndex(model_name="image", name="image_owner_live_created"),
        migrations.RenameField(model_name="generation", old_name="owner", new_name="created_by"),
        migrations.RenameField(model_name="image", old_name="owner", new_name="created_by"),
        migrations.AddField(
            model_name="generation",
            name="workspace",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="generations",
                to="gallery.workspace",
            ),
        ),
        migrations.AddField(
            model_name="image",
            name="workspace",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="images",
                to="gallery.workspace",
            ),
        ),
    ]
