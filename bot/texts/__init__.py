"""Every user-facing string, through gettext: English is the source language, Simplified Chinese is bot/texts/locales/zh."""
from __future__ import annotations

import gettext
import re
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

    def pgettext(self, context: str, message: str) -> str:
        return self._catalog.pgettext(context, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ngettext(singular, plural, n)

    def joined(self, text: str, more: str) -> str:
        """`text` followed by another clause: a space in English, none in Chinese (full-width punctuation spaces itself)."""
        return self(JOINED).format(text=text, more=more) if more else text

    def listed(self, items) -> str:
        """An enumeration of names or things: "Alice, Bob" in English, "Alice、Bob" in Chinese (the enumeration comma;
        `_(", ")` stays the clause comma "，")."""
        return self._catalog.pgettext("list", ", ").join(items)

    def option(self, word: str, context: str = "option", shown: str | None = None) -> str:
        """A keyword the user types (late, skip, on, pin…) as shown in a reply: the keyword itself (or `shown`, e.g.
        quoted), followed in Chinese by its meaning — "late（补发）" — so the reader learns both what it does and what
        to type. `context` is the catalog's context of the meaning (a rule's keywords have their own)."""
        meaning = self._catalog.pgettext(context, word)
        shown = word if shown is None else shown
        return shown if meaning == word else self(OPTION).format(word=shown, meaning=meaning)

    def gloss(self, word: str, meaning: str) -> str:
        """A keyword with a meaning the caller translated already ("url", "链接"), shown as option() shows one: the
        keyword alone in a language that does not gloss keywords (English), "url（链接）" in Chinese."""
        template = self(OPTION)
        return word if template == OPTION else template.format(word=word, meaning=meaning)

    def options(self, words, last: str = "or", context: str = "option", quoted: bool = False) -> str:
        """Keywords to choose from, each as option() shows it: "on or off", "on（开）或 off（关）". `quoted`: a keyword
        without a meaning in this language is quoted — "“in” or “within”" in English, "in（在……之内）或 within（在……之内）"
        or "“>=”或“=”" in Chinese."""
        shown = [self.option(w, context, f"“{w}”" if quoted and self.option(w, context) == w else None) for w in words]
        if len(shown) < 2:
            return "".join(shown)
        text = self(OR_LAST if last == "or" else AND_LAST).format(items=self.listed(shown[:-1]), last=shown[-1])
        # A Chinese word and a quotation mark need no space between them (a Latin keyword does: "或 late").
        return re.sub(r"([\u4e00-\u9fff]) “", r"\1“", text) if quoted else text

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

