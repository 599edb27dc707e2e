"""Languages and time zones: each signed-in user's own, and the language of what users write.

- A signed-in user's language and time zone are a `UserPreference` row, copied into their
  session when they log in (so a request costs no query for them) and activated for each of
  their requests by `UserPreferencesMiddleware`, over Django's `LocaleMiddleware` (which reads an
  anonymous visitor's language cookie, else their browser's Accept-Language).
- The time zone is detected by the browser once (static/gallery/i18n.js posts it when none is
  stored) and can be changed on the settings page.
- `text_language` tells the language of user text (a prompt) by its script, so a Chinese prompt
  on an English page carries lang="zh" (the `lang_attr` filter).
- `Message` keeps a user-facing message that is stored before anyone reads it (a failed
  generation's error, written by a worker) as its msgid and parameters, so each viewer reads it
  in their own language.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

SESSION_KEY = "atelier_preferences"


@functools.cache
def time_zone_names() -> list[str]:
    """Every IANA time zone name this machine knows, sorted (the settings page's choices)."""
    return sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})


def is_time_zone(name: str) -> bool:
    return name in set(time_zone_names())


def is_language(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


def preferences_of(user: Any) -> dict[str, str]:
    """{"language": ..., "time_zone": ...} as stored (blank strings when never set)."""
    from gallery.models import UserPreference

    row = UserPreference.objects.filter(user=user).values("language", "time_zone").first()
    return row or {"language": "", "time_zone": ""}


def save_preferences(
    request: HttpRequest, *, language: str | None = None, time_zone: str | None = None
) -> dict[str, str]:
    """Store the signed-in user's choice (None: leave as it is) and update their session."""
    from gallery.models import UserPreference

    changes = {
        field: value
        for field, value in (("language", language), ("time_zone", time_zone))
        if value is not None
    }
    UserPreference.objects.update_or_create(user=request.user, defaults=changes)
    preferences = {**preferences_of_session(request), **changes}
    request.session[SESSION_KEY] = preferences
    return preferences


def preferences_of_session(request: HttpRequest) -> dict[str, str]:
    """The signed-in user's preferences, read once per session from the database."""
    preferences = request.session.get(SESSION_KEY)
    if not isinstance(preferences, dict):
        preferences = preferences_of(request.user)
        request.session[SESSION_KEY] = preferences
    return preferences


@receiver(user_logged_in, dispatch_uid="atelier-preferences-on-login")
def _remember_preferences(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = preferences_of(user)


def set_language_cookie(response: HttpResponse, language: str) -> None:
    """So the page stays in the user's language after they log out (LocaleMiddleware reads it)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class UserPreferencesMiddleware:
    """Activates a signed-in user's own language and time zone (after AuthenticationMiddleware
    and LocaleMiddleware, whose choice from the cookie or Accept-Language it overrides)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = ""
        if request.user.is_authenticated:
            preferences = preferences_of_session(request)
            language = preferences.get("language", "")
            if is_language(language):
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
            else:
                language = ""
            if is_time_zone(name := preferences.get("time_zone", "")):
                timezone.activate(zoneinfo.ZoneInfo(name))
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            set_language_cookie(response, language)
        return response


# The scripts user text is told apart by: (first, last code point, language tag).
_SCRIPT_RANGES = (
    (0x3040, 0x30FF, "ja"),  # hiragana, katakana
    (0x31F0, 0x31FF, "ja"),
    (0xAC00, 0xD7AF, "ko"),  # hangul syllables and jamo
    (0x1100, 0x11FF, "ko"),
    (0x3130, 0x318F, "ko"),
    (0x3400, 0x4DBF, "zh"),  # CJK ideographs
    (0x4E00, 0x9FFF, "zh"),
    (0xF900, 0xFAFF, "zh"),
    (0x20000, 0x2FA1F, "zh"),
)


def _script_of(character: str) -> str:
    point = ord(character)
    if point < 0x3040:
        return "en" if character.isalpha() and point < 0x0250 else ""
    for first, last, tag in _SCRIPT_RANGES:
        if first <= point <= last:
            return tag
    return ""


def text_language(text: str, *, sample: int = 400) -> str:
    """The language of user text, told by its script alone (cheap: the first `sample`
    characters): "zh" for Chinese characters, "ja" when there is kana beside them, "ko" for
    hangul, "en" for Latin letters, "" when it has no letters. A Chinese character says more
    than a Latin letter, so each counts as three: "一只猫 in 4K" is Chinese."""
    counts = {"zh": 0, "ja": 0, "ko": 0, "en": 0}
    for character in text[:sample]:
        if script := _script_of(character):
            counts[script] += 1
    east_asian = counts["zh"] + counts["ja"] + counts["ko"]
    if east_asian == 0:
        return "en" if counts["en"] else ""
    if east_asian * 3 < counts["en"]:
        return "en"
    if counts["ja"]:
        return "ja"
    return "ko" if counts["ko"] > counts["zh"] else "zh"


def page_language() -> str:
    """The primary subtag of the language the page is rendered in ("en", "zh")."""
    return (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]


class Message:
    """A user-facing message stored before it is read, kept as its msgid and parameters and
    translated when shown (str() of it, in the active language).

    Parameters are plain values (shown as they are: a provider's own words, a number) or
    Messages; `Message.join(...)` puts several sentences side by side. The msgid is marked for
    makemessages where it is written: Message(gettext_noop("Image %(position)s: %(reason)s"),
    position=3, reason=...)."""

    def __init__(self, msgid: str = "", /, *, parts: list[Message] | None = None, **params: Any):
        self.msgid = msgid
        self.parts = parts
        self.params = params

    @classmethod
    def join(cls, messages: list[Message | str]) -> Message:
        return cls(parts=[m if isinstance(m, Message) else cls.plain(m) for m in messages])

    @classmethod
    def plain(cls, text: str) -> Message:
        """Text that is shown as it is, in every language (an upstream service's words)."""
        return cls("%(text)s", text=text)

    def __str__(self) -> str:
        if self.parts is not None:
            # Chinese sentences follow each other with no space between them.
            separator = "" if page_language() in ("zh", "ja") else " "
            return separator.join(text for part in self.parts if (text := str(part)))
        if self.msgid == "%(text)s":
            return str(self.params["text"])
        translated = translation.gettext(self.msgid)
        if not self.params:
            return translated
        return translated % {key: str(value) for key, value in self.params.items()}

    def __repr__(self) -> str:
        return f"Message({self.english()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def english(self) -> str:
        with translation.override("en"):
            return str(self)

    def to_json(self) -> dict[str, Any]:
        if self.parts is not None:
            return {"parts": [part.to_json() for part in self.parts]}
        params = {
            key: value.to_json() if isinstance(value, Message) else value
            for key, value in self.params.items()
        }
        return {"msgid": self.msgid, "params": params} if params else {"msgid": self.msgid}

    @classmethod
    def from_json(cls, data: Any) -> Message:
        """The message stored by to_json(); anything else (a hand-edited row) shown as text."""
        if isinstance(data, dict) and isinstance(data.get("parts"), list):
            return cls(parts=[cls.from_json(part) for part in data["parts"]])
        if isinstance(data, dict) and isinstance(data.get("msgid"), str):
            params = data.get("params") or {}
            if not isinstance(params, dict):
                params = {}
            return cls(
                data["msgid"],
                **{
                    key: cls.from_json(value) if isinstance(value, dict) else value
                    for key, value in params.items()
                },
            )
        return cls.plain(str(data))
