"""Who the stats count (README, Stats: "Bots and Sticky are never counted; admins are counted apart"): another bot in
the group — even one whose every message reaches Sticky — and Sticky itself never show in /stats, /retention's
cohorts, /loyalty's segments or the top contributors; admins are shown apart, never among the members."""
from __future__ import annotations

import functools

import pytest

from bot.context import BotContext
from bot.texts import loyalty as loyalty_texts, stats as stats_texts, translator
from handlers import points as hp
from tests.helpers import make_group, say


async def flush(pg):
    await hp.job_flush(BotContext(pg.app))


def photos(pg, chat):
    return [c for c in pg.sim.calls("sendPhoto") if c.ok and c.params["chat_id"] == chat.id]


def last_text(pg, chat, start: str) -> str:
    return [m["text"] for m in pg.sim.replies(chat) if m.get("text", "").startswith(start)][-1]


async def test_a_bot_member_and_sticky_itself_never_count_and_admins_are_shown_apart(pg):
    # Bot-to-bot mode on and privacy off, Sticky an admin: Telegram then delivers the other bot's every message.
    pg.sim.bot_to_bot, pg.sim.privacy_mode = True, False
    g = await make_group(pg)
    helper = pg.sim.user("helperbot", first_name="Helper Bot", is_bot=True)
    pg.sim.add_member(g.chat, helper, by=g.owner)
    for i in range(12):
        pg.sim.send(helper, f"beep {i}", g.chat)
    pg.sim.send(helper, f"/checkin@{pg.sim.bot.username}", g.chat)
    for i in range(6):
        pg.sim.send(g.admin, f"admin note {i}", g.chat)
    await say(pg, g.alice, "tea time", g.chat)
    await say(pg, g.bob, "/checkin", g.chat)
    await flush(pg)
    await say(pg, g.admin, "/stats", g.chat)
    text = last_text(pg, g.chat, "Stats of")
    assert "Helper Bot" not in text and pg.sim.bot.first_name not in text
    # owner, admin, alice, bob, carol: no bot, not Sticky; the helper's join is no growth
    assert "Members: 5 (of them admins: 2); growth +4 (4 joined, 0 left)" in text
    assert "DAU 0.4 · WAU 3 · MAU 3" in text              # alice, bob, carol: not the bot, not the admin
    assert "Check-ins: 1;" in text                          # bob's, not the bot's
    assert "Admins (counted apart): 1 active, messages: 7" in text  # six notes and the /stats
    top = text.split("Top contributors:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split(" — ")[0] for line in top] == ["1. Alice", "2. Bob", "3. Carol"]

    pg.clock.advance(days=7)
    for who in (helper, g.admin, g.alice):                  # the week after the joins: the bot and the admin too
        pg.sim.send(who, "back again", g.chat)
    await pg.settle()
    await flush(pg)
    pg.clock.advance(days=7)
    await say(pg, g.admin, "/retention", g.chat)
    table = last_text(pg, g.chat, "Retention of")
    assert "2026-03-02 n=3     33%" in table                # alice, bob, carol joined; alice came back
    assert "2026-03-09: 0 of 3 (0%)" in table               # churn's base: the same three

    await say(pg, g.admin, "/loyalty", g.chat)
    pyramid = last_text(pg, g.chat, "Loyalty of")
    assert pyramid.startswith("Loyalty of Tea Lovers (3 members, admins apart):")
    assert "Helper Bot" not in pyramid
    for who in (helper, g.admin):
        answer = await say(pg, g.admin, f"/loyalty @{who.username}", g.chat)
        assert answer == f"{who.first_name} is not placed: admins, bots and people no longer in the group are left out."


@pytest.mark.parametrize("lang, rule", [("en", "(bots never, admins apart)"), ("zh", "（机器人不计，管理员单列）")])
async def test_every_stats_table_and_chart_carries_its_definitions_footnote_in_the_group_s_language(pg, monkeypatch, lang, rule):
    g = await make_group(pg)
    if lang == "zh":
        await say(pg, g.owner, "/lang zh", g.chat)
    tr = translator(lang)
    drawn = []  # what each chart was asked to draw with (the labels travel to the worker process with it)
    run = pg.services.stats.charts.run

    async def recording(draw, *args):
        if isinstance(draw, functools.partial):  # a chart (not the worker's font check)
            drawn.append(draw)
        return await run(draw, *args)

    monkeypatch.setattr(pg.services.stats.charts, "run", recording)
    await flush(pg)
    pg.clock.advance(days=7)
    await say(pg, g.alice, "the week after", g.chat)
    await flush(pg)
    pg.clock.advance(days=7)
    stats_footnote, retention_footnote = stats_texts.definitions(tr, 30), stats_texts.retention_definitions(tr, 30)
    loyalty_footnote = loyalty_texts.definitions(tr, pg.services.loyalty.thresholds)
    assert rule in stats_footnote and rule in retention_footnote
    for command, footnote in (("/stats 30d", stats_footnote), ("/retention", retention_footnote), ("/loyalty", loyalty_footnote)):
        before = len(pg.sim.replies(g.chat))
        await say(pg, g.admin, command, g.chat)
        [table] = [m["text"] for m in pg.sim.replies(g.chat)[before:] if "text" in m]
        assert table.endswith("\n\n" + footnote), (command, table)
    assert [d.func.__name__ for d in drawn] == ["stats_chart", "retention_chart"]
    assert [d.args[-1].footnote for d in drawn] == [stats_footnote, retention_footnote]
    assert len(photos(pg, g.chat)) == 2
    if lang == "zh":
        assert "Bots" not in loyalty_footnote and "机器人和管理员不参与分层" in loyalty_footnote
    else:
        assert loyalty_footnote.endswith("Bots and admins are not placed.")


async def test_a_member_promoted_mid_period_counts_as_a_member_before_and_an_admin_from_that_day_on(pg):
    g = await make_group(pg)                                 # everyone joins in the week of 2026-03-02
    for i in range(5):
        pg.sim.send(g.bob, f"bob {i}", g.chat)
    await pg.settle()
    for _ in range(2):
        pg.clock.advance(days=7)
        for who in (g.alice, g.bob):
            pg.sim.send(who, "another week", g.chat)
        await pg.settle()
        await flush(pg)
    pg.clock.advance(days=2)                                 # Wednesday 2026-03-18: the week of 03-09 is final
    await say(pg, g.admin, "/stats 30d", g.chat)
    before = last_text(pg, g.chat, "Stats of")
    await say(pg, g.admin, "/retention", g.chat)
    cohorts_before = last_text(pg, g.chat, "Retention of")
    assert "1. Bob — messages: 8, active days: 3" in before and "DAU 0.2 · WAU 2 · MAU 3" in before
    assert "Messages per day: 0.4 (previous period 0.0)" in before
    assert "Admins (counted apart): 1 active, messages: 1" in before
    assert "2026-03-02 n=3     67%" in cohorts_before and "2026-03-09: 0 of 3 (0%)" in cohorts_before

    pg.sim.promote(g.chat, g.bob, by=g.owner, can_delete_messages=True)
    for i in range(3):
        pg.sim.send(g.bob, f"as an admin {i}", g.chat)
    await pg.settle()
    await flush(pg)
    await say(pg, g.admin, "/stats 30d", g.chat)
    after = last_text(pg, g.chat, "Stats of")
    # Up to the day before his promotion Bob was a member: his member days stay in DAU, WAU / MAU, messages per day
    # and the top contributors. From the day of it on he is an admin: today's three messages are the admins'.
    assert "Members: 5 (of them admins: 3)" in after
    assert "DAU 0.2 · WAU 2 · MAU 3" in after and "Messages per day: 0.4 (previous period 0.0)" in after
    assert "1. Bob — messages: 8, active days: 3" in after
    assert "Admins (counted apart): 2 active, messages: 5" in after       # the admin's commands, Bob's three
    await say(pg, g.admin, "/retention", g.chat)
    cohorts_after = last_text(pg, g.chat, "Retention of")
    # /retention's cohorts and /loyalty leave out who is an admin now (README); the stored week's churn stays.
    assert "2026-03-02 n=2     50%" in cohorts_after and "2026-03-09: 0 of 3 (0%)" in cohorts_after
    pyramid = await say(pg, g.admin, "/loyalty", g.chat)
    assert pyramid.startswith("Loyalty of Tea Lovers (2 members, admins apart):")

    pg.clock.advance(days=1)                                 # 03-19: demoted; 03-20: a member again
    pg.sim.demote(g.chat, g.bob, by=g.owner)
    await pg.settle()
    pg.clock.advance(days=1)
    for i in range(2):
        pg.sim.send(g.bob, f"a member again {i}", g.chat)
    await pg.settle()
    await flush(pg)
    await say(pg, g.admin, "/stats 30d", g.chat)
    demoted = last_text(pg, g.chat, "Stats of")
    assert "Members: 5 (of them admins: 2)" in demoted
    assert "1. Bob — messages: 10, active days: 4" in demoted             # not the three of his admin day
    assert "Messages per day: 0.5 (previous period 0.0)" in demoted       # 14 members' messages in 30 days
    assert "Admins (counted apart): 2 active, messages: 9" in demoted     # the admin's commands, Bob's admin day


async def test_an_admin_from_before_sticky_demoted_counts_as_a_member_after_and_an_admin_before(pg):
    g = await make_group(pg)                                 # the admin was one when Sticky first looked
    for i in range(4):
        pg.sim.send(g.admin, f"admin note {i}", g.chat)
    await pg.settle()
    await flush(pg)
    pg.clock.advance(days=1)
    pg.sim.demote(g.chat, g.admin, by=g.owner)
    await pg.settle()
    pg.clock.advance(days=1)
    for i in range(2):
        pg.sim.send(g.admin, f"just a member {i}", g.chat)
    await pg.settle()
    await flush(pg)
    await say(pg, g.owner, "/stats", g.chat)
    text = last_text(pg, g.chat, "Stats of")
    assert "Members: 5 (of them admins: 1)" in text
    assert "Admin — messages: 2, active days: 1" in text   # his days as a member only
    assert "Admins (counted apart): 2 active, messages: 5" in text        # his four notes and the owner's /stats
    assert "WAU 4 · MAU 4" in text                                         # alice, bob, carol and him, as a member

async def test_another_bot_never_checks_in_earns_points_or_takes_a_place_on_the_boards(pg):
    # Bot-to-bot mode lets another bot's /checkin@Sticky through (and, privacy off, its 签到 too): it used to check
    # in, earn points and a badge, take "#1 today" from the first person and sit on the boards beside them.
    pg.sim.bot_to_bot, pg.sim.privacy_mode = True, False
    g = await make_group(pg)
    await say(pg, g.owner, "/set checkin_words on", g.chat)
    helper = pg.sim.user("helperbot", first_name="Helper Bot", is_bot=True)
    pg.sim.add_member(g.chat, helper, by=g.owner)
    for text in (f"/checkin@{pg.sim.bot.username}", f"/makeup@{pg.sim.bot.username}", f"/feedback@{pg.sim.bot.username} hi"):
        assert await say(pg, helper, text, g.chat) == "This command is for people; bots take no part."
    assert await say(pg, helper, "签到", g.chat) == ""
    assert "#1 today" in await say(pg, g.alice, "/checkin", g.chat)
    for board in ("/top", "/top checkin"):
        assert "Helper Bot" not in await say(pg, g.alice, board, g.chat)
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM checkins WHERE user_id = ?", (helper.id,)) == 0
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE user_id = ?", (helper.id,)) == 0
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, helper, f"/checkin@{pg.sim.bot.username}", g.chat) == "这个命令只供真人使用，机器人不参与。"


