"""Every existing user gets a personal workspace (owner role) and their rows move into it.

Its own migration: on PostgreSQL, rows updated in a transaction leave deferred foreign-key
checks pending, and the ALTER TABLE that makes the column required (0009) must not share it.
"""

from django.conf import settings
from django.db import migrations

from gallery.migrations._workspaces import make_personal_workspaces


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0007_workspaces"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(make_personal_workspaces, migrations.RunPython.noop, elidable=False),
    ]
