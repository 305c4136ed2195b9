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


def NC_(context: str, message: str) -> str:
    """N_ with a gettext context: the same English word in another role (an option keyword's meaning, a list's comma)."""
    return message


# One clause after another ("Order #1 is fulfilled." + "I told them privately."); zh joins them without a space.
JOINED = N_("{text} {more}")
# A keyword shown with its meaning (Translator.option): only a language that glosses keywords translates it.
OPTION = N_("{word} ({meaning})")
OR_LAST = N_("{items} or {last}")
AND_LAST = N_("{items} and {last}")


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

    def listed(self, items) -> str:
        """An enumeration of names or things: "Alice, Bob" in English, "Alice、Bob" in Chinese (the enumeration comma;
        `_(", ")` stays the clause comma "，")."""
        return self._catalog.pgettext("list", ", ").join(items)

    def option(self, word: str) -> str:
        """A keyword the user types (late, skip, on, pin…) as shown in a reply: the keyword itself, followed in
        Chinese by its meaning — "late（补发）" — so the reader learns both what it does and what to type."""
        meaning = self._catalog.pgettext("option", word)
        return word if meaning == word else self(OPTION).format(word=word, meaning=meaning)

    def options(self, words, last: str = "or") -> str:
        """Keywords to choose from, each as option() shows it: "on or off", "on（开）或 off（关）"."""
        shown = [self.option(w) for w in words]
        if len(shown) < 2:
            return "".join(shown)
        return self(OR_LAST if last == "or" else AND_LAST).format(items=self.listed(shown[:-1]), last=shown[-1])

    def for_language(self, lang: str) -> Translator:
        return translator(lang)


@lru_cache(maxsize=None)
def translator(lang: str) -> Translator:
    return Translator(lang)


def language_for_user(language_code: str | None, default: str, chosen: str | None = None) -> str:
    """Private chats speak the language the user chose (/language), else their Telegram app's when we speak it."""
    if chosen in LANGUAGES:
        return chosen
    if language_code and language_code.lower().startswith("zh"):
        return "zh"
    if language_code and language_code.lower().startswith("en"):
        return "en"
    return default

