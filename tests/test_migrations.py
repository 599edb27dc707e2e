"""The workspace migrations move existing rows: every user gets a personal workspace (owner) and
their generations and images go into it, searchable, with the maker kept as created_by."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("gallery", "0006_file_name_and_finished_indexes")]
AFTER = [("gallery", "0009_workspace_required")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


# Migrating back and forth needs real commits, not the test's transaction.
@pytest.mark.django_db(transaction=True)
def test_existing_users_get_a_personal_workspace_holding_their_rows():
    old = migrate(BEFORE)
    User = old.get_model("auth", "User")
    Generation = old.get_model("gallery", "Generation")
    Image = old.get_model("gallery", "Image")
    ada = User.objects.create(username="ada")
    bob = User.objects.create(username="Bob.Smith")
    User.objects.create(username="nobody")
    rows = {}
    for user, prompt in ((ada, "a watercolor fox"), (bob, "a neon whale")):
        generation = Generation.objects.create(
            owner=user, idempotency_key="k", prompt=prompt, prompt_normalized=prompt, model="demo"
        )
        Image.objects.create(
            generation=generation,
            owner=user,
            index=0,
            original=f"u{user.pk}/originals/x.png",
            format="png",
            width=1,
            height=1,
            bytes=1,
            sha256="x",
            thumbnail_small="s",
            thumbnail_large="l",
        )
        rows[user.username] = generation.pk

    try:
        new = migrate(AFTER)
        Workspace = new.get_model("gallery", "Workspace")
        Membership = new.get_model("gallery", "Membership")
        Generation = new.get_model("gallery", "Generation")
        Image = new.get_model("gallery", "Image")
        memberships = {
            m.user.username: m for m in Membership.objects.select_related("user", "workspace")
        }
        assert set(memberships) == {"ada", "Bob.Smith", "nobody"}
        assert {m.role for m in memberships.values()} == {"owner"}
        assert all(m.workspace.is_personal for m in memberships.values())
        assert memberships["Bob.Smith"].workspace.slug == "bobsmith"
        assert Workspace.objects.count() == 3
        for username, generation_id in rows.items():
            generation = Generation.objects.get(pk=generation_id)
            workspace_id = memberships[username].workspace_id
            assert generation.workspace_id == workspace_id
            assert generation.created_by_id == memberships[username].user_id
            image = Image.objects.get(generation_id=generation_id)
            assert (image.workspace_id, image.created_by_id) == (
                workspace_id,
                generation.created_by_id,
            )
            assert image.original.name.startswith("u")  # old files keep their names

        # The search index was rebuilt keyed by workspace: the moved rows are found there.
        from gallery.models import Generation as CurrentGeneration
        from gallery.services.search import filter_generations

        fox = filter_generations(
            CurrentGeneration.objects.filter(workspace_id=memberships["ada"].workspace_id),
            query="watercolor",
            workspace_id=memberships["ada"].workspace_id,
        )
        assert list(fox.values_list("pk", flat=True)) == [rows["ada"]]
        elsewhere = filter_generations(
            CurrentGeneration.objects.filter(workspace_id=memberships["Bob.Smith"].workspace_id),
            query="watercolor",
            workspace_id=memberships["Bob.Smith"].workspace_id,
        )
        assert not elsewhere.exists()
    finally:
        # Back to the newest schema, not AFTER: later migrations (boards, budgets) add tables
        # and columns the tests that run after this one use.
        executor = MigrationExecutor(connection)
        migrate(executor.loader.graph.leaf_nodes("gallery"))
        from django.core.management import call_command

        call_command("flush", verbosity=0, interactive=False)
