"""A bench case for /stats on a large group: 100,000 members and a year of history, written straight into SQLite
(the tables the counters fill), then the report and its chart timed as /stats makes them (target: < 500 ms).

Final days are stored once (stats_daily) by the hourly close job; the case stores the year first (timed: what a
first /stats after the upgrade pays once), times one day's close (what the job pays per group per day), then /stats.

    python -m bench.stats_case            # prints the timings
    from bench.stats_case import stats_case; await stats_case(path)   # {"report_ms", "chart_ms", "total_ms", ...}

History shape: 100,000 members; each day about 3% (3,000) of them send messages and about 1,000 check in, for 365
days (about 1.1 million member-days); ~150 joins and ~100 leaves a day; messages spread over the hours."""
from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

CHAT = -1001
MEMBERS = 100_000
DAYS = 365
DAILY_ACTIVE = 3_000
DAILY_CHECKINS = 1_000
TARGET_MS = 500


def build(path: Path, today: date, members: int = MEMBERS, days: int = DAYS, seed: int = 7) -> None:
    """The database of a big group, made with plain sqlite3 after Sticky's own migrations."""
    from bot.clock import SystemClock  # noqa: F401 - the package must import
    from storage.db import Database

    async def migrate() -> None:
        db = Database(path)
        await db.open()
        await db.close()

    asyncio.run(migrate())
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    conn.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (?, 'Big', 'supergroup', ?)", (CHAT, now))
    conn.executemany("INSERT INTO users(user_id, first_name, updated_at) VALUES (?, ?, ?)",
                     ((u, f"M{u}", now) for u in range(1, members + 1)))
    first = today - timedelta(days=days - 1)
    conn.executemany(
        "INSERT INTO members(chat_id, user_id, status, tg_role, first_seen_at) VALUES (?, ?, 'member', ?, ?)",
        ((CHAT, u, "admin" if u <= 5 else None, f"{first.isoformat()}T00:00:00+00:00") for u in range(1, members + 1)))
    for i in range(days):
        day = (first + timedelta(days=i)).isoformat()
        active = rng.sample(range(1, members + 1), DAILY_ACTIVE)
        conn.executemany("INSERT INTO activity_daily(chat_id, user_id, day, messages) VALUES (?, ?, ?, ?)",
                         ((CHAT, u, day, rng.randint(1, 12)) for u in active))
        conn.executemany(
            "INSERT INTO checkins(chat_id, user_id, day, at, streak, points, xp) VALUES (?, ?, ?, ?, 1, 10, 10)",
            ((CHAT, u, day, f"{day}T08:00:00+00:00") for u in active[:DAILY_CHECKINS]))
        conn.executemany("INSERT INTO stats_hourly(chat_id, metric, day, hour, n) VALUES (?, 'messages', ?, ?, ?)",
                         ((CHAT, day, h, rng.randint(50, 2000)) for h in range(24)))
        conn.executemany("INSERT INTO member_events(chat_id, user_id, event, at) VALUES (?, ?, ?, ?)",
                         ((CHAT, rng.randint(1, members), "join" if k < 150 else "leave", f"{day}T{k % 24:02d}:00:00+00:00")
                          for k in range(250)))
    conn.commit()
    conn.close()


async def close_history(path: Path, today: date, days: int = DAYS) -> dict[str, float]:
    """Store every final day of the year (once), then time closing one day again as the daily job does."""
    from storage.db import Database
    from storage.stats import StatsRepo, final_day

    db = Database(path)
    await db.open()
    try:
        repo = StatsRepo(db)
        final = final_day(today)
        start = time.perf_counter()
        await repo.close(CHAT, today - timedelta(days=days + 200), final, "UTC")
        backfill = time.perf_counter() - start
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM stats_daily WHERE chat_id = ? AND day = ?", (CHAT, final.isoformat()))
        start = time.perf_counter()
        await repo.close(CHAT, final, final, "UTC")
        one_day = time.perf_counter() - start
    finally:
        await db.close()
    return {"backfill_s": backfill, "close_day_ms": one_day * 1e3}


