"""The SQL counts of storage/stats.py equal the domain's definitions on the same hand-made history, in group time;
the activity buffer writes messages per local hour in one batch and puts a failed batch back."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.domain import stats as sd
from bot.services.activity import ActivityBuffer
from storage.activity import ActivityRepo
from storage.stats import StatsRepo
from tests.storage.conftest import CHAT, NOW

DAY0 = date(2026, 3, 2)


async def stage(db, people):
    """people: (user_id, is_bot, tg_role, first_seen UTC, [(UTC time, event)], {day: messages}, [checkin days])."""
    async with db.transaction() as tx:
        for uid, bot, role, seen, events, messages, checkins in people:
            await tx.execute("INSERT INTO users(user_id, first_name, is_bot, updated_at) VALUES (?, ?, ?, ?)",
                             (uid, f"U{uid}", bot, NOW.isoformat()))
            await tx.execute("INSERT INTO members(chat_id, user_id, status, tg_role, first_seen_at) VALUES (?, ?, ?, ?, ?)",
                             (CHAT, uid, "left" if events and events[-1][1] != "join" else "member", role, seen.isoformat()))
            for at, event in events:
                await tx.execute("INSERT INTO member_events(chat_id, user_id, event, at) VALUES (?, ?, ?, ?)",
                                 (CHAT, uid, event, at.isoformat()))
            for day, n in messages.items():
                await tx.execute("INSERT INTO activity_daily(chat_id, user_id, day, messages) VALUES (?, ?, ?, ?)",
                                 (CHAT, uid, day.isoformat(), n))
            for day in checkins:
                await tx.execute("INSERT INTO checkins(chat_id, user_id, day, at, streak, points, xp) VALUES (?, ?, ?, ?, 1, 10, 10)",
                                 (CHAT, uid, day.isoformat(), NOW.isoformat()))


def utc(day: int, hour: int = 12) -> datetime:
    return datetime.combine(DAY0 + timedelta(days=day), datetime.min.time(), timezone.utc) + timedelta(hours=hour)


def local(day: int) -> date:
    return DAY0 + timedelta(days=day)


PEOPLE = [
    # a member who joins, leaves and returns; the return at 20:00 UTC is the next day in Shanghai (UTC+8)
    (1, 0, None, utc(-5), [(utc(-5), "join"), (utc(1), "leave"), (utc(3, 20), "join")], {local(-5): 3, local(5): 2}, []),
    (2, 0, None, utc(-40), [], {local(0): 1, local(6): 4}, [local(1), local(6)]),  # here before Sticky
    (3, 0, "admin", utc(-40), [], {local(0): 7}, [local(0)]),                      # admin: apart
    (4, 1, None, utc(-40), [(utc(0), "join")], {local(0): 50}, []),                 # a bot: never counted
    (5, 0, None, utc(-1), [(utc(-1), "join"), (utc(2, 23), "removed")], {}, [local(2)]),  # only a check-in
]


def histories(tz_shift_days: dict[int, dict] | None = None) -> list[sd.History]:
    # What the domain sees for Asia/Shanghai: the join at utc(3, 20) is local day 4; the removal at 23:00 UTC day 3.
    return [
        sd.History(1, frozenset({local(-5), local(5)}), ((local(-5), "join"), (local(1), "leave"), (local(4), "join"))),
        sd.History(2, frozenset({local(0), local(1), local(6)})),
        sd.History(3, frozenset({local(0)}), admin=True),
        sd.History(5, frozenset({local(2)}), ((local(-1), "join"), (local(3), "leave"))),
    ]


@pytest.mark.parametrize("start,end", [(0, 6), (-6, 0), (-29, 6), (3, 4)])
@pytest.mark.parametrize("later", [0, 1, 2, 30])
async def test_period_counts_equal_the_domain_definitions(db, chat, start, end, later):
    # `later` days after the period's end: its last two days are live (0), one is (1), none (2+, all read from the
    # rows stored when the days became final). Every mix gives the definitions' answer.
    await stage(db, PEOPLE)
    repo = StatsRepo(db)
    got = await repo.period(CHAT, local(start), local(end), "Asia/Shanghai", today=local(end + later))
    messages = {(1, local(-5)): 3, (1, local(5)): 2, (2, local(0)): 1, (2, local(6)): 4}
    want = sd.counts_from_histories(histories(), local(start), local(end), messages)
    assert dict(got.daily_active) == dict(want.daily_active)
    assert dict(got.daily_messages) == dict(want.daily_messages)
    assert (got.wau, got.mau, got.joins, got.leaves) == (want.wau, want.mau, want.joins, want.leaves)
    again = await repo.period(CHAT, local(start), local(end), "Asia/Shanghai", today=local(end + later))
    assert again == got  # the second read comes from what the first stored


async def test_a_closed_day_is_stored_once_and_read_back_without_recounting(db, chat):
    await stage(db, PEOPLE)
    repo = StatsRepo(db)
    assert await repo.close(CHAT, local(-29), local(6), "Asia/Shanghai") == 36
    assert await repo.close(CHAT, local(-29), local(6), "Asia/Shanghai") == 0
    # A row is what was counted when the day became final: rewriting history underneath does not change it.
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM activity_daily WHERE chat_id = ?", (CHAT,))
    got = await repo.period(CHAT, local(0), local(6), "Asia/Shanghai", today=local(20))
    assert dict(got.daily_messages) == {local(0): 1, local(5): 2, local(6): 4}
    assert (got.wau, got.mau) == (3, 3)  # 1, 2 and 5 (a check-in on day 2): their messages are gone, the rows stay


# 6 was promoted at 20:00 UTC on day 2 (day 3 in Shanghai) and demoted at 01:00 UTC on day 5 (day 5 there): an admin on
# days 3, 4 and 5, a member on the others. 3 is an admin with no stint recorded (one from before): an admin all along.
PROMOTED = (6, 0, None, utc(-40), [], {local(1): 2, local(3): 5, local(5): 1, local(6): 3}, [local(4), local(6)])
SPANS = [(6, utc(2, 20), utc(5, 1))]


async def stage_spans(db, spans):
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO admin_spans(chat_id, user_id, since, until) VALUES (?, ?, ?, ?)",
                             [(CHAT, u, since.isoformat(), until.isoformat()) for u, since, until in spans])


@pytest.mark.parametrize("start,end", [(0, 6), (4, 6), (-29, 6), (3, 4)])
@pytest.mark.parametrize("later", [0, 2])
async def test_someone_admin_for_some_days_counts_apart_on_those_days_only(db, chat, start, end, later):
    await stage(db, PEOPLE + [PROMOTED])
    await stage_spans(db, SPANS)
    repo = StatsRepo(db)
    got = await repo.period(CHAT, local(start), local(end), "Asia/Shanghai", today=local(end + later))
    messages = {(1, local(-5)): 3, (1, local(5)): 2, (2, local(0)): 1, (2, local(6)): 4,
                (6, local(1)): 2, (6, local(3)): 5, (6, local(5)): 1, (6, local(6)): 3}
    promoted = sd.History(6, frozenset({local(1), local(3), local(4), local(5), local(6)}),
                          admin_days=frozenset({local(3), local(4), local(5)}))
    want = sd.counts_from_histories(histories() + [promoted], local(start), local(end), messages)
    assert dict(got.daily_active) == dict(want.daily_active)
    assert dict(got.daily_messages) == dict(want.daily_messages)
    assert (got.wau, got.mau) == (want.wau, want.mau)
    admin_days = {3: {local(0)}, 6: {local(3), local(4), local(5)}}     # each admin's active days as one
    assert got.admin_active == sum(1 for days in admin_days.values() if any(local(start) <= d <= local(end) for d in days))
    assert got.admin_messages == sum(n for (u, d), n in {**messages, (3, local(0)): 7}.items()
                                     if d in admin_days.get(u, ()) and local(start) <= d <= local(end))
    top = await repo.top_contributors(CHAT, local(start), local(end), "Asia/Shanghai", local(end + later))
    by_messages = {u: sum(n for (v, d), n in messages.items() if v == u and local(start) <= d <= local(end)
                          and d not in admin_days.get(u, ())) for u in (1, 2, 6)}
    assert {c.user_id: c.messages for c in top} == {u: n for u, n in by_messages.items() if n}


async def test_moderation_actions_are_counted_from_the_modlog_rules_apart_and_undoing_not(db, chat):
    await stage(db, PEOPLE)
    rows = [("warn", None, 0, utc(1)), ("delete", 4, 0, utc(1)), ("mute", 4, 0, utc(2)), ("ban", None, 0, utc(3)),
            ("unwarn", None, 0, utc(1)), ("unmute", None, 0, utc(2)), ("rule", 4, 1, utc(2)),   # undoing; a dry run
            ("kick", None, 0, utc(9))]                                                            # after the period
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO modlog(chat_id, action, target_id, rule_id, dry, at) VALUES (?, ?, 1, ?, ?, ?)",
                             [(CHAT, a, rule, dry, at.isoformat()) for a, rule, dry, at in rows])
    got = await StatsRepo(db).period(CHAT, local(0), local(6), "Asia/Shanghai")
    assert (got.moderation, got.moderation_by_rules) == (4, 2)


async def test_admins_apart_bots_never_and_members_now(db, chat):
    await stage(db, PEOPLE)
    repo = StatsRepo(db)
    got = await repo.period(CHAT, local(0), local(6), "Asia/Shanghai")
    assert got.admin_active == 1 and got.admin_messages == 7
    assert got.checkins == 3                                   # member 2 twice, member 5 once; not the admin's
    assert await repo.members_now(CHAT) == (3, 1)               # 1 (back), 2, the admin; not the bot, not 5
    top = await repo.top_contributors(CHAT, local(0), local(6), "Asia/Shanghai")
    assert [(c.user_id, c.messages, c.active_days) for c in top] == [(2, 5, 2), (1, 2, 1)]


async def test_messages_per_local_hour_are_batched_and_a_failed_batch_goes_back(db, chat):
    buffer = ActivityBuffer(ActivityRepo(db))
    at = datetime(2026, 3, 2, 23, 30, tzinfo=timezone.utc)     # Tuesday 07:30 in Shanghai
    for _ in range(3):
        buffer.count(CHAT, 7, at, "Asia/Shanghai")
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO users(user_id, first_name, updated_at) VALUES (7, 'U', ?)", (NOW.isoformat(),))
        await tx.execute("INSERT INTO members(chat_id, user_id, status, first_seen_at) VALUES (?, 7, 'member', ?)", (CHAT, NOW.isoformat()))
    await db.close()
    with pytest.raises(Exception):
        await buffer.flush()                                    # the database is gone: nothing is lost
    await db.open()
    assert await buffer.flush() == 3
    repo = StatsRepo(db)
    grid = await repo.hour_of_week(CHAT, local(0), local(6))
    assert grid[1][7] == 3 and sum(map(sum, grid)) == 3


async def test_counters_are_written_a_chunk_per_transaction_and_a_failed_chunk_goes_back_with_the_rest(db, chat, monkeypatch):
    """The counter flush never holds the one write connection for the whole batch: FLUSH_CHUNK members per
    transaction. When one chunk fails, what was committed stays, that chunk and the ones after it go back, and the
    next flush writes them: every message counted once."""
    import bot.services.activity as activity_module

    monkeypatch.setattr(activity_module, "FLUSH_CHUNK", 2)
    repo = ActivityRepo(db)
    buffer = ActivityBuffer(repo)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    async with db.transaction() as tx:
        for uid in range(1, 6):
            await tx.execute("INSERT INTO users(user_id, first_name, updated_at) VALUES (?, 'U', ?)", (uid, NOW.isoformat()))
            await tx.execute("INSERT INTO members(chat_id, user_id, status, first_seen_at) VALUES (?, ?, 'member', ?)", (CHAT, uid, NOW.isoformat()))
    for uid in range(1, 6):
        for _ in range(uid):
            buffer.count(CHAT, uid, at, "UTC", replied=uid == 4)
    real, calls = repo.add_counts, []

    async def second_fails(counts, seen, hourly=()):
        calls.append(len(list(counts)))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        await real(counts, seen, hourly)

    monkeypatch.setattr(repo, "add_counts", second_fails)
    with pytest.raises(RuntimeError):
        await buffer.flush()
    assert calls == [2, 2]
    assert await db.fetchval("SELECT SUM(messages) FROM activity_daily") == 1 + 2
    assert buffer.pending == 3 + 4 + 5
    monkeypatch.setattr(repo, "add_counts", real)
    assert await buffer.flush() == 3 + 4 + 5
    rows = {r[0]: (r[1], r[2]) for r in await db.fetchall("SELECT user_id, messages, replies FROM activity_daily")}
    assert rows == {1: (1, 0), 2: (2, 0), 3: (3, 0), 4: (4, 4), 5: (5, 0)}
    assert await db.fetchval("SELECT SUM(n) FROM stats_hourly WHERE metric = 'messages'") == 15
    assert await db.fetchval("SELECT COUNT(*) FROM members WHERE last_seen_at = ?", (at.isoformat(),)) == 5


@pytest.mark.parametrize("seed", range(6))
async def test_top_contributors_kept_between_calls_equal_the_ranking_of_the_whole_period(db, chat, monkeypatch, seed):
    # The final days' ranking is kept (only its best few: 3 here, so the live days can lift members from below it,
    # and ties at its last are common) and the live days added; whatever the mix, the answer is the definition's:
    # members by messages in the period, then days with messages, then id — recounted from the rows each time.
    import random

    import storage.stats as st
    monkeypatch.setattr(st, "TOP_KEPT", 3)
    rng = random.Random(seed)
    people = [(uid, int(uid == 9), "admin" if uid == 8 else None, utc(-40), [], {}, []) for uid in range(1, 13)]
    rows = {(uid, local(day)): rng.choice((1, 1, 2, 3, 7)) for uid in range(1, 13) for day in range(-20, 12)
            if rng.random() < 0.25}
    for uid, *rest in people:
        rest[4].update({d: n for (u, d), n in rows.items() if u == uid})
    await stage(db, people)
    repo, kept = StatsRepo(db), {}
    for start, end, today in [(0, 6, 6), (0, 6, 7), (0, 6, 8), (-13, 6, 6), (-13, 6, 7), (5, 11, 11), (0, 6, 20)]:
        got = await repo.top_contributors(CHAT, local(start), local(end), "Asia/Shanghai", local(today), ranked=kept)
        totals: dict[int, list[int]] = {}
        for (uid, d), n in rows.items():
            if local(start) <= d <= local(end) and uid not in (8, 9):
                totals.setdefault(uid, [0, 0])
                totals[uid][0] += n
                totals[uid][1] += 1
        want = sorted(((u, n, k) for u, (n, k) in totals.items()), key=lambda r: (-r[1], -r[2], r[0]))[:5]
        assert [(c.user_id, c.messages, c.active_days) for c in got] == want, (start, end, today)
        assert all(c.name == f"U{c.user_id}" for c in got)


@pytest.mark.parametrize("seed", range(4))
async def test_live_wau_and_mau_from_kept_final_members_equal_the_definitions(db, chat, seed):
    # A live end's WAU / MAU join the members kept for the window's final days with the live days' members: over
    # random worlds (messages and check-ins, an admin and a bot apart), one kept dict across several days and
    # periods, each equals wau() / mau() of the domain on the same histories.
    import random

    rng = random.Random(seed)
    people, hist = [], []
    for uid in range(1, 16):
        msgs = {local(d): rng.randint(1, 3) for d in range(-40, 12) if rng.random() < 0.1}
        checks = [local(d) for d in range(-40, 12) if rng.random() < 0.05]
        people.append((uid, int(uid == 9), "admin" if uid == 8 else None, utc(-60), [], msgs, checks))
        if uid != 9:
            hist.append(sd.History(uid, frozenset(msgs) | frozenset(checks), admin=uid == 8))
    await stage(db, people)
    repo, kept = StatsRepo(db), {}
    for end in (5, 6, 7, 11, 10):
        for today in (end, end + 1):
            got = await repo.period(CHAT, local(end - 6), local(end), "UTC", today=local(today), kept=kept)
            assert (got.wau, got.mau) == (sd.wau(hist, local(end)), sd.mau(hist, local(end))), (end, today)


async def test_closing_days_and_storing_churn_hold_the_writer_only_for_their_insert_not_for_a_busy_event_loop(db, chat):
    # The hourly close runs beside the updates being handled. A transaction opened from the event loop held the one
    # write connection across the loop's turns (BEGIN, the insert, COMMIT: three hops): with the loop busy (1,000
    # groups' updates) that was 86–195 ms of everyone else waiting. Now each is one hop, timed on the writer's thread.
    import asyncio
    import time

    await stage(db, PEOPLE)
    repo = StatsRepo(db)
    stop = asyncio.Event()

    async def busy_loop():  # other work on the event loop: 30 ms at a time
        while not stop.is_set():
            time.sleep(0.03)
            await asyncio.sleep(0)

    busy = asyncio.create_task(busy_loop())
    try:
        db.holds.reset()
        assert await repo.close(CHAT, local(-29), local(6), "Asia/Shanghai") == 36
        await repo.store_churn(CHAT, [(local(0), 3, 1), (local(7), 2, 0)], "30 Asia/Shanghai")
    finally:
        stop.set()
        await busy
    assert db.holds.count == 2 and db.holds.longest < 0.025, db.holds.kinds()
    assert await repo.stored_churn(CHAT, local(0), local(7), "30 Asia/Shanghai") == {local(0): (3, 1), local(7): (2, 0)}


async def test_a_close_cut_off_at_its_write_stores_nothing_and_the_next_close_stores_each_day_once(db, chat, monkeypatch):
    from storage import stats as st

    await stage(db, PEOPLE)
    repo = StatsRepo(db)

    def cut_off(conn, rows):
        conn.executemany("INSERT INTO stats_daily(chat_id, day, active, messages, admin_messages, checkins, wau, mau)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows[:3])
        raise OSError("killed")

    monkeypatch.setattr(st, "_insert_days", cut_off)
    with pytest.raises(OSError):
        await repo.close(CHAT, local(0), local(6), "Asia/Shanghai")
    assert await db.fetchval("SELECT COUNT(*) FROM stats_daily WHERE chat_id = ?", (CHAT,)) == 0
    monkeypatch.undo()
    assert await repo.close(CHAT, local(0), local(6), "Asia/Shanghai") == 7
    assert await repo.close(CHAT, local(0), local(6), "Asia/Shanghai") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM stats_daily WHERE chat_id = ?", (CHAT,)) == 7
