"""Every user-facing string, through gettext: English is the source language, Simplified Chinese is bot/texts/locales/zh."""
from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "zh")


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet (it is translated where it is shown)."""
    return message


# One clause after another ("Order #1 is fulfilled." + "I told them privately."); zh joins them without a space.
JOINED = N_("{text} {more}")


class Translator:
    """`_("text")` translates; `_.ngettext(singular, plural, n)` picks the plural form."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self._catalog = gettext.translation("messages", LOCALE_DIR, languages=[self.lang], fallback=True)

    def __call__(self, message: str) -> str:
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ngettext(singular, plural, n)

    def joined(self, text: str, more: str) -> str:
        """`text` followed by another clause: a space in English, none in Chinese (full-width punctuation spaces itself)."""
        return self(JOINED).format(text=text, more=more) if more else text

    def for_language(self, lang: str) -> Translator:
        return translator(lang)


@lru_cache(maxsize=None)
def translator(lang: str) -> Translator:
    return Translator(lang)


def language_for_user(language_code: str | None, default: str) -> str:
    """Private chats follow the user's Telegram language when we speak it."""
    if language_code and language_code.lower().startswith("zh"):
        return "zh"
    if language_code and language_code.lower().startswith("en"):
        return "en"
    return default

