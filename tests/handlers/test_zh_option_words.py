"""Chinese replies show a keyword to type with its meaning beside it (issue 13: "应为late" showed the English word
alone, glued to the Chinese), and enumerate names with the enumeration comma 、 (issue 11: reminders joined
names with ", ")."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.domain.settings import SETTINGS
from bot.texts import translator
from tests.helpers import make_group, say, tick
from tests.test_zh_typography import faults


async def test_a_chinese_refusal_gives_each_keyword_with_its_meaning(pg):
    g = await make_group(pg)
    await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.owner, "/additem 茶杯 | 30", g.chat)
    await say(pg, g.owner, "/schedule daily 09:00 post pin replace 早安", g.chat)
    replies = {command: await say(pg, g.owner, command, g.chat) for command in [
        "/schedule missed 1 maybe", "/schedule daily 09:00 foo 早安", "/schedule foo 09:00 post 早安",
        "/set screening maybe", "/set language fr", "/set captcha_mode foo", "/edititem 1 active maybe",
        "/schedule show 1",
    ]}
    assert replies["/schedule missed 1 maybe"] == "第 3 个词（maybe）：应为补发方式：late（错过的一次晚些补发一次）或 skip（跳过）。"
    assert "post（帖子）、reminder（签到提醒）" in replies["/schedule daily 09:00 foo 早安"]
    assert "once（一次）、every（每隔）" in replies["/schedule foo 09:00 post 早安"]
    assert replies["/set screening maybe"] == "screening 应为：on（开）或 off（关）。"
    assert replies["/set language fr"] == "language 应为：en（英文）或 zh（中文）。"
    assert replies["/set captcha_mode foo"] == "captcha_mode 应为：button（按钮）、math（算术题）或 question（自定义问题）。"
    assert replies["/edititem 1 active maybe"] == "active 应为：on（开）或 off（关）（你写的是 maybe）。"
    assert "选项：pin（置顶）、replace（删除上一条）" in replies["/schedule show 1"]
    for command, text in replies.items():
        assert faults(re.sub(r"<[^>]+>", "", text)) == [], command
        assert not re.search(r"[\u4e00-\u9fff][a-z]", text), (command, text)  # no Latin word glued to Chinese
    # The keywords are still what is typed, and English shows them alone.
    await say(pg, g.owner, "/lang en", g.chat)
    assert await say(pg, g.owner, "/set screening maybe", g.chat) == "screening must be on or off."
    assert await say(pg, g.owner, "/set captcha_mode foo", g.chat) == "captcha_mode must be button, math or question."


def test_every_choice_keyword_of_a_setting_has_a_chinese_meaning():
    zh = translator("zh")
    for spec in SETTINGS.values():
        kind = spec.kind
        words = ["on", "off"] if kind == "bool" else kind.removeprefix("choice:").split(",") if kind.startswith("choice:") else []
        for word in words:
            assert zh.option(word) != word, (spec.key, word)


async def test_a_chinese_reminder_names_people_with_the_enumeration_comma(pg):
    g = await make_group(pg)
    await say(pg, g.owner, "/lang zh", g.chat)
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, g.owner, "/schedule daily 20:00 reminder", g.chat)
    pg.clock.set(datetime(2026, 12, 1, 20, 0, 1, tzinfo=UTC))
    await tick(pg)
    [text] = [m["text"] for m in pg.sim.replies(g.chat) if "/checkin" in m.get("text", "") and "@alice" in m.get("text", "")][-1:]
    assert "@alice、@bob、@carol" in text and ", " not in text
    assert translator("en").listed(["@alice", "@bob"]) == "@alice, @bob"
