"""The weekly report as a schedule action, through the real Application: last group week's growth, stickiness,
retention, loyalty movers, top contributors, referral funnel and NPS — to each admin in private (or the group),
once per group week, in the group's language; bad /schedule words get one clear line."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

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
        assert "Members: 5 (of them admins: 2); growth +4 (4 joined, 0 left)" in text
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
    assert "成员：5（其中管理员 2）；增长 +0" in first
    assert text.startswith("Tea Lovers 周报") and "日活" in text and "净推荐值" in text
    footnote = stats_texts.weekly_definitions(translator("zh"), 30, pg.services.loyalty.thresholds)
    assert text.endswith("\n\n" + footnote)
    assert "留存＝首次入群在该周（周一至周日，群时区）的成员中，下一周活跃的比例；新成员＝当周首次入群；" in footnote
    assert "本周：新成员 3，回访 0，回流 0，沉睡 0\n管理员（单列）：1 人活跃，消息 2 条" in text  # the owner's /lang, /schedule
    assert "日活 0.4·周活 3·月活 3（上一周 0.0·0·0）" in text
    assert "变动：本周没有人换层级。\n新上榜：3 人（当周入群，不算变动）" in text  # all three joined that week
    assert "机器人和管理员不参与分层" in footnote and faults(text) == []
    assert reports(pg, g.owner) == []


async def test_bad_report_words_get_one_clear_line(pg):
    g = await a_week(pg)
    answer = await say(pg, g.owner, "/schedule weekly mon 09:00 report everyone", g.chat)
    assert answer == "Word 5 (everyone): expected the end of the command, or group (the report goes to the admins in private unless it says group)."
    assert await pg.services.schedules.list(g.chat.id) == []


@pytest.mark.parametrize("day", ["mon", "thu"])
async def test_the_movers_are_those_of_the_reported_week(pg, day):
    """The report of a week names who moved in that week, whatever weekday it runs on and however often /loyalty
    ran meanwhile: the snapshots are pinned to the group's week start (Monday 00:00, group time). Bob, who starts
    answering Alice in the week of 9 March, is named by that week's report only — not by the report of the week
    before, even when it runs on the Thursday after his move, and not again by the next one (the report compared
    the week's first look with its own run, so on a Thursday it named him a week early; and a /loyalty in the middle
    of the week took the snapshot after his move, hiding him). Dave, who joins during the week, is new on the
    ladder, not a mover."""
    g = await a_week(pg)
    offset = {"mon": 0, "thu": 3}[day]
    await say(pg, g.owner, f"/schedule weekly {day} 09:00 report", g.chat)
    hello = next(m for m in pg.sim.messages(g.chat) if m.get("from", {}).get("id") == g.alice.id)
    dave = pg.sim.user("dave")
    seen = []

    async def report():
        await tick(pg)
        seen.append(reports(pg, g.owner)[-1])

    async def bob_answers(d):
        for i in range(2):
            pg.clock.advance(seconds=20)
            pg.sim.send(g.bob, f"reply {d}.{i}", g.chat, reply_to=hello)
        await pg.settle()
        await hp.job_flush(BotContext(pg.app))

    async def dave_talks(text, join=False):
        if join:
            pg.sim.join(g.chat, dave)
        pg.sim.send(dave, text, g.chat)
        await pg.settle()
        await hp.job_flush(BotContext(pg.app))

    async def loyalty():
        assert "Bob: none → committed" in await say(pg, g.admin, "/loyalty", g.chat)  # moved since Monday

    events = [(timedelta(days=d + offset, hours=1, seconds=5), report) for d in (0, 7, 14, 21)]  # 09:00, group time
    # Monday to Wednesday of the week of 9 March Bob answers Alice: committed. Dave joins on the Wednesday and talks
    # on the Thursday too: habitual as the week ends. An admin looks at /loyalty in the middle of the week.
    events += [(timedelta(days=7 + d, hours=2), lambda d=d: bob_answers(d)) for d in range(3)]
    events += [(timedelta(days=9, hours=3), lambda: dave_talks("hello all", join=True)),
               (timedelta(days=9, hours=4), loyalty), (timedelta(days=10, hours=0, minutes=30), lambda: dave_talks("tea"))]
    for when, run in sorted(events, key=lambda e: e[0]):
        pg.clock.set(MONDAY + when)
        await run()
    _, week_before_bobs_move, week_of_bobs_move, quiet_week = seen
    movers = lambda text: [line for line in text.splitlines() if "Movers" in line or "New on the ladder" in line]  # noqa: E731
    assert week_before_bobs_move.startswith("Weekly report of Tea Lovers, 2026-03-02 – 2026-03-08")
    # Alice, Bob and Carol joined in the week of 2 March: placed for the first time as it ended, no movers.
    assert movers(week_before_bobs_move) == ["Movers: nobody changed segment this week.",
                                             "New on the ladder: 3 (joined during the week; not counted as movers)"]
    assert week_of_bobs_move.startswith("Weekly report of Tea Lovers, 2026-03-09 – 2026-03-15")
    assert movers(week_of_bobs_move) == ["Movers (1): Bob none → committed",
                                         "New on the ladder: 1 (joined during the week; not counted as movers)"]
    assert "Loyalty: fanatic 0, committed 1, latent 0, mercenary 0, habitual 1, none 2" in week_of_bobs_move
    assert movers(quiet_week) == ["Movers: nobody changed segment this week."]


async def test_the_weeks_are_the_groups_own_in_its_timezone(pg):
    """The snapshots are pinned to Monday 00:00 in the group's timezone: Bob's answers at 20:00 UTC on Sunday 8 March
    are 04:00 on Monday 9 March in Shanghai, a move of the week of 9 March there; the report at 05:00 on Monday
    (21:00 UTC on the Sunday) reports the week of 2 March without him, and the next one names him."""
    from zoneinfo import ZoneInfo

    local = lambda *a: datetime(*a, tzinfo=ZoneInfo("Asia/Shanghai"))  # noqa: E731
    g = await a_week(pg)
    await say(pg, g.owner, "/set timezone Asia/Shanghai", g.chat)
    await say(pg, g.owner, "/schedule weekly mon 05:00 report", g.chat)
    hello = next(m for m in pg.sim.messages(g.chat) if m.get("from", {}).get("id") == g.alice.id)
    pg.clock.set(local(2026, 3, 4, 12, 0))
    await say(pg, g.admin, "/loyalty", g.chat)                   # the week of 2 March is looked at
    pg.clock.set(datetime(2026, 3, 8, 20, 0, tzinfo=UTC))
    for i in range(6):
        pg.clock.advance(seconds=20)
        pg.sim.send(g.bob, f"reply {i}", g.chat, reply_to=hello)
    await pg.settle()
    await hp.job_flush(BotContext(pg.app))
    seen = []
    for when in (local(2026, 3, 9, 5, 0, 5), local(2026, 3, 16, 5, 0, 5)):
        pg.clock.set(when)
        await tick(pg)
        seen.append(reports(pg, g.owner)[-1])
    movers = [[line for line in text.splitlines() if line.startswith("Movers")] for text in seen]
    assert seen[0].startswith("Weekly report of Tea Lovers, 2026-03-02 – 2026-03-08")
    assert movers == [["Movers: nobody changed segment this week."], ["Movers (1): Bob none → committed"]]


async def test_the_report_shows_the_admins_apart_as_stats_does(pg):
    # The owner and the admin talk in the week; alice, bob and carol said hi. /stats says the members are 5 of them
    # admins 2, with the admins' activity counted apart: the report says the same (it said "Members: 5" and nothing
    # of the admins, as if all five were members).
    g = await a_week(pg)
    await say(pg, g.owner, "/schedule weekly mon 09:00 report", g.chat)
    pg.clock.set(MONDAY + timedelta(hours=1, seconds=5))
    await tick(pg)                                               # this Monday: the week before had no one yet
    for i in range(5):
        pg.sim.send(g.owner, f"owner note {i}", g.chat)
        pg.sim.send(g.admin, f"admin note {i}", g.chat)
    await pg.settle()
    await hp.job_flush(BotContext(pg.app))
    pg.clock.set(MONDAY + timedelta(days=7, hours=1, seconds=5))
    await tick(pg)
    lines = reports(pg, g.owner)[-1].splitlines()
    assert lines[1:3] == ["Members: 5 (of them admins: 2); growth +4 (4 joined, 0 left)",
                          "DAU 0.4 · WAU 3 · MAU 3 (previous week 0.0 · 0 · 0)"]  # alice, bob, carol: no admin
    assert "Admins (counted apart): 2 active, messages: 11" in lines  # their ten notes and the /schedule
    await say(pg, g.admin, "/stats 30d", g.chat)                 # the same split /stats shows
    stats = [m["text"] for m in pg.sim.replies(g.chat) if m.get("text", "").startswith("Stats of")][-1]
    assert "Members: 5 (of them admins: 2)" in stats
    assert "Admins (counted apart): 2 active, messages: 12" in stats  # and this /stats


async def test_the_ladder_s_lines_are_worked_out_off_the_event_loop(pg, monkeypatch):
    # The pyramid and the movers walk two snapshots of every member (35 ms at 100,000 members): on a worker thread,
    # as /loyalty's look, so other groups' updates are not held up while a large group's report is made.
    import threading

    import bot.services.stats as services_stats

    seen = []

    def on_thread(fn):
        def run(*args):
            seen.append((fn.__name__, threading.current_thread() is threading.main_thread()))
            return fn(*args)
        return run

    monkeypatch.setattr(services_stats, "pyramid", on_thread(services_stats.pyramid))
    monkeypatch.setattr(services_stats, "movers_between", on_thread(services_stats.movers_between))
    g = await a_week(pg)
    await say(pg, g.owner, "/schedule weekly mon 09:00 report", g.chat)
    pg.clock.set(MONDAY + timedelta(hours=1, seconds=5))
    await tick(pg)                                               # snapshots this week's start
    pg.clock.set(MONDAY + timedelta(days=7, hours=1, seconds=5))
    await tick(pg)                                               # …against which the movers are found
    assert "Movers: nobody changed segment this week." in reports(pg, g.owner)[-1]
    assert threading.current_thread() is threading.main_thread()  # the event loop's thread
    assert {name for name, _ in seen} == {"pyramid", "movers"} and not any(main for _, main in seen)
