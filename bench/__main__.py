"""`make bench`: Sticky's per-message hot path and check-in, each as a ratio against a baseline run in the same process.

Absolute times depend on the machine; the ratios say what Sticky adds on top of python-telegram-bot itself
(per-message work) and on top of one bare SQLite transaction (check-in)."""
from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, filters

from bot.app import ALLOWED_UPDATES
from bot.playground import Playground
from bot.sim import SimRequest

MESSAGES = 3000
CHECKINS = 300


async def _noop(update, context) -> None:
    return None


async def timed(updates, app) -> float:
    start = time.perf_counter()
    for data in updates:
        await app.process_update(Update.de_json(data, app.bot))
    return time.perf_counter() - start


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sticky-bench-") as tmp:
        pg = Playground(Path(tmp) / "bench.db")
        await pg.start()
        sim = pg.sim
        owner = sim.user("owner")
        group = sim.create_group("Bench", owner=owner)
        sim.add_bot(group, by=owner)
        members = [sim.user(f"m{i}") for i in range(50)]
        for m in members:
            sim.join(group, m)
        await pg.settle()
        for i in range(MESSAGES):
            sim.send(members[i % len(members)], f"message {i} about tea", group)
        updates = sim.take_updates(ALLOWED_UPDATES)

        bare = ApplicationBuilder().token(sim.token).request(SimRequest(sim)).get_updates_request(SimRequest(sim)).build()
        bare.add_handler(MessageHandler(filters.ALL, _noop))
        await bare.initialize()
        baseline = await timed(updates, bare)
        await bare.shutdown()

        sticky = await timed([{**u, "update_id": u["update_id"] + 10_000_000} for u in updates], pg.app)
        flush_start = time.perf_counter()
        await pg.services.activity.flush()
        await pg.services.points.flush_chat_xp()
        flush = time.perf_counter() - flush_start

        # Check-in: the full command path against one bare BEGIN IMMEDIATE … COMMIT on the same database.
        db = pg.services.db
        start = time.perf_counter()
        for i in range(CHECKINS):
            async with db.transaction() as tx:
                await tx.execute("INSERT OR REPLACE INTO group_settings(chat_id, key, value, updated_at) VALUES (?, 'bench', ?, 'x')", (group.id, str(i)))
        bare_tx = time.perf_counter() - start
        checkers = [sim.user(f"c{i}") for i in range(CHECKINS)]
        for c in checkers:
            sim.join(group, c)
        await pg.settle()
        for c in checkers:
            sim.send(c, "/checkin", group)
        checkin_updates = sim.take_updates(ALLOWED_UPDATES)
        checkin = await timed(checkin_updates, pg.app)
        await pg.stop()

    print(f"per group message: Sticky {sticky / MESSAGES * 1e6:.0f} µs vs bare PTB {baseline / MESSAGES * 1e6:.0f} µs"
          f" → ratio {sticky / baseline:.2f}×  (batch flush of {MESSAGES} messages: {flush * 1e3:.1f} ms, once)")
    print(f"per /checkin (reply included): {checkin / CHECKINS * 1e3:.2f} ms vs one bare transaction"
          f" {bare_tx / CHECKINS * 1e3:.2f} ms → ratio {checkin / bare_tx:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
