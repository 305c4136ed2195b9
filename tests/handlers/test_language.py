"""/language (issue 13): a person's own language for their private chat with Sticky, stored (it followed only
the Telegram app's language), used for every private answer to them; a group's language stays its admins'."""
from __future__ import annotations

from tests.handlers.test_inbox import crash
from tests.helpers import help_of, make_group, say

USAGE_BOTH = ("Choose en or zh: /language en or /language zh.\n"
              "请选择 en（英文）或 zh（中文）：/language en 或 /language zh。")


async def start(pg, user) -> None:
    pg.sim.send(user, "/start")
    await pg.settle()


async def test_language_in_private_is_chosen_kept_and_used_for_every_private_answer_not_the_group(pg):
    g = await make_group(pg)
    await start(pg, g.alice)                                   # her Telegram app is in English
    assert await say(pg, g.alice, "/language") == (
        "I speak English with you here (from your Telegram app).\n"
        "Change it: /language en or /language zh, or press a button. A group's language is its admins' (/lang).")
    assert await say(pg, g.alice, "/language zh") == "从现在起，我在私聊里和你说中文。群组的语言不变。"
    assert (await say(pg, g.alice, "/help")).startswith("你可用的命令：")
    assert "我在这里和你说中文（你自己选的）" in await say(pg, g.alice, "/language")
    # The group is still in its own language, for her too.
    in_group = await say(pg, g.alice, "/help", g.chat)
    assert in_group.startswith("Commands for you (Member):") and not any("\u4e00" <= ch <= "\u9fff" for ch in in_group)
    # Kept in the database: a restart keeps it.
    await crash(pg)
    assert (await say(pg, g.alice, "/help")).startswith("你可用的命令：")
    assert await say(pg, g.alice, "/language en") == (
        "From now on I speak English with you in private. A group keeps its own language.")
    assert (await say(pg, g.alice, "/help")).startswith("Commands for you:")


