"""/stats and /retention through the real Application: numbers, the chart sent with sendPhoto, bad input, no data."""
from __future__ import annotations

import functools
import io
import operator
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from PIL import Image

from bot import charts
from bot.context import BotContext
from bot.texts import stats as stats_texts, translator
from handlers import points as hp, stats as hs
from tests.helpers import make_group, say


def photos(pg, chat):
    return [c for c in pg.sim.calls("sendPhoto") if c.ok and c.params["chat_id"] == chat.id]


async def flush(pg):
    await hp.job_flush(BotContext(pg.app))


async def test_stats_answers_with_numbers_and_one_chart_photo(pg):
    g = await make_group(pg)
    for _ in range(3):
        await say(pg, g.alice, "tea time", g.chat)
    await say(pg, g.bob, "/checkin", g.chat)
    await say(pg, g.admin, "admins talk too", g.chat)
    await flush(pg)
    answer = await say(pg, g.admin, "/stats", g.chat)
    text = [m for m in pg.sim.replies(g.chat) if m.get("text", "").startswith("Stats of")][-1]["text"]
    assert "last 7 days" in text
    assert "DAU 0.4 · WAU 3 · MAU 3" in text             # alice, bob, carol on one day of seven
    assert "Members: 5 (of them admins: 2); growth +4 (4 joined, 0 left)" in text
    assert "Check-ins: 1; check-in rate 33% of active member-days" in text
    # The admin's /stats is a message of today too: its count is written with its update's first commit (the
    # closing of the final days it needed), before the figures are read.
    assert "Admins (counted apart): 1 active, messages: 2" in text
    assert "1. Alice — messages: 4, active days: 1" in text
    assert "stickiness = DAU ÷ MAU" in text
    sent = photos(pg, g.chat)
    assert len(sent) == 1
    assert answer == ""                                    # the last reply is the photo, captioned
    last = pg.sim.replies(g.chat)[-1]
    assert last["caption"] == "Tea Lovers: activity over the last 7 days."
    photo = last["photo"]
    assert (photo[-1]["width"], photo[-1]["height"]) == (charts.WIDTH, charts.HEIGHT)


async def test_the_chart_is_a_png_of_the_expected_size_and_is_cached(pg):
    g = await make_group(pg)
    await flush(pg)
    report = await pg.services.stats.report(g.chat.id, 7, pg.clock.now())
    worker, calls = pg.services.stats.charts, []
    run = worker.run

    async def counted(*args):
        calls.append(1)
        return await run(*args)

    worker.run = counted
    draw = functools.partial(charts.stats_chart, [d for d, _, _ in report.daily], [a for _, a, _ in report.daily],
                             [m for _, _, m in report.daily], report.grid, stats_texts.stats_labels(translator("en"), 7, 30))
    png = await pg.services.stats.chart(g.chat.id, ("t",), draw)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (charts.WIDTH, charts.HEIGHT)
    assert await pg.services.stats.chart(g.chat.id, ("t",), draw) == png and len(calls) == 1
    pg.clock.advance(minutes=6)
    await pg.services.stats.chart(g.chat.id, ("t",), draw)
    assert len(calls) == 2


def children() -> set[int]:
    """This process's child processes, zombies included (read from /proc: multiprocessing's own list reaps them).
    Not multiprocessing's resource tracker: one per process, started with the first worker, it stays to unlink the
    workers' semaphores and ends when this process does (its pipe closes)."""
    from multiprocessing import resource_tracker

    found, tracker = set(), resource_tracker._resource_tracker._pid
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and int(stat.parent.name) != tracker:
            found.add(int(stat.parent.name))
    return found


async def test_a_dead_chart_worker_costs_one_chart_not_the_report_and_is_replaced(pg):
    g = await make_group(pg)
    await flush(pg)
    await say(pg, g.admin, "/stats", g.chat)
    assert len(photos(pg, g.chat)) == 1
    [pid] = pg.services.stats.charts.pids()
    os.kill(pid, signal.SIGKILL)
    answer = await say(pg, g.admin, "/stats 30d", g.chat)     # another period: not the cached chart
    assert answer == "The chart could not be drawn this time; the figures above are complete. Ask again in a minute."
    assert "last 30 days" in [m for m in pg.sim.replies(g.chat) if m.get("text", "").startswith("Stats of")][-1]["text"]
    assert len(photos(pg, g.chat)) == 1
    assert pid not in children()                               # reaped, not a zombie
    await say(pg, g.admin, "/stats 30d", g.chat)               # a new worker draws it
    assert len(photos(pg, g.chat)) == 2 and pg.services.stats.charts.pids() != [pid]


