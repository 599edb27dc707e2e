"""`make messages`: bring the Chinese catalogues up to date with the source (Django's
makemessages, which needs GNU gettext's xgettext/msgmerge), for both domains: "django"
(templates and Python) and "djangojs" (static/gallery/*.js).

The catalogues are written so that helpers editing them side by side rarely conflict: no
source locations, entries sorted by msgid, no obsolete entries, no creation date."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.core.management.commands.makemessages import Command as MakeMessages

LOCALES = ["zh_Hans"]
# Not the app's source: build output, tests, media, the virtualenv (dot-folders are skipped).
IGNORED = ["staticfiles", "media", "tests", "htmlcov", "docs", "*.egg-info", "node_modules"]


class SortedMakeMessages(MakeMessages):
    msgmerge_options = [*MakeMessages.msgmerge_options, "--sort-output"]
    msguniq_options = [*MakeMessages.msguniq_options, "--sort-output"]
    msgattrib_options = [*MakeMessages.msgattrib_options, "--sort-output"]
    xgettext_options = [*MakeMessages.xgettext_options, "--sort-output"]


def update_catalogues(*, locales: list[str] = LOCALES, verbosity: int = 0) -> list[Path]:
    """Run makemessages for both domains (from the current directory, into LOCALE_PATHS[0])
    and tidy the files it wrote; returns them."""
    written = []
    for domain, extensions in (("django", ["html", "txt", "py"]), ("djangojs", ["js"])):
        call_command(
            SortedMakeMessages(),
            locale=locales,
            domain=domain,
            extensions=extensions,
            ignore_patterns=IGNORED,
            no_location=True,
            no_obsolete=True,
            verbosity=verbosity,
        )
        for locale in locales:
            path = Path(settings.LOCALE_PATHS[0]) / locale / "LC_MESSAGES" / f"{domain}.po"
            tidy(path)
            written.append(path)
    return written


def tidy(path: Path) -> None:
    """Drop the header lines every run rewrites (creation date), which would make every
    helper's change to the catalogue conflict with every other's."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'^"POT-Creation-Date: [^"]*\\n"\n', "", text, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")


class Command(BaseCommand):
    help = "Update the zh_Hans catalogues from the source (needs GNU gettext)."

    def handle(self, *args: object, **options: object) -> None:
        for path in update_catalogues(verbosity=int(options.get("verbosity", 1))):
            self.stdout.write(f"updated {path.relative_to(settings.BASE_DIR)}")
        self.stdout.write(
            "Now translate every new or fuzzy entry (msgstr empty, or '#, fuzzy') in them; "
            "the test suite fails until none is left."
        )