async def test_a_channel_or_the_group_itself_takes_no_part_in_points_but_an_anonymous_admin_still_administers(pg):
    # A member writing as their channel (from: Channel_Bot, sender_chat: the channel) used to check in for the
    # channel: +points and a place on /top under the channel's id. A channel or the group itself is nobody: the command
    # gets one line, a check-in word silence; an anonymous admin's admin commands still work as an admin's.
    pg.sim.privacy_mode = False
    g = await make_group(pg)
    await say(pg, g.owner, "/set checkin_words on", g.chat)
    channel = pg.sim.create_channel("Tea News", owner=g.bob)
    pg.sim.promote(g.chat, g.admin, by=g.owner, is_anonymous=True)
    await pg.settle()

    async def as_channel(text):
        before = len(pg.sim.replies(g.chat))
        pg.sim.send(g.bob, text, g.chat, as_channel=channel)
        await pg.settle()
        replies = pg.sim.replies(g.chat)
        return replies[-1].get("text", "") if len(replies) > before else ""

    async def as_group(text):
        before = len(pg.sim.replies(g.chat))
        pg.sim.send(g.admin, text, g.chat, as_chat=True)
        await pg.settle()
        replies = pg.sim.replies(g.chat)
        return replies[-1].get("text", "") if len(replies) > before else ""

    for text in ("/checkin", "/makeup", "/me", "/history"):
        assert await as_channel(text) == "You are writing as a channel; switch to your own account for this.", text
    for text in ("/checkin", "/makeup"):  # (the group's /me says the group's role)
        assert await as_group(text) == "You are writing as the group; switch to your own account for this.", text
    assert await as_channel("签到") == "" and await as_group("签到") == ""
    assert "#1 today" in await say(pg, g.alice, "/checkin", g.chat)
    for board in ("/top", "/top checkin"):
        top = await say(pg, g.alice, board, g.chat)
        assert "Tea News" not in top and str(channel.id) not in top and str(g.chat.id) not in top
    for who in (channel.id, g.chat.id, 136817688, 1087968824):
        assert await pg.services.db.fetchval("SELECT COUNT(*) FROM checkins WHERE user_id = ?", (who,)) == 0
        assert await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE user_id = ?", (who,)) == 0
    # The anonymous admin is still an admin (d9342a0's "bots take no part" is not for GroupAnonymousBot)...
    assert (await as_group("/set checkin_words off")).startswith("checkin_words")
    assert "+5" in await as_group(f"/give @{g.alice.username} 5 welcome")
    # ...and a channel is no admin, whoever owns it. (Later: its sixth message within 10 s would be a flood, the
    # channel's own since issue 10, and a flood's message is deleted unanswered.)
    pg.clock.advance(seconds=11)
    assert await as_channel("/set checkin_words on") == "Only Admin and above can use this command."
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await as_channel("/checkin") == "你正在以频道身份发言；请切换到个人账号再操作。"
    assert await as_group("/checkin") == "你正在以群组身份发言；请切换到个人账号再操作。"


