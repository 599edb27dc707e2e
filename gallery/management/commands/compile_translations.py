"""Compile the translation catalogues (gallery/locale/*/LC_MESSAGES/*.po) into the .mo files
Django reads, in pure Python (Babel): `make run`, `make test` and CI run it, so a fresh machine
needs no GNU gettext. The .mo files are build output (ignored by git)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def catalogue_paths() -> list[Path]:
    return sorted(
        path
        for locale_path in settings.LOCALE_PATHS
        for path in Path(locale_path).glob("*/LC_MESSAGES/*.po")
    )


def compile_catalogue(po_path: Path) -> bool:
    """Write po_path's .mo beside it (fuzzy entries left out, as msgfmt does); False when it
    was already up to date. Placeholders a translation drops or invents are refused."""
    locale = po_path.parent.parent.name
    with po_path.open("rb") as source:
        catalog = read_po(source, locale=locale, abort_invalid=True)
    problems = [
        f"{po_path}: {message.id!r}: {'; '.join(str(error) for error in errors)}"
        for message, errors in catalog.check()
    ]
    if problems:
        raise CommandError("\n".join(problems))
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.read_bytes() == buffer.getvalue():
        return False
    partial = mo_path.with_suffix(".mo.partial")
    partial.write_bytes(buffer.getvalue())
    os.replace(partial, mo_path)  # a running server never reads half a file
    return True


class Command(BaseCommand):
    help = "Compile gallery/locale's .po catalogues into .mo files (pure Python, no gettext)."

    def handle(self, *args: object, **options: object) -> None:
        paths = catalogue_paths()
        if not paths:
            raise CommandError("No .po catalogue found under settings.LOCALE_PATHS.")
        written = [path for path in paths if compile_catalogue(path)]
        for path in written:
            self.stdout.write(f"compiled {path.relative_to(settings.BASE_DIR)}")
        if options.get("verbosity", 1) and not written:
            self.stdout.write(f"{len(paths)} catalogue(s) already compiled")
