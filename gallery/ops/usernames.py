"""Usernames that look like someone else's are refused (`alice` spelt with a Cyrillic `a`)."""

from __future__ import annotations

import unicodedata

from confusable_homoglyphs import confusables
from django.utils.translation import gettext as _


def skeleton(username: str) -> str:
    """What a username looks like: NFKC (full-width and compatibility forms fold to their plain
    letters), case-folded, then each character that is a homoglyph of a Latin one replaced by it
    (Unicode's confusables table, via confusable-homoglyphs)."""
    folded = unicodedata.normalize("NFKC", username).casefold()
    lookalikes = confusables.is_confusable(folded, greedy=True, preferred_aliases=["latin"]) or []
    replacements = {
        found["character"]: next(
            (g["c"] for g in found["homoglyphs"] if g["n"].startswith("LATIN")), found["character"]
        )
        for found in lookalikes
    }
    return "".join(replacements.get(character, character) for character in folded)


def lookalike_problem(username: str, *, taken: object) -> str | None:
    """Why this username may not be used, or None.

    `taken(name)` says whether an existing account has that name (case-insensitively). A name
    that mixes scripts with look-alike letters is refused outright; any other name is refused
    when what it looks like is an existing name."""
    if confusables.is_dangerous(username):
        return _("This username mixes letters from different alphabets that look alike.")
    looks_like = skeleton(username)
    if looks_like != username.casefold() and taken(looks_like):
        return _("This username looks too much like an existing one. Please choose another.")
    return None