def _cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the chart worker has used so far (0 before it starts)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def stats_case(path: Path, days: int = 30, today: date | None = None, runs: int = 3,
                     warm: bool = True) -> dict[str, float]:
    """Time /stats on the database at `path` as a running bot makes it, `runs` times on one open database (a running
    bot's connection is warm): the report (all SQL) with its chart drawn in the chart worker meanwhile, as the handler
    asks for it, from the command to the PNG in hand. The first run is reported apart: it opens the database, starts
    the chart worker (which loads matplotlib) unless `warm` (a running bot warms it a minute after its start: then
    the worker has drawn once before) and ranks the period's final days (kept for the later runs, as the service
    keeps them until the next day is final). The chart cache is not used: every run draws. The chart's CPU is the
    worker process's."""
    import functools

    from bot import charts
    from bot.clock import FixedClock
    from bot.config import Config
    from bot.services.groups import GroupService
    from bot.services.stats import StatsService
    from bot.texts import stats as texts, translator
    from storage.db import Database
    from storage.groups import GroupRepo
    from storage.stats import StatsRepo

    today = today or datetime.now(timezone.utc).date()
    at = datetime.combine(today, datetime.min.time(), timezone.utc) + timedelta(hours=12)
    db = Database(path)
    await db.open()
    timings = []
    try:
        config = Config()
        clock = FixedClock(at)
        service = StatsService(StatsRepo(db), GroupService(GroupRepo(db), config, clock), clock, config.stats)
        labels = texts.stats_labels(translator("en"), days, 30)
        if warm:
            await service.charts.run(charts.warm_up)
        for run in range(runs):
            def chart(end, daily, grid, run=run):
                return ("bench", days, run), functools.partial(
                    charts.stats_chart, [d for d, _, _ in daily], [a for _, a, _ in daily], [m for _, _, m in daily],
                    grid, labels)

            cpu = _cpu(service.charts.pids())
            start = time.perf_counter()
            report = await service.report(CHAT, days, at, chart=chart)
            reported = time.perf_counter()
            await report.chart
            timings.append(((reported - start) * 1e3, (time.perf_counter() - start) * 1e3,
                            (_cpu(service.charts.pids()) - cpu) * 1e3))
    finally:
        await service.charts.close()
        await db.close()
    warm = sorted(timings[1:] or timings, key=lambda t: t[1])[len(timings[1:] or timings) // 2]  # the median warm run
    return {"first_ms": timings[0][1], "report_ms": warm[0], "chart_cpu_ms": warm[2], "total_ms": warm[1],
            "dau": report.now.dau, "mau": report.now.mau}


async def next_day_case(path: Path, days: int = 30, today: date | None = None) -> dict[str, float]:
    """The first /stats of a new day (report only, no chart), against the second: the next day as the hourly close
    left it when it has not run yet (the /stats closes the day and reads its month's final days again), and the day
    after with the job run first (it closes the day and warms what /stats keeps; its time is reported). The days
    closed here are removed again afterwards (a kept database stays as built)."""
    from bot.clock import FixedClock
    from bot.config import Config
    from bot.services.groups import GroupService
    from bot.services.stats import StatsService
    from storage.db import Database
    from storage.groups import GroupRepo
    from storage.stats import StatsRepo, final_day

    today = today or datetime.now(timezone.utc).date()
    at = datetime.combine(today, datetime.min.time(), timezone.utc) + timedelta(hours=12)
    db = Database(path)
    await db.open()
    out: dict[str, float] = {}

    async def timed(when: datetime) -> float:
        start = time.perf_counter()
        await service.report(CHAT, days, when)
        return (time.perf_counter() - start) * 1e3

    try:
        config = Config()
        clock = FixedClock(at)
        service = StatsService(StatsRepo(db), GroupService(GroupRepo(db), config, clock), clock, config.stats)
        await timed(at)
        out["warm_ms"] = await timed(at)
        clock.set(at + timedelta(days=1))
        out["no_job_first_ms"], out["no_job_second_ms"] = await timed(clock.now()), await timed(clock.now())
        clock.set(at + timedelta(days=2))
        start = time.perf_counter()
        await service.close_days([CHAT])
        out["job_ms"] = (time.perf_counter() - start) * 1e3
        out["job_first_ms"], out["job_second_ms"] = await timed(clock.now()), await timed(clock.now())
        clock.set(at + timedelta(days=2, hours=1))  # the same day's next hourly pass: nothing new is final
        start = time.perf_counter()
        await service.close_days([CHAT])
        out["job_again_ms"] = (time.perf_counter() - start) * 1e3
    finally:
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM stats_daily WHERE chat_id = ? AND day > ?", (CHAT, final_day(today).isoformat()))
        await service.charts.close()
        await db.close()
    return out


async def retention_case(path: Path, today: date | None = None, runs: int = 3) -> dict[str, float]:
    """/retention (its cohorts and churn) and the weekly report's stats part, timed on the big group: the first
    /retention with no week's churn stored (it counts and stores the 8 weeks: what the first one after the upgrade
    pays), then the median of `runs` with them stored (the cohorts counted, each week's churn a row), and on a Monday
    (the week just over is not final yet: counted, not stored). The stored rows are removed again afterwards."""
    from bot.clock import FixedClock
    from bot.config import Config
    from bot.domain.stats import week_start
    from bot.services.groups import GroupService
    from bot.services.stats import StatsService
    from storage.db import Database
    from storage.groups import GroupRepo
    from storage.stats import StatsRepo

    today = today or datetime.now(timezone.utc).date()
    at = datetime.combine(today, datetime.min.time(), timezone.utc) + timedelta(hours=12)
    monday = datetime.combine(week_start(today), datetime.min.time(), timezone.utc) + timedelta(hours=12)
    db = Database(path)
    await db.open()

    async def timed(when: datetime) -> float:
        start = time.perf_counter()
        await service.retention(CHAT, when)
        return (time.perf_counter() - start) * 1e3

    async def forget() -> None:
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM churn_weekly WHERE chat_id = ?", (CHAT,))

    try:
        config = Config()
        clock = FixedClock(at)
        service = StatsService(StatsRepo(db), GroupService(GroupRepo(db), config, clock), clock, config.stats)
        await forget()
        first = await timed(at)
        stored = sorted([await timed(at) for _ in range(runs)])[runs // 2]
        await forget()
        await timed(monday - timedelta(days=1))  # the weeks before the last one, stored
        on_monday = await timed(monday)
        report = await service.retention(CHAT, at)
        async with db.transaction() as tx:  # the weekly report goes out once a week: this one may
            await tx.execute("DELETE FROM weekly_reports WHERE chat_id = ?", (CHAT,))
        start = time.perf_counter()
        await service.weekly(CHAT, at)
        weekly = time.perf_counter() - start
        await forget()
    finally:
        await db.close()
    return {"first_ms": first, "retention_ms": stored, "monday_ms": on_monday, "weekly_ms": weekly * 1e3,
            "cohorts": len(report.cohorts)}


LOYALTY_HOLD_MS = 50  # the longest writer hold of one /loyalty or weekly report transaction
LOYALTY_LAG_MS = 50  # the event loop's longest delay while one runs


class LoopLag:
    """The event loop's longest delay meanwhile: a task asks to wake every 5 ms and notes how late it woke."""

    def __init__(self, every: float = 0.005) -> None:
        self.every, self.longest, self._task = every, 0.0, None

    async def _watch(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self.every)
            self.longest = max(self.longest, time.perf_counter() - asked - self.every)

    def __enter__(self) -> "LoopLag":
        self._task = asyncio.ensure_future(self._watch())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()


async def loyalty_case(path: Path, today: date | None = None) -> dict[str, float]:
    """/loyalty and the weekly report on the big group, each with the writer's longest hold per transaction and the
    event loop's longest delay meanwhile: the first /loyalty (every member placed for the first time and the week's
    snapshot: all of them written, in chunks), a second with nothing changed (nothing written), and the next week's
    report (the reported week's stats, the new week's snapshot, the states that changed). The loyalty rows and the
    report's claim are removed afterwards (a kept database stays as built)."""
    from bot.clock import FixedClock
    from bot.config import Config
    from bot.domain.loyalty import Thresholds
    from bot.services.groups import GroupService
    from bot.services.loyalty import LoyaltyService
    from bot.services.nps import NpsService
    from bot.services.stats import StatsService, weekly_report
    from storage.db import Database
    from storage.funnel import FunnelRepo
    from storage.groups import GroupRepo
    from storage.loyalty import LoyaltyRepo
    from storage.nps import NpsRepo
    from storage.stats import StatsRepo

    today = today or datetime.now(timezone.utc).date()
    at = datetime.combine(today, datetime.min.time(), timezone.utc) + timedelta(hours=12)
    db = Database(path)
    await db.open()
    out: dict[str, float] = {}

    async def forget() -> None:
        async with db.transaction() as tx:
            for table in ("loyalty_state", "loyalty_snapshots", "loyalty_weeks", "weekly_reports"):
                await tx.execute(f"DELETE FROM {table} WHERE chat_id = ?", (CHAT,))

    class Funnel:  # what the weekly report asks of the funnel service
        async def numbers(self, chat_id):
            return await FunnelRepo(db).numbers(chat_id, clock.now())

    async def timed(name: str, run) -> object:
        db.holds.reset()
        with LoopLag() as lag:
            start = time.perf_counter()
            result = await run()
            out[f"{name}_ms"] = (time.perf_counter() - start) * 1e3
        out[f"{name}_lag_ms"] = lag.longest * 1e3
        longest = [k["longest_ms"] for k in db.holds.kinds().values()]
        out[f"{name}_hold_ms"] = max(longest, default=0.0)
        out[f"{name}_writes"] = sum(k["count"] for k in db.holds.kinds().values())
        return result

    try:
        config = Config()
        clock = FixedClock(at)
        groups = GroupService(GroupRepo(db), config, clock)
        loyalty = LoyaltyService(LoyaltyRepo(db), groups, Thresholds(**config.loyalty.model_dump()))
        stats = StatsService(StatsRepo(db), groups, clock, config.stats)
        nps = NpsService(NpsRepo(db), clock, config.nps.open_days)
        await forget()
        # What this machine gives as it is meanwhile (other processes' load): the loop's delay with nothing to do, and
        # with any pure-Python thread beside it (the GIL handed back every 5 ms, and the OS to schedule the loop).
        with LoopLag() as lag:
            await asyncio.sleep(2)
        out["idle_lag_ms"] = lag.longest * 1e3

        def spin(until: float) -> None:
            while time.perf_counter() < until:
                pass

        with LoopLag() as lag:
            await asyncio.to_thread(spin, time.perf_counter() + 2)
        out["thread_lag_ms"] = lag.longest * 1e3
        view = await timed("first", lambda: loyalty.refresh(CHAT, at))
        out["placed"] = sum(view.counts.values())
        changes = db._writer.total_changes
        await timed("again", lambda: loyalty.refresh(CHAT, at))
        out["again_rows"] = db._writer.total_changes - changes
        clock.set(at + timedelta(days=7))
        report = await timed("weekly", lambda: weekly_report(stats, loyalty, Funnel(), nps, CHAT, clock.now()))
        out["movers"] = len(report.movers or [])
        await forget()
    finally:
        await stats.charts.close()
        await db.close()
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.stats_case", description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=MEMBERS, help="members of the big group (default 100,000)")
    parser.add_argument("--days", type=int, default=DAYS, help="days of history (default 365)")
    parser.add_argument("--periods", default="7,30,90", help="the /stats periods to time (default 7,30,90)")
    parser.add_argument("--no-retention", dest="retention", action="store_false", help="skip /retention and the weekly report")
    parser.add_argument("--no-loyalty", dest="loyalty", action="store_false", help="skip /loyalty and its weekly report")
    parser.add_argument("--only-loyalty", action="store_true", help="time only /loyalty and its weekly report")
    parser.add_argument("--keep", metavar="FILE", help="build the database here (reused if it exists) instead of a temporary one")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sticky-stats-") as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "big.db"
        today = datetime.now(timezone.utc).date()
        if not path.exists():
            started = time.perf_counter()
            build(path, today, args.members, args.days)
            print(f"built {args.members:,} members × {args.days} days in {time.perf_counter() - started:.1f} s")
            closed = asyncio.run(close_history(path, today, args.days))
            print(f"stored the final days in {closed['backfill_s']:.1f} s (once); closing one day: {closed['close_day_ms']:.0f} ms")
        if not args.only_loyalty:
            for days in map(int, args.periods.split(",")):
                r = asyncio.run(stats_case(path, days, today))
                verdict = "met" if r["total_ms"] < TARGET_MS else "NOT met"
                print(f"/stats {days}d: {r['total_ms']:.0f} ms to the chart in hand (report {r['report_ms']:.0f} ms, the chart"
                      f" drawn meanwhile in the worker: {r['chart_cpu_ms']:.0f} ms CPU; median of warm runs; the first after opening,"
                      f" the worker warmed: {r['first_ms']:.0f} ms; DAU {r['dau']:.0f}, MAU {r['mau']}; target < {TARGET_MS} ms: {verdict})")
            r = asyncio.run(stats_case(path, 30, today, runs=1, warm=False))
            print(f"/stats 30d in the bot's first minute, the chart worker not warmed yet: {r['first_ms']:.0f} ms")
            r = asyncio.run(next_day_case(path, 30, today))
            print(f"/stats 30d report, a day's first against its second: {r['no_job_first_ms']:.0f} / {r['no_job_second_ms']:.0f} ms"
                  f" before the hourly close ran (the /stats closes the day itself); after it ran ({r['job_ms']:.0f} ms,"
                  f" warming what /stats keeps): {r['job_first_ms']:.0f} / {r['job_second_ms']:.0f} ms; warm same day {r['warm_ms']:.0f} ms;"
                  f" the same day's next hourly pass: {r['job_again_ms']:.0f} ms")
            if args.retention:
                r = asyncio.run(retention_case(path, today))
                print(f"/retention: {r['retention_ms']:.0f} ms with the weeks' churn stored (median of 3); on a Monday (the"
                      f" week just over counted): {r['monday_ms']:.0f} ms; the first, storing 8 weeks: {r['first_ms']:.0f} ms;"
                      f" the weekly report's stats (its week, retention): {r['weekly_ms']:.0f} ms (target < 1,000 ms each)")
        if args.loyalty:
            r = asyncio.run(loyalty_case(path, today))
            print(f"the event loop on this machine now (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores): delayed at most"
                  f" {r['idle_lag_ms']:.1f} ms idle, {r['thread_lag_ms']:.1f} ms beside a pure-Python thread")
            for name, what in (("first", f"/loyalty, the first ({r['placed']:,} members placed and written with the"
                                         " week's snapshot)"),
                               ("again", f"/loyalty again, nothing changed ({r['again_rows']:,} rows written)"),
                               ("weekly", f"the weekly report a week later (its stats, the new week's snapshot, the"
                                          f" states that changed; {r['movers']:,} movers)")):
                met = r[f"{name}_hold_ms"] < LOYALTY_HOLD_MS and r[f"{name}_lag_ms"] < LOYALTY_LAG_MS
                print(f"{what}: {r[f'{name}_ms']:.0f} ms; writer held at most {r[f'{name}_hold_ms']:.1f} ms per"
                      f" transaction ({r[f'{name}_writes']:.0f} transactions), event loop delayed at most"
                      f" {r[f'{name}_lag_ms']:.1f} ms; targets < {LOYALTY_HOLD_MS} ms / < {LOYALTY_LAG_MS} ms:"
                      f" {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