async def test_a_chart_that_overruns_its_timeout_is_given_up_and_the_worker_replaced():
    worker = charts.ChartWorker(timeout=2)
    try:
        assert await worker.run(operator.add, 2, 3) == 5
        [pid] = worker.pids()
        with pytest.raises(charts.DrawFailed):
            await worker.run(time.sleep, 60)
        assert pid not in children()                           # killed and reaped
        assert await worker.run(operator.add, 2, 3) == 5       # by a new worker
        with pytest.raises(charts.DrawFailed):                 # a drawing that raises: the same worker goes on
            await worker.run(operator.truediv, 1, 0)
        assert await worker.run(operator.add, 1, 1) == 2
    finally:
        await worker.close()
    assert children() == set()


async def test_the_chart_worker_draws_below_the_bots_cpu_priority():
    """On a 2-core machine the worker's start (about a second of a core) at the bot's own priority took a core from the
    event loop and the writer: every update of that second waited (bench P2's tail). It runs niceness 10 below."""
    worker = charts.ChartWorker(timeout=30)
    try:
        assert await worker.run(os.getpriority, os.PRIO_PROCESS, 0) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + charts.WORKER_NICENESS)
    finally:
        await worker.close()


def test_a_chart_worker_whose_bot_is_killed_ends_by_itself():
    bot = subprocess.Popen([sys.executable, "-c", (
        "import asyncio, operator, os, signal\n"
        "from bot.charts import ChartWorker\n"
        "async def main():\n"
        "    worker = ChartWorker(30)\n"
        "    await worker.run(operator.add, 1, 1)\n"
        "    print(*worker.pids(), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "asyncio.run(main())\n")], stdout=subprocess.PIPE, text=True)
    pid = int(bot.stdout.readline())
    assert bot.wait(timeout=60) == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return                                             # gone
        if state == "Z":
            return                                             # ended (its new parent reaps it)
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("the chart worker outlived its killed bot")


async def test_the_application_stop_ends_the_chart_worker(pg):
    before = children()
    g = await make_group(pg)
    await flush(pg)
    await say(pg, g.admin, "/stats", g.chat)
    assert len(photos(pg, g.chat)) == 1 and children() - before
    await pg.stop()
    assert children() == before


async def test_a_running_bot_warms_the_chart_worker_a_minute_after_its_start(pg, monkeypatch, caplog):
    """The first /stats after a start paid the worker's start and matplotlib's loading (about 0.7 s of its ~0.95 s):
    a minute after the start the worker is started and has drawn once; a bot stopped before then never starts it,
    and with stats.warm_chart_worker off nothing is started until a chart is asked for."""
    import asyncio

    import bot.app

    before = children()
    await pg.stop()
    assert children() == before                                # stopped within its minute: no worker was started
    monkeypatch.setattr(bot.app, "WARM_CHART_WORKER_AFTER", 0)
    await pg.restart()
    for _ in range(600):
        if pg.services.stats.charts.pids():
            break
        await asyncio.sleep(0.05)
    [pid] = pg.services.stats.charts.pids()
    await pg.services.stats.charts._warming                     # it drew once, in the worker
    assert pg.services.stats.charts.pids() == [pid] and "chart" not in caplog.text
    g = await make_group(pg)
    await flush(pg)
    await say(pg, g.admin, "/stats", g.chat)
    assert len(photos(pg, g.chat)) == 1 and pg.services.stats.charts.pids() == [pid]  # the warm worker drew it
    await pg.stop()
    assert children() == before
    pg.config = pg.config.model_copy(update={"stats": pg.config.stats.model_copy(update={"warm_chart_worker": False})})
    await pg.restart()
    await asyncio.sleep(0.5)
    assert pg.services.stats.charts.pids() == [] and pg.services.stats.charts._warming is None


async def test_a_group_without_activity_says_so_instead_of_an_empty_chart(pg):
    sim = pg.sim
    owner = sim.user("owner")
    chat = sim.create_group("Quiet", owner=owner)
    sim.add_bot(chat, by=owner)
    await pg.settle()
    answer = await say(pg, owner, "/stats 30d", chat)
    assert answer == "No activity in Quiet in the last 30 days yet: nothing to chart. Stats count from the moment I am in the group."
    assert photos(pg, chat) == []


async def test_bad_periods_and_members_get_one_clear_line(pg):
    g = await make_group(pg)
    assert await say(pg, g.admin, "/stats 12d", g.chat) == "Usage: /stats [7d|30d|90d]"
    assert await say(pg, g.admin, "/stats 7d 30d", g.chat) == "Usage: /stats [7d|30d|90d]"
    assert await say(pg, g.admin, "/retention some", g.chat) == "Usage: /retention [all]"
    assert "Only Admin and above" in await say(pg, g.alice, "/stats", g.chat)
    assert photos(pg, g.chat) == []


async def test_a_clean_stop_writes_every_counted_message_exactly(pg):
    g = await make_group(pg)                                  # 3 messages
    for i in range(5):
        await say(pg, g.alice, f"message {i}", g.chat)
    await pg.restart()                                         # post_stop / post_shutdown flush
    db = pg.services.db
    assert await db.fetchval("SELECT SUM(n) FROM stats_hourly WHERE chat_id = ? AND metric = 'messages'", (g.chat.id,)) == 8
    assert await db.fetchval("SELECT SUM(messages) FROM activity_daily WHERE chat_id = ?", (g.chat.id,)) == 8
    await say(pg, g.admin, "/stats", g.chat)
    text = [m for m in pg.sim.replies(g.chat) if m.get("text", "").startswith("Stats of")][-1]["text"]
    assert "DAU 0.4 · WAU 3 · MAU 3" in text


async def stats_text(pg, g, period: str = "") -> str:
    await say(pg, g.admin, f"/stats {period}".strip(), g.chat)
    return [m for m in pg.sim.replies(g.chat) if m.get("text", "").startswith("Stats of")][-1]["text"]


async def test_moderation_actions_by_hand_and_by_rules_show_in_stats(pg):
    g = await make_group(pg)
    await say(pg, g.admin, "/warn @alice spam", g.chat)
    msg = pg.sim.send(g.bob, "look at this", g.chat)
    await pg.settle()
    await say(pg, g.admin, "/del", g.chat, reply_to=msg)
    await say(pg, g.admin, "/addblocklist casino", g.chat)
    await say(pg, g.carol, "casino tonight", g.chat)          # the default blocklist rule: delete, warn
    await say(pg, g.admin, "/unwarn @alice", g.chat)          # undoing is not another action
    await flush(pg)
    text = await stats_text(pg, g)
    assert "moderation actions: 4 (by rules: 2)" in text


async def test_closed_days_are_read_from_their_stored_rows_with_the_same_figures(pg):
    g = await make_group(pg)                                  # day 0: alice, bob, carol say hi
    day0 = pg.clock.now().date().isoformat()
    await say(pg, g.alice, "/checkin", g.chat)
    pg.clock.advance(days=1)
    await say(pg, g.bob, "still here", g.chat)
    await flush(pg)
    live = await stats_text(pg, g)                            # both days are live (not final yet)
    assert "DAU 0.6 · WAU 3 · MAU 3" in live                  # 3 + 1 active member-days over 7 days
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM stats_daily WHERE chat_id = ? AND day >= ?",
                                         (g.chat.id, day0)) == 0
    pg.clock.advance(days=2)                                  # day 0 is final: the hourly job stores it
    await hs.job_close_days(BotContext(pg.app))
    stored = await pg.services.db.fetchall("SELECT active, messages, checkins, wau, mau FROM stats_daily WHERE chat_id = ?"
                                           " AND day >= ? ORDER BY day", (g.chat.id, day0))
    assert [tuple(r) for r in stored] == [(3, 4, 1, 3, 3), (1, 1, 0, 3, 3)]  # alice's /checkin is a message too
    assert await stats_text(pg, g) == live.replace("2026-02-25 – 2026-03-03", "2026-02-27 – 2026-03-05")
    pg.clock.advance(days=4)                                  # day 7: only bob's day 1 is in the 7-day window
    text = await stats_text(pg, g)
    assert "DAU 0.1 · WAU 1 · MAU 3 (previous period 0.4 · 3 · 3)" in text  # day 0's three, before it
    assert "Messages per day: 0.1 (previous period 0.6)" in text


async def test_the_hourly_close_warms_what_stats_keeps_so_a_day_s_first_stats_reads_only_the_live_days(pg, monkeypatch):
    # /stats keeps the members and ranking of its period's final days until a newer day is final; the first /stats
    # of a day used to read them all again (the month's members: about +150 ms at 100,000 members). The close job
    # that stores the new final day now reads them for each period the group asked for lately.
    from storage import stats as st

    g = await make_group(pg)
    await say(pg, g.alice, "/checkin", g.chat)
    for _ in range(4):
        pg.clock.advance(days=1)
        await say(pg, g.bob, "still here", g.chat)
    await flush(pg)
    await stats_text(pg, g, "30d")
    pg.clock.advance(days=1)                                  # a new day: a newer day is final
    await say(pg, g.carol, "morning", g.chat)
    await flush(pg)
    await hs.job_close_days(BotContext(pg.app))
    reads = []
    for name in ("_users", "_distinct", "_ranked"):
        def spy(conn, chat_id, start, end, *rest, real=getattr(st, name), name=name):
            reads.append((name, start, end))
            return real(conn, chat_id, start, end, *rest)
        monkeypatch.setattr(st, name, spy)
    text = await stats_text(pg, g, "30d")
    today, _ = await pg.services.stats.today(g.chat.id, pg.clock.now())
    final = st.final_day(today)
    assert reads and all(start > final for _, start, _ in reads), (final, reads)
    warm = await pg.services.stats.report(g.chat.id, 30, pg.clock.now())
    pg.services.stats._kept.clear()                           # and the figures are those of a /stats with nothing kept
    reads.clear()
    assert await pg.services.stats.report(g.chat.id, 30, pg.clock.now()) == warm
    assert any(start <= final for _, start, _ in reads)       # (which reads the final days)
    assert [(c.name, c.messages) for c in warm.top][:1] == [("Bob", 5)]
    assert "Top contributors" in text and "Bob" in text


async def test_the_hourly_close_reads_nothing_again_the_same_day_and_never_the_live_days(pg, monkeypatch):
    # The warming used to make the whole /stats reads every hour (the live days too, thrown away): what it keeps
    # cannot change until a newer day is final, so the day's next passes read none of it.
    from storage import stats as st

    g = await make_group(pg)
    for _ in range(4):
        await say(pg, g.bob, "still here", g.chat)
        pg.clock.advance(days=1)
    await flush(pg)
    await stats_text(pg, g, "7d")
    await stats_text(pg, g, "30d")
    pg.clock.advance(days=1)
    reads = []
    for name in ("_users", "_distinct", "_ranked", "_day_figures"):
        def spy(conn, chat_id, start, end, *rest, real=getattr(st, name), name=name):
            reads.append((name, start, end))
            return real(conn, chat_id, start, end, *rest)
        monkeypatch.setattr(st, name, spy)
    await hs.job_close_days(BotContext(pg.app))               # a newer day is final: its final days are read once
    today, _ = await pg.services.stats.today(g.chat.id, pg.clock.now())
    final = st.final_day(today)
    warmed = [r for r in reads if r[0] != "_day_figures"]     # (the close counts its new final day: _day_figures)
    # the week's and month's members (both periods end today: read once) and each period's ranking
    assert len(warmed) == 4 and all(end <= final for _, _, end in warmed), reads
    reads.clear()
    for _ in range(3):
        pg.clock.advance(hours=1)
        await hs.job_close_days(BotContext(pg.app))
    assert reads == []
    reads.clear()
    text = await stats_text(pg, g, "30d")                     # and the /stats reads only the live days
    assert "Bob" in text and reads and all(start > final for _, start, _ in reads), reads


async def test_a_chinese_group_gets_its_stats_and_chart_in_chinese_with_every_glyph_drawn(pg):
    # The machine needs a font with Chinese glyphs (README: fonts-wqy-microhei or fonts-noto-cjk; .ci/run installs
    # one): without it every Chinese label would be a row of empty boxes.
    assert charts.can_draw("zh"), "no Chinese font: install fonts-wqy-microhei (see README, Stats)"
    g = await make_group(pg)
    await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)
    await flush(pg)
    await say(pg, g.admin, "/stats", g.chat)
    report = await pg.services.stats.report(g.chat.id, 7, pg.clock.now())  # what that /stats read
    await say(pg, g.admin, "/retention", g.chat)
    text = [m for m in pg.sim.replies(g.chat) if "最近 7 天的统计（" in m.get("text", "")][-1]["text"]
    assert "日活" in text and "管理操作" in text
    photo = photos(pg, g.chat)[0]
    assert photo.params["caption"].endswith("。")
    # The worker drew the zh labels (it found the font; not the English fallback): the photo sent is the chart drawn
    # here in Chinese, with every glyph, and the same chart in English differs.
    args = ([d for d, _, _ in report.daily], [a for _, a, _ in report.daily], [m for _, _, m in report.daily], report.grid)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zh = charts.stats_chart(*args, stats_texts.stats_labels(translator("zh"), 7, 30))
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    sent = next(m for m in pg.sim.replies(g.chat) if "photo" in m)  # /stats's
    assert pg.sim.download(sent["photo"][-1]["file_id"]) == zh
    assert zh != charts.stats_chart(*args, stats_texts.stats_labels(translator("en"), 7, 30))


@pytest.mark.parametrize("seed", [3, 11])
async def test_the_stored_weekly_churn_equals_a_recount_after_joins_leaves_silence_and_a_restart(pg, seed):
    # Nine weeks of a group where people join, leave, come back, talk or fall silent (churned after 30 silent days);
    # the daily close stores each week's churn once it is final, and the bot restarts half-way. Every stored week
    # equals the same weeks counted again from the member-day tables, and /retention reads the same with the rows
    # as with none stored.
    import random
    from datetime import timedelta

    from bot.domain import stats as sd

    rng = random.Random(seed)
    g = await make_group(pg)
    people = [g.alice, g.bob, g.carol] + [pg.sim.user(f"p{seed}_{i}") for i in range(9)]
    inside = {g.alice, g.bob, g.carol}
    for day in range(63):
        for user in rng.sample(people, 3):
            if user in inside and rng.random() < 0.25:
                pg.sim.leave(g.chat, user)
                inside.discard(user)
            elif user not in inside:
                pg.sim.join(g.chat, user)
                inside.add(user)
        for user in [u for u in people[:6] if u in inside and rng.random() < (0.6 if day < 20 else 0.1)]:
            pg.sim.send(user, "hello", g.chat)                # the first six talk less after day 20: silences
        await pg.settle()
        await flush(pg)
        await hs.job_close_days(BotContext(pg.app))
        if day == 30:
            await pg.restart()
        pg.clock.advance(days=1)
    await hs.job_close_days(BotContext(pg.app))
    stored = [tuple(r) for r in await pg.services.db.fetchall(
        "SELECT week, base, churned FROM churn_weekly WHERE chat_id = ? ORDER BY week", (g.chat.id,))]
    assert len(stored) >= 8 and any(c for _, _, c in stored) and any(b for _, b, _ in stored)
    stats = pg.services.stats
    today, tz = await stats.today(g.chat.id, pg.clock.now())
    weeks = [sd.week_start(today) - timedelta(days=7 * k) for k in range(len(stored) + 1, 0, -1)]
    _, counted = await stats._retention(g.chat.id, weeks[0], weeks[-1], today, tz, weeks)
    recount = [(c.week.isoformat(), c.base, c.churned) for c in counted]
    assert stored == [r for r in recount if r[0] in {w for w, _, _ in stored}]
    report = await stats.retention(g.chat.id, pg.clock.now())
    await pg.services.db.write(lambda conn: conn.execute("DELETE FROM churn_weekly"))
    assert await stats.retention(g.chat.id, pg.clock.now()) == report


async def test_stored_weekly_churn_is_counted_again_after_the_silent_days_change(pg):
    # Weeks stored under one definition (30 silent days churn) are no answer after the operator changes it:
    # /retention then counts them again, and reads the same as with nothing stored. (The group's timezone is part
    # of the same basis: a row says both, StatsService._basis.)
    g = await make_group(pg)
    for day in range(45):
        for user in [g.bob] + ([g.alice] if day < 8 else []) + ([g.carol] if day % 9 == 0 else []):
            pg.sim.send(user, "hi", g.chat)
        await pg.settle()
        await flush(pg)
        await hs.job_close_days(BotContext(pg.app))
        pg.clock.advance(days=1)
    stats = pg.services.stats
    before = await stats.retention(g.chat.id, pg.clock.now())
    assert await pg.services.db.fetchall("SELECT 1 FROM churn_weekly WHERE chat_id = ?", (g.chat.id,))
    stats.silent_days = 7                                      # the operator's stats.silent_days, after a restart
    after = await stats.retention(g.chat.id, pg.clock.now())
    await pg.services.db.write(lambda conn: conn.execute("DELETE FROM churn_weekly"))
    recount = await stats.retention(g.chat.id, pg.clock.now())
    assert after == recount
    assert after.churn != before.churn                         # alice, silent since day 8, churns far sooner
    assert {b for (b,) in await pg.services.db.fetchall("SELECT basis FROM churn_weekly")} == {"7 UTC"}


async def test_the_hourly_close_goes_a_few_groups_at_a_time_resting_between_and_closes_every_group(pg, monkeypatch):
    # 1,000 groups' close back to back queued every update's write behind it: it now goes CLOSE_CHUNK groups at a
    # time and rests between chunks in proportion to the time each took (CLOSE_SHARE of the writer at most).
    groups = [await make_group(pg, f"Tea {i}") for i in range(3)]
    day0 = pg.clock.now().date().isoformat()
    await flush(pg)
    pg.clock.advance(days=2)
    monkeypatch.setattr(hs, "CLOSE_CHUNK", 2)
    rests = []
    real_sleep = hs.asyncio.sleep
    monkeypatch.setattr(hs.asyncio, "sleep", lambda seconds: rests.append(seconds) or real_sleep(0))
    await hs.job_close_days(BotContext(pg.app))
    assert len(rests) == 1 and rests[0] > 0                   # two chunks (2 + 1 groups): one rest between them
    for g in groups:
        assert await pg.services.db.fetchval("SELECT COUNT(*) FROM stats_daily WHERE chat_id = ? AND day = ?",
                                             (g.chat.id, day0)) == 1


async def test_retention_sends_its_cohort_table_and_a_heat_map_png_and_without_joiners_says_so(pg):
    g = await make_group(pg)
    assert await say(pg, g.admin, "/retention", g.chat) != ""  # the joiners' week is not over: no cohort yet
    empty = pg.sim.replies(g.chat)[-1]["text"]
    assert not photos(pg, g.chat)
    pg.clock.advance(days=7)
    await say(pg, g.alice, "back in week 1", g.chat)          # one of the three joiners came back the week after
    await flush(pg)
    pg.clock.advance(days=7)
    await say(pg, g.admin, "/retention", g.chat)
    table = [m["text"] for m in pg.sim.replies(g.chat) if "text" in m][-1]
    sent = photos(pg, g.chat)
    assert len(sent) == 1 and sent[0].params["caption"] == pg.sim.replies(g.chat)[-1]["caption"]
    photo = pg.sim.replies(g.chat)[-1]["photo"][-1]
    image = Image.open(io.BytesIO(pg.sim.download(photo["file_id"])))
    assert image.format == "PNG" and image.size == (photo["width"], photo["height"])
    assert image.size == (charts.WIDTH, charts.HEIGHT)
    assert empty == "No one joined Tea Lovers in the last weeks that I saw: no cohorts to show yet."
    assert table.startswith("Retention of Tea Lovers — of those who joined in week W, the share active in week N:")
    assert "2026-03-02 n=3     33%   ·" in table and "2026-03-09: 0 of 3 (0%)" in table
    assert sent[0].params["caption"] == "Tea Lovers: retention by joining week."