async def test_a_chinese_app_user_can_choose_english_and_the_buttons_choose_too(pg):
    chen = pg.sim.user("chen", language_code="zh-hans")
    await start(pg, chen)
    assert (await say(pg, chen, "/language")).startswith("我在这里和你说中文（跟随你的 Telegram 应用）。")
    [shown] = [m for m in pg.sim.replies(chen) if m.get("text", "").startswith("我在这里")][-1:]
    labels = [b["text"] for row in shown["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["English", "中文"]
    pg.sim.press(chen, shown, "ulang:en")
    await pg.settle()
    assert pg.sim.message(chen, shown["message_id"])["text"] == (
        "From now on I speak English with you in private. A group keeps its own language.")
    assert (await say(pg, chen, "/help")).startswith("Commands for you:")


async def test_a_bad_language_gets_one_clear_answer_in_both_languages_and_a_group_is_pointed_to_lang(pg):
    g = await make_group(pg)
    await start(pg, g.alice)
    for bad in ("/language fr", "/language en zh", "/language 中文"):
        assert await say(pg, g.alice, bad) == USAGE_BOTH, bad
    chen = pg.sim.user("chen", language_code="zh")
    await start(pg, chen)
    assert await say(pg, chen, "/language fr") == "\n".join(reversed(USAGE_BOTH.split("\n")))
    assert await pg.services.members.language(g.alice.id) is None  # nothing was chosen
    assert await say(pg, g.alice, "/language", g.chat) == (
        "Your own language is set in private with me (/language). This group's language is set by its admins: /lang.")
    assert (await pg.services.groups.settings(g.chat.id)).language == "en"


async def test_help_lists_language_in_private_and_an_admin_connected_is_answered_in_their_own_language(pg):
    g = await make_group(pg)
    await start(pg, g.admin)
    assert "/language — Your own language here in private: en or zh" in await say(pg, g.admin, "/help")
    assert "Usage: /language [en|zh]" in await say(pg, g.admin, "/help language")
    await say(pg, g.admin, "/language zh")
    await say(pg, g.admin, "/connect Tea Lovers")
    settings = await say(pg, g.admin, "/settings")
    assert "群设置" in settings                                  # the group is in English; her private chat is not
    assert (await say(pg, g.admin, "/settings", g.chat)).startswith("Group settings")


async def test_a_groups_help_does_not_list_language_which_works_in_private_only(pg):
    """/language is a person's private setting: a group's /help (en and zh) leaves it out — /lang is the group's —
    private /help lists it, and typed in a group it still points to both."""
    g = await make_group(pg)
    await start(pg, g.admin)
    for who in (g.alice, g.admin):
        in_group = await help_of(pg, who, g.chat)
        assert in_group.startswith("Commands for you (") and "/language" not in in_group
    assert "/lang — " in await help_of(pg, g.admin, g.chat)   # the group's own language is there for admins
    assert "/language — Your own language here in private: en or zh" in await help_of(pg, g.admin)
    await say(pg, g.admin, "/lang zh", g.chat)
    zh_help = await help_of(pg, g.alice, g.chat)
    assert zh_help.startswith("你可用的命令") and "/language" not in zh_help
    assert await say(pg, g.alice, "/language zh", g.chat) == (
        "你自己的语言在和我的私聊里设置（/language）。本群的语言由管理员设置：/lang。")
    assert await pg.services.members.language(g.alice.id) is None
    # A connected admin's /language in private is still their own, not the group's.
    await say(pg, g.admin, "/connect Tea Lovers")
    assert await say(pg, g.admin, "/language en") == (
        "From now on I speak English with you in private. A group keeps its own language.")
    assert (await pg.services.groups.settings(g.chat.id)).language == "zh"


async def test_an_admins_own_language_is_used_for_the_private_notices_about_their_group(pg):
    """README: every private message to you uses the language you chose with /language. The notices about a group
    (a member's /report, a rule's notify, the newcomer spotlight, the weekly report) come to each admin in the one
    they chose, else in the group's; the group itself keeps its language."""
    from datetime import timedelta

    from tests.handlers.test_schedules import tick
    from tests.handlers.test_spotlight import chat

    g = await make_group(pg)
    for who in (g.owner, g.admin):
        await start(pg, who)
    await say(pg, g.admin, "/language zh")                        # the admin reads Chinese; the owner did not choose
    spam = pg.sim.send(g.bob, "cheap pills", g.chat)
    await pg.settle()
    assert await say(pg, g.alice, "/report selling pills", g.chat, reply_to=spam) == "Alice reported Bob to the admins."
    assert pg.sim.replies(g.admin)[-1]["text"].startswith("🚩 Tea Lovers：Alice 举报了 Bob。")
    assert pg.sim.replies(g.owner)[-1]["text"].startswith("🚩 Tea Lovers: Alice reported Bob.")
    await say(pg, g.owner, '/rule add when message and words "help" then notify', g.chat)
    pg.sim.send(g.carol, "help me", g.chat)
    await pg.settle()
    assert pg.sim.replies(g.admin)[-1]["text"].startswith("🔔 Tea Lovers：")
    assert pg.sim.replies(g.owner)[-1]["text"].startswith("🔔 Tea Lovers: rule ")
    await say(pg, g.owner, "/set spotlight_messages 3", g.chat)
    await chat(pg, g.alice, g.chat, 3)
    assert pg.sim.replies(g.admin)[-1]["text"].startswith("Tea Lovers 新人聚光灯：Alice")
    assert pg.sim.replies(g.owner)[-1]["text"].startswith("Newcomer spotlight in Tea Lovers")
    await say(pg, g.owner, "/schedule every 1d report", g.chat)
    pg.clock.advance(days=1, seconds=5)
    await tick(pg)
    assert pg.sim.replies(g.admin)[-1]["text"].startswith("Tea Lovers 周报（")
    assert pg.sim.replies(g.owner)[-1]["text"].startswith("Weekly report of Tea Lovers")
    # The group's own language is the owner's fallback: in a Chinese group, he reads Chinese.
    await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.admin, "/language en")
    pg.sim.send(g.carol, "help again", g.chat)
    await pg.settle()
    assert pg.sim.replies(g.admin)[-1]["text"].startswith("🔔 Tea Lovers: rule ")
    assert pg.sim.replies(g.owner)[-1]["text"].startswith("🔔 Tea Lovers：")
