"""What differs between generations: a word-level diff of two prompts, and the options whose
values are not the same everywhere. Used by the compare page and the lineage tree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from gallery.models import Generation

# Words keep their trailing spaces, so joining the pieces gives the prompt back unchanged.
WORD_RE = re.compile(r"\S+\s*|\s+")

# How an option left unset shows (an en dash).
UNSET = "\u2013"

# The options the compare page lines up, in this order (then each extra option by name).
OPTION_FIELDS: tuple[tuple[str, Any], ...] = (
    ("model", _("Model")),
    ("size", _("Size")),
    ("aspect_ratio", _("Aspect ratio")),
    ("quality", _("Quality")),
    ("resolution", _("Resolution")),
    ("response_format", _("Response")),
    ("n", _("Images asked")),
)


@dataclass(frozen=True)
class Piece:
    """A run of words: "same" in both prompts, "removed" from the first, "added" in the second."""

    kind: str
    text: str


def word_diff(before: str, after: str) -> list[Piece]:
    """The pieces that turn `before` into `after`, word by word (whitespace-insensitive:
    "a  fox" and "a fox" are the same words)."""
    old, new = WORD_RE.findall(before), WORD_RE.findall(after)
    matcher = SequenceMatcher(
        a=[word.strip() for word in old], b=[word.strip() for word in new], autojunk=False
    )
    pieces: list[Piece] = []

    def add(kind: str, words: list[str]) -> None:
        text = "".join(words)
        if not text:
            return
        if pieces and pieces[-1].kind == kind:
            pieces[-1] = Piece(kind, pieces[-1].text + text)
        else:
            pieces.append(Piece(kind, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("same", new[j1:j2])
        else:
            add("removed", old[i1:i2])
            add("added", new[j1:j2])
    return pieces


@dataclass(frozen=True)
class OptionRow:
    label: str
    values: list[str]


def _value(generation: Generation, field: str) -> Any:
    if field.startswith("extra:"):
        return generation.extra_params.get(field.removeprefix("extra:"), "")
    return getattr(generation, field)


def differing_options(generations: list[Generation]) -> list[OptionRow]:
    """The options (the common ones, then each extra option any of them has) whose values are
    not all the same, one row each with every generation's value (UNSET when unset)."""
    fields = [*OPTION_FIELDS]
    extra_names = sorted({name for g in generations for name in (g.extra_params or {})})
    fields += [(f"extra:{name}", name.replace("_", " ").capitalize()) for name in extra_names]
    rows = []
    for field, label in fields:
        values = [_value(generation, field) for generation in generations]
        if len({str(value) for value in values}) > 1:
            rows.append(
                OptionRow(label, [str(value) if value != "" else UNSET for value in values])
            )
    return rows
