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
    # A space between does not make it Chinese typography: "群主 (1)", "Alice: 多一点茶".
    "ASCII bracket or colon touching Chinese": re.compile(rf"{CJK} ?[():]|[():] ?{CJK}"),
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
    assert faults("群主 (1) — 带领社群") and faults("Alice: 多一点茶")
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
        pg.clock.advance(seconds=3)  # a member types one command every few seconds (seven in ten are a flood)
        text = re.sub(r"<[^>]+>", "", await say(pg, user, command, g.chat))
        assert faults(text) == [], command


async def test_replies_joined_from_several_pieces_keep_chinese_typography(pg):
    """Clauses joined in code (a badge's bonus after the /checkin line, "（已下架）" after an edit, "我已私信…" after a
    fulfilment, the NPS count after a trend, a rule's [dry run]) had a space before full-width punctuation."""
    from tests.handlers.test_shop import buy

    g = await make_group(pg)
    await say(pg, g.owner, "/lang zh", g.chat)
    replies = [await say(pg, g.alice, "/checkin", g.chat)]   # the first check-in earns a badge with a bonus
    assert "首次签到（+" in replies[0], replies[0]
    await say(pg, g.owner, "/give @alice 100 维基", g.chat)
    await say(pg, g.owner, "/additem 茶杯 | 30", g.chat)
    replies.append(await say(pg, g.owner, "/edititem 1 active off", g.chat))
    assert "（已下架）" in replies[-1], replies[-1]
    await say(pg, g.owner, "/edititem 1 active on", g.chat)
    await buy(pg, g, g.alice, 1)
    replies.append(await say(pg, g.owner, "/fulfil 1", g.chat))
    await say(pg, g.owner, "/nps", g.chat)
    replies.append(await say(pg, g.owner, "/nps close", g.chat))
    replies.append(await say(pg, g.owner, "/stats", g.chat))
    for text in replies:
        text = re.sub(r"<[^>]+>", "", text)
        assert faults(text) == [], text
    # Points read the same everywhere: a space between the number and 积分.
    assert not re.search(r"\d积分", "\n".join(replies)), replies


async def test_lists_built_in_code_keep_chinese_typography(pg):
    """/roles wrote "群主 (1)", /badges "首次签到 (2026-05-04)", /feedbacks "Alice: 建议" and /pushlog
    "spotlight: 未发送 — never started the bot" (its reason in English) in a Chinese group."""
    g = await make_group(pg)
    await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)
    await say(pg, g.alice, "/feedback 每月一次品茶会", g.chat)
    await pg.services.outbox.private(g.bob.id, "hi", chat_id=g.chat.id, kind="expiry")  # Bob never started Sticky
    replies = {command: re.sub(r"<[^>]+>", "", await say(pg, user, command, g.chat))
               for user, command in [(g.alice, "/roles"), (g.alice, "/badges"), (g.admin, "/feedbacks"), (g.admin, "/pushlog")]}
    for command, text in replies.items():
        assert faults(text) == [], (command, text)
    assert "群主（1）" in replies["/roles"] and "首次签到（" in replies["/badges"]
    assert "Alice：每月一次品茶会" in replies["/feedbacks"]
    assert "never started" not in replies["/pushlog"]
    assert " — " not in replies["/pushlog"] and "未发送，" in replies["/pushlog"]  # the reason after "，", as zh lines join


def test_the_chinese_catalog_spaces_numbers_ids_and_commands_from_chinese():
    """One spacing throughout (it was "第{n}条规则" beside "第 {n} 赛季", "定时任务#{id}" beside "订单 #{id}",
    "用/feedbacks查看" beside "用 /checkin 开始"): a number, #id, count placeholder or /command stands apart."""
    numbers = r"\{(?:n|id|count|days|seconds|minutes|hours|limit|max|cost|balance|points|xp|d)\}"
    touching = re.compile(rf"{CJK}(?:[0-9]|#?{numbers}|/[a-z])|(?:[0-9]|{numbers}){CJK}|/[a-z_]+{CJK}")
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    found = [text for message in catalog if message.id
             for text in (message.string if isinstance(message.string, tuple) else (message.string,)) if touching.search(text or "")]
    assert found == []
