"""`make bench` (part 2): schedules at scale — re-arming 10,000 schedules at start after a downtime (every one of
them due: claimed, policy applied, next run computed from APScheduler's triggers, in batches), and the cost of a
steady tick with 10,000 schedules of which none is due."""
from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bot.domain.schedules import next_run
from bot.playground import Playground
from storage.db import iso

SCHEDULES = 10_000
SPECS = [("daily", "09:00"), ("weekly", "mon,thu 18:30"), ("cron", "0 9 * * 1-5"), ("every", "2h"), ("monthly", "1st sat 10:00"),
         ("every", "1d 08:00")]
ZONES = ["Asia/Shanghai", "America/New_York", "Pacific/Auckland", "UTC"]


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sticky-bench-") as tmp:
        pg = Playground(Path(tmp) / "bench.db")
        await pg.start()
        try:
            return await _run(pg)
        finally:
            await pg.stop()


async def _run(pg: Playground) -> int:
    sim = pg.sim
    owner = sim.user("owner")
    group = sim.create_group("Bench", owner=owner)
    sim.add_bot(group, by=owner)
    await pg.settle()
    now = pg.clock.now()
    async with pg.services.db.transaction() as tx:
        for i in range(SCHEDULES):
            kind, spec = SPECS[i % len(SPECS)]
            tz = ZONES[i % len(ZONES)]
            await tx.execute(
                "INSERT INTO schedules(chat_id, kind, spec, tz, first_run, next_run, action, content, options, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'post', '{\"texts\": [\"x\"]}', '{}', ?)",
                (group.id, kind, spec, tz, iso(now - timedelta(days=30)), iso(next_run(kind, spec, tz, now - timedelta(days=30), now)), iso(now)),
            )
    # Down for two days: at start every schedule is due (or overdue) at once.
    pg.clock.advance(days=2)
    start = time.perf_counter()
    claims = await pg.services.schedules.due()
    rearm = time.perf_counter() - start
    due = len(claims)  # all but the monthly ones (their next run is weeks away)
    ticks = 50
    start = time.perf_counter()
    for _ in range(ticks):
        assert await pg.services.schedules.due() == []
        await pg.services.schedules.due_work()
        await pg.services.nightmode.tick()
    tick = (time.perf_counter() - start) / ticks
    # A crash right after that claim: every claimed slot is pending; the next start deals with each once.
    pg.services.schedules._recovered = False
    start = time.perf_counter()
    rerun = await pg.services.schedules.recover()
    recovery = time.perf_counter() - start
    print(f"re-arming {SCHEDULES} schedules at start after a 2-day downtime ({due} due: claimed, policy applied, next run"
        f" computed): {rearm:.2f} s ({rearm / due * 1e6:.0f} µs per due schedule)")
    print(f"steady tick with {SCHEDULES} schedules, none due (schedules + deferred work + night mode): {tick * 1e3:.2f} ms")
    print(f"recovery after a crash with those {due} claimed and not sent: {recovery:.2f} s ({len(rerun)} to run again,"
          f" {due - len(rerun)} logged missed)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
