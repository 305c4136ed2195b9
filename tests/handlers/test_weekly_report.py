"""The weekly report as a schedule action, through the real Application: last group week's growth, stickiness,
retention, loyalty movers, top contributors, referral funnel and NPS — to each admin in private (or the group),
once per group week, in the group's language; bad /schedule words get one clear line."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.context import BotContext
from bot.texts import stats as stats_texts, translator
from handlers import points as hp
from tests.handlers.test_schedules import tick
from tests.helpers import make_group, say
from tests.test_zh_typography import faults

UTC = timezone.utc
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def reports(pg, user) -> list[str]:
    return [m["text"] for m in pg.sim.replies(user) if "Weekly report of" in m.get("text", "") or "周报（" in m.get("text", "")]


async def a_week(pg):
    pg.clock.set(MONDAY)
    g = await make_group(pg)                                     # admin, alice, bob, carol join and say hi
    for who in (g.owner, g.admin, g.bob):
        await say(pg, who, "/start")                             # private: Sticky may write to them
    return g


async def test_the_report_goes_to_each_admin_in_private_once_per_group_week(pg):
    g = await a_week(pg)
    answer = await say(pg, g.owner, "/schedule weekly mon 09:00 report", g.chat)
    assert answer.startswith("Schedule #1 saved: weekly mon 09:00 · weekly report. Next run: 2026-03-02 09:00")
    pg.clock.set(MONDAY + timedelta(hours=1, seconds=5))
    await tick(pg)                                               # this Monday: the week before had no one yet
    assert len(reports(pg, g.owner)) == 1
    await say(pg, g.alice, "/checkin", g.chat)
    await say(pg, g.alice, "tea?", g.chat)
    await hp.job_flush(BotContext(pg.app))                      # the counters' batch (every few seconds when running)
    pg.clock.set(MONDAY + timedelta(days=7, hours=1, seconds=5))
    await tick(pg)
    for admin in (g.owner, g.admin):
        text = reports(pg, admin)[-1]
        assert text.startswith("Weekly report of Tea Lovers, 2026-03-02 – 2026-03-08")
        assert "Members: 5; growth +4 (4 joined, 0 left)" in text
        assert "DAU 0.4 · WAU 3 · MAU 3 (previous week 0.0 · 0 · 0)" in text  # alice, bob, carol on the Monday
        # The week's lifecycle: the three joined that week (the admin, an admin since before his join, is no member).
        assert "This week: 3 new, 0 returning, 0 resurrecting, 0 dormant" in text
        assert "Top contributors: Alice (3)" in text
        assert "Referral funnel (all time): 0 joined through a member's link" in text
        assert "NPS: no survey yet" in text
        assert "Loyalty: fanatic 0" in text
        # Its definitions under it, as under /stats, /retention and /loyalty: what each figure means.
        footnote = stats_texts.weekly_definitions(translator("en"), 30, pg.services.loyalty.thresholds)
        assert text.endswith("\n\n" + footnote)
        assert footnote.startswith("Active = sent a message or checked in that day (bots never, admins apart).")
        assert "Retention = of the members whose first join fell in that week" in footnote
        assert "resurrecting = active that week, not the week before; dormant = active the week before" in footnote
        assert "NPS = the share of promoters (9–10) minus that of detractors (0–6)." in footnote
        assert footnote.endswith("Bots and admins are not placed.")
    assert reports(pg, g.bob) == []                              # not an admin
    assert len(reports(pg, g.owner)) == 2
    await say(pg, g.owner, "/runnow 1", g.chat)                  # the same group week again: not sent twice
    assert len(reports(pg, g.owner)) == 2
    assert "suppressed" in [e.outcome for e in await pg.services.outbox.recent(g.chat.id)]


async def test_report_group_posts_it_in_the_group_in_chinese(pg):
    g = await a_week(pg)
    await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.owner, "/schedule weekly mon 09:00 report group", g.chat)
    pg.clock.set(MONDAY + timedelta(hours=1, seconds=5))
    await tick(pg)                                               # the week before the group: nothing to say yet
    await say(pg, g.bob, "早上好", g.chat)
    await hp.job_flush(BotContext(pg.app))
    pg.clock.set(MONDAY + timedelta(days=7, hours=1, seconds=5))
    await tick(pg)
    first, text = reports(pg, g.chat)
    assert "成员：5；增长 +0" in first
    assert text.startswith("Tea Lovers 周报") and "日活" in text and "净推荐值" in text
    footnote = stats_texts.weekly_definitions(translator("zh"), 30, pg.services.loyalty.thresholds)
    assert text.endswith("\n\n" + footnote)
    assert "留存＝首次入群在该周（周一至周日，群时区）的成员中，下一周活跃的比例；新成员＝当周首次入群；" in footnote
    assert "本周：新成员 3，回访 0，回流 0，沉睡 0" in text
    assert "日活 0.4·周活 3·月活 3（上一周 0.0·0·0）" in text
    assert "机器人和管理员不参与分层" in footnote and faults(text) == []
    assert reports(pg, g.owner) == []


async def test_bad_report_words_get_one_clear_line(pg):
    g = await a_week(pg)
    answer = await say(pg, g.owner, "/schedule weekly mon 09:00 report everyone", g.chat)
    assert answer == "Word 5 (everyone): expected the end of the command, or group (the report goes to the admins in private unless it says group)."
    assert await pg.services.schedules.list(g.chat.id) == []


async def test_the_movers_are_those_of_the_reported_week(pg):
    """The report of a week names who moved in that week: Bob, who starts answering Alice during the week of 2 March,
    is named by that week's report and not again by the next one (the report compared two snapshots each taken
    before its look, so it named him a week late)."""
    g = await a_week(pg)
    await say(pg, g.owner, "/schedule weekly mon 09:00 report", g.chat)
    pg.clock.set(MONDAY + timedelta(hours=1, seconds=5))
    await tick(pg)  # the report of the week of 23 February: everyone placed
    pg.clock.set(MONDAY + timedelta(days=2))
    hello = next(m for m in pg.sim.messages(g.chat) if m.get("from", {}).get("id") == g.alice.id)
    for i in range(6):  # during the week of 2 March Bob answers Alice: committed
        pg.clock.advance(seconds=20)
        pg.sim.send(g.bob, f"reply {i}", g.chat, reply_to=hello)
    await pg.settle()
    await hp.job_flush(BotContext(pg.app))
    movers = lambda text: [line for line in text.splitlines() if "Movers" in line or "nobody changed" in line]  # noqa: E731
    pg.clock.set(MONDAY + timedelta(days=7, hours=1, seconds=5))
    await tick(pg)
    week_of_bobs_move = reports(pg, g.owner)[-1]
    pg.clock.set(MONDAY + timedelta(days=14, hours=1, seconds=5))
    await tick(pg)
    quiet_week = reports(pg, g.owner)[-1]
    assert movers(week_of_bobs_move) == ["Movers (1): Bob none → committed"]
    assert movers(quiet_week) == ["Movers: nobody changed segment this week."]
