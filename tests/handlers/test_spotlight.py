"""Newcomer spotlight through the real Application: a member very active in their first hours is flagged to each
admin once (in private, in the group's language) and gets the group's bonus once (ledger reason spotlight); slow
newcomers and members from before are not; a restart keeps watching; bad settings get one clear line."""
from __future__ import annotations

from bot.context import BotContext
from handlers import points as hp
from tests.helpers import make_group, say


def spotlights(pg, user) -> list[str]:
    return [m["text"] for m in pg.sim.replies(user) if "spotlight" in m.get("text", "") or "聚光灯" in m.get("text", "")]


async def chat(pg, user, chat, n: int, every: int = 5) -> None:
    """n messages, `every` seconds apart (a chat, not a flood the antiflood rule would mute)."""
    for i in range(n):
        pg.clock.advance(seconds=every)
        pg.sim.send(user, f"message {i}", chat)
        await pg.settle()


async def group_with_newcomer(pg, lang: str = "en"):
    g = await make_group(pg)                                   # alice, bob, carol joined: "hi" is message 1
    for who in (g.owner, g.admin, g.bob):
        await say(pg, who, "/start")
    if lang == "zh":
        await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.owner, "/set spotlight_messages 5", g.chat)
    return g


async def test_a_very_active_newcomer_is_flagged_to_the_admins_once_with_the_groups_bonus(pg):
    g = await group_with_newcomer(pg)
    await say(pg, g.owner, "/set spotlight_bonus 50", g.chat)
    await chat(pg, g.alice, g.chat, 3)                         # hi + 3: not yet
    assert spotlights(pg, g.owner) == []
    await chat(pg, g.alice, g.chat, 1)                         # the fifth message
    for admin in (g.owner, g.admin):
        assert spotlights(pg, admin) == [
            "Newcomer spotlight in Tea Lovers: Alice joined and sent 5 messages within 24 hours. A good moment to "
            "welcome them in person. They got the group's welcome bonus of 50 points."]
    assert spotlights(pg, g.bob) == []                         # not an admin
    await chat(pg, g.alice, g.chat, 10)                        # flagged once, paid once
    assert len(spotlights(pg, g.owner)) == 1
    rows = await pg.services.db.fetchall(
        "SELECT amount FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = 'spotlight'", (g.chat.id, g.alice.id))
    assert [r[0] for r in rows] == [50]
    assert "+50 points: newcomer spotlight" in await say(pg, g.alice, "/history", g.chat)


async def test_slow_newcomers_and_members_from_before_are_not_flagged(pg):
    g = await group_with_newcomer(pg)
    await chat(pg, g.bob, g.chat, 2)
    pg.clock.advance(hours=24)                                 # the rest come after bob's first day
    await chat(pg, g.bob, g.chat, 5)
    await chat(pg, g.admin, g.chat, 6)                         # joined too, but admins are not the members it is for
    await chat(pg, g.owner, g.chat, 6)                         # the owner never joined while Sticky watched
    assert spotlights(pg, g.owner) == [] and spotlights(pg, g.admin) == []
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE reason = 'spotlight'") == 0


async def test_a_restart_keeps_watching_the_newcomer_from_the_written_counts(pg):
    g = await group_with_newcomer(pg, "zh")
    await chat(pg, g.carol, g.chat, 2)                         # hi + 2
    await hp.job_flush(BotContext(pg.app))
    await pg.restart()
    await chat(pg, g.carol, g.chat, 2)
    assert spotlights(pg, g.owner) == ["Tea Lovers 新人聚光灯：Carol 入群后 24 小时内发了 5 条消息。正是亲自欢迎的好时机。"]


async def test_bad_spotlight_settings_get_one_clear_line(pg):
    g = await group_with_newcomer(pg)
    assert await say(pg, g.owner, "/set spotlight_messages lots", g.chat) == "spotlight_messages must be a whole number from 0 to 10000."
    assert await say(pg, g.owner, "/set spotlight_bonus -5", g.chat) == "spotlight_bonus must be a whole number from 0 to 100000."
    assert "Only" in await say(pg, g.alice, "/set spotlight_bonus 5", g.chat)
