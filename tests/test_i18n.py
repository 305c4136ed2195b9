"""Every user-facing string exists in English and Simplified Chinese, with the same placeholders, and the compiled catalog is current."""
from __future__ import annotations

import gettext
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "bot/texts/locales/zh/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "gettext": None}


def source_messages() -> set[str]:
    found = set()
    for folder in ("bot/texts", "handlers"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalog():
    with open(PO, "rb") as f:
        return read_po(f, locale="zh")


def test_every_string_in_the_code_has_a_chinese_translation():
    translated = {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalog() if m.id}
    missing = sorted(m for m in source_messages() if not translated.get(m) or (not isinstance(translated[m], str) and not all(translated[m])))
    assert not missing, f"add these to {PO.relative_to(ROOT)} (make i18n): {missing}"
    assert len(source_messages()) > 50


def test_translations_keep_the_placeholders():
    field = re.compile(r"\{[a-z_]*\}")
    for message in catalog():
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        for text in [message.string] if isinstance(message.string, str) else message.string:
            assert set(field.findall(source)) == set(field.findall(text)), f"placeholders differ: {source!r} -> {text!r}"


def test_compiled_catalog_matches_the_po_file():
    with open(MO, "rb") as f:
        compiled = gettext.GNUTranslations(f)
    for message in catalog():
        if message.id and isinstance(message.id, str):
            found = compiled.pgettext(message.context, message.id) if message.context else compiled.gettext(message.id)
            assert found == message.string, f"run `make i18n`: {message.id!r} is stale in {MO.name}"


def test_translator_falls_back_to_english_for_unknown_languages():
    from bot.texts import translator

    assert translator("fr")("Owner") == "Owner"
    assert translator("zh")("Owner") == "群主"