async def test_the_hour_of_week_heat_map_counts_members_messages_not_those_of_an_owner_or_admin_at_the_time(pg, monkeypatch):
    # The heat-map's hourly counts used to take every human's message, the owner's and admins' (their /stats too)
    # included, while every other member figure leaves admins out: a group whose admins post the announcements at 08:00
    # showed its busiest hour at 08:00. Admins' messages are still counted apart ("Admins (counted apart)").
    g = await make_group(pg)                                 # Monday 2026-03-02 09:00: alice, bob and carol say hi
    grids = []
    run = pg.services.stats.charts.run

    async def recording(draw, *args):
        if isinstance(draw, functools.partial) and draw.func.__name__ == "stats_chart":
            grids.append(draw.args[3])                      # (days, active, messages, grid, labels)
        return await run(draw, *args)

    monkeypatch.setattr(pg.services.stats.charts, "run", recording)
    pg.clock.advance(hours=2)                                # 11:00
    for i in range(6):
        pg.sim.send(g.admin, f"announcement {i}", g.chat)
    for i in range(2):
        pg.sim.send(g.owner, f"owner note {i}", g.chat)
    for i in range(3):
        pg.sim.send(g.alice, f"alice {i}", g.chat)
    await pg.settle()
    pg.clock.advance(hours=1)                                # 12:00: Bob is promoted, then writes as an admin
    pg.sim.promote(g.chat, g.bob, by=g.owner, can_delete_messages=True)
    await pg.settle()
    for i in range(4):
        pg.sim.send(g.bob, f"as an admin {i}", g.chat)
    await pg.settle()
    pg.clock.advance(days=1)                                 # Tuesday 12:00: demoted
    pg.sim.demote(g.chat, g.bob, by=g.owner)
    await pg.settle()
    pg.clock.advance(days=1)                                 # Wednesday 12:00: a member again
    pg.sim.send(g.bob, "a member again", g.chat)
    await pg.settle()
    await flush(pg)
    pg.clock.advance(hours=2)                                # Wednesday 14:00
    await say(pg, g.admin, "/stats", g.chat)
    text = last_text(pg, g.chat, "Stats of")
    [grid] = grids
    assert grid[0][9] == 3                                   # the members' hellos
    assert grid[0][11] == 3                                  # alice's three, not the admin's six nor the owner's two
    assert grid[0][12] == 0                                  # Bob as an admin
    assert grid[2][12] == 1                                  # Bob as a member again
    assert grid[2][14] == 0                                  # the admin's /stats
    assert sum(map(sum, grid)) == 7
    # Apart, not lost: the owner's and the admin's messages (the /stats too) and Bob's on his day as an admin.
    assert "Admins (counted apart): 3 active, messages: 14" in text
