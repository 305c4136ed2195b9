"""Chinese typography (issue 13): full-width punctuation in Chinese text, no spaces around it, no ASCII brackets,
colons or commas touching Chinese characters — in the catalog and in replies built from its pieces."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from tests.helpers import make_group, say

CATALOG = Path(__file__).resolve().parents[1] / "bot/texts/locales/zh/LC_MESSAGES/messages.po"
FULL_WIDTH = "（），。：！？；、"
CJK = "[\u4e00-\u9fff]"
RULES = {
    "space next to full-width punctuation": re.compile(rf" [{FULL_WIDTH}]|[{FULL_WIDTH}] "),
    "ASCII bracket or colon touching Chinese": re.compile(rf"{CJK}[():]|[():]{CJK}"),
    "ASCII comma, stop or mark touching Chinese": re.compile(rf"{CJK}[,!?;]|[,!?;]{CJK}"),
}


def faults(text: str) -> list[str]:
    return [f"{rule}: …{text[max(0, m.start() - 12):m.end() + 12]}…"
            for rule, pattern in RULES.items() for m in pattern.finditer(text)]


def test_the_chinese_catalog_uses_chinese_typography():
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    found = []
    for message in catalog:
        if not message.id:
            continue
        for text in (message.string if isinstance(message.string, tuple) else (message.string,)):
            found += faults(text or "")
    assert found == []


def test_the_scanner_catches_what_it_is_for():
    assert faults("积分 。") and faults("（回复) 数量") and faults("积分: 每日签到") and faults("你好,世界")
    assert faults("用法：/give @用户名|ID|（回复）数量 理由") == []


async def test_replies_in_a_chinese_group_keep_chinese_typography(pg):
    g = await make_group(pg)
    await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.admin, "/give @alice 30 维基", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)
    for user, command in [
        (g.alice, "/history"), (g.alice, "/me"), (g.alice, "/help"), (g.admin, "/help"), (g.admin, "/settings"),
        (g.alice, "/top"), (g.alice, "/badges"), (g.alice, "/earn"), (g.alice, "/levels"), (g.alice, "/roles"),
        (g.alice, "/invites"), (g.admin, "/give"), (g.alice, "/optout"), (g.alice, "/shop"),
    ]:
        text = re.sub(r"<[^>]+>", "", await say(pg, user, command, g.chat))
        assert faults(text) == [], command
