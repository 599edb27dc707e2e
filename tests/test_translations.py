"""The Chinese catalogues: complete, not fuzzy, placeholders kept, and up to date with the
source (what `make messages` would add is missing here until someone translates it)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation

from gallery.management.commands.compile_translations import catalogue_paths, compile_catalogue
from gallery.management.commands.update_translations import update_catalogues

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
CATALOGUES = sorted(LOCALE_DIR.glob("zh_Hans/LC_MESSAGES/*.po"))


def read(path: Path):
    with path.open("rb") as source:
        return read_po(source, locale=path.parent.parent.name)


def keys(path: Path) -> set[tuple[object, str | None]]:
    return {(message.id, message.context) for message in read(path) if message.id}


def test_both_domains_have_a_chinese_catalogue():
    assert [path.name for path in CATALOGUES] == ["django.po", "djangojs.po"]


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.name)
def test_every_message_is_translated_and_none_is_fuzzy(path):
    catalog = read(path)
    assert not catalog.fuzzy, f"{path.name}: the header is marked fuzzy"
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, f"{path.name}: untranslated (run `make messages`): {untranslated}"
    assert not fuzzy, f"{path.name}: fuzzy (check them, then drop the flag): {fuzzy}"


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.name)
def test_translations_keep_every_placeholder(path):
    for message in read(path):
        if not message.id:
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            wanted = sorted(PLACEHOLDER.findall(source))
            if isinstance(message.id, tuple):  # the plural's own placeholders count too
                wanted = sorted(set(wanted) | set(PLACEHOLDER.findall(message.id[1])))
                assert sorted(set(PLACEHOLDER.findall(string))) == wanted, (source, string)
            else:
                assert sorted(PLACEHOLDER.findall(string)) == wanted, (source, string)


def test_the_catalogues_are_up_to_date_with_the_source(tmp_path, monkeypatch, settings):
    """Runs `make messages` on a copy of the source: it must find exactly the msgids the
    committed catalogues have (none to add, none left over)."""
    root = Path(settings.BASE_DIR)
    for name in ("gallery", "templates", "static"):
        shutil.copytree(
            root / name,
            tmp_path / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.mo"),
        )
    copy_locale = tmp_path / "gallery" / "locale"
    settings.LOCALE_PATHS = [copy_locale]
    monkeypatch.chdir(tmp_path)
    update_catalogues()
    for path in CATALOGUES:
        regenerated = copy_locale / "zh_Hans" / "LC_MESSAGES" / path.name
        committed, fresh = keys(path), keys(regenerated)
        assert not fresh - committed, f"{path.name}: new in the source, run `make messages`"
        assert not committed - fresh, f"{path.name}: gone from the source, run `make messages`"


def test_compiled_catalogues_speak_chinese(tmp_path):
    for path in catalogue_paths():
        compile_catalogue(path)
        assert path.with_suffix(".mo").stat().st_size > 0
    with translation.override("zh-hans"):
        assert translation.gettext("Gallery") == "图库"
        assert translation.gettext("Trash") == "回收站"
    with translation.override("en"):
        assert translation.gettext("Gallery") == "Gallery"


def test_a_fuzzy_entry_is_left_out_of_the_compiled_catalogue(tmp_path):
    po = tmp_path / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Kept"\nmsgstr "保留"\n\n#, fuzzy\nmsgid "Guessed"\nmsgstr "猜的"\n',
        encoding="utf-8",
    )
    assert compile_catalogue(po) is True
    data = po.with_suffix(".mo").read_bytes()
    assert "保留".encode() in data
    assert "猜的".encode() not in data
    assert compile_catalogue(po) is False  # unchanged: not rewritten
