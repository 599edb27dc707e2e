"""Every row has its workspace now: the column becomes required, the indexes lead with it, and
the search index is rebuilt keyed by workspace (see 0007's docstring)."""

import django.db.models.deletion
from django.db import migrations, models

from gallery.migrations._workspaces import (
    NEW_POSTGRESQL_TRGM,
    NEW_POSTGRESQL_TRGM_BACKWARD,
    NEW_SQLITE_FTS,
    OLD_SQLITE_FTS,
    run_for_vendor,
)


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0008_personal_workspaces"),
    ]

    operations = [
        migrations.AlterField(
            model_name="generation",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="generations",
                to="gallery.workspace",
            ),
        ),
        migrations.AlterField(
            model_name="image",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="images",
                to="gallery.workspace",
            ),
        ),
        migrations.AddConstraint(
            model_name="generation",
            constraint=models.UniqueConstraint(
                fields=("created_by", "idempotency_key"),
                name="generation_idempotency_key_per_creator",
            ),
        ),
        migrations.AddIndex(
            model_name="generation",
            index=models.Index(fields=["workspace", "-id"], name="generation_ws_newest"),
        ),
        migrations.AddIndex(
            model_name="generation",
            index=models.Index(
                fields=["workspace", "prompt_normalized", "-id"], name="generation_ws_prompt"
            ),
        ),
        migrations.AddIndex(
            model_name="generation",
            index=models.Index(fields=["workspace", "created_at"], name="generation_ws_created"),
        ),
        migrations.AddIndex(
            model_name="generation",
            index=models.Index(fields=["workspace", "status", "-id"], name="generation_ws_status"),
        ),
        migrations.AddIndex(
            model_name="generation",
            index=models.Index(
                fields=["workspace", "created_by", "-id"], name="generation_ws_creator"
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["workspace", "-id"],
                name="image_ws_live_newest",
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("is_favorite", True)),
                fields=["workspace", "-id"],
                name="image_ws_favorites",
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["workspace", "created_by", "-id"],
                name="image_ws_live_creator",
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", False)),
                fields=["workspace", "-id"],
                name="image_ws_trashed",
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["workspace", "-generation"],
                name="image_ws_live_generation",
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["workspace", "created_at"],
                name="image_ws_live_created",
            ),
        ),
        migrations.RunPython(
            run_for_vendor({"sqlite": NEW_SQLITE_FTS, "postgresql": NEW_POSTGRESQL_TRGM}),
            run_for_vendor({"sqlite": OLD_SQLITE_FTS, "postgresql": NEW_POSTGRESQL_TRGM_BACKWARD}),
            elidable=False,
        ),
    ]
