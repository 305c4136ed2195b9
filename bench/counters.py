"""`python -m bench.counters`: what message counts riding with their updates' handled marks cost the writer.

Mark commits of 100 finished updates each carrying one message's counts (now), against the same commits carrying
marks only plus the counters' own batch every 30 commits (before: the counts waited in memory for
activity.flush_seconds, and a kill lost them). Prints µs of writer time per message for each, median of 3 runs."""
from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bot.services.activity import ActivityBuffer
from storage.activity import ActivityRepo
from storage.db import Database
from storage.inbox import InboxRepo

CHAT, MEMBERS = -1, 1000
NOW = datetime(2026, 12, 2, 12, tzinfo=timezone.utc)


async def _world(path: Path) -> Database:
    db = Database(path)
    await db.open()
    at = NOW.isoformat()
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (?, 'g', 'supergroup', ?)", (CHAT, at))
        await tx.executemany("INSERT INTO users(user_id, first_name, updated_at) VALUES (?, 'u', ?)",
                             [(u, at) for u in range(1, MEMBERS + 1)])
        await tx.executemany("INSERT INTO members(chat_id, user_id, status, first_seen_at) VALUES (?, ?, 'member', ?)",
                             [(CHAT, u, at) for u in range(1, MEMBERS + 1)])
    return db


async def measure(batch: int = 100, rounds: int = 200) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sticky-counters-") as tmp:
        db = await _world(Path(tmp) / "bench.db")
        inbox = InboxRepo(db, lambda: NOW)
        buffer = ActivityBuffer(ActivityRepo(db))
        inbox.add_rider(buffer)
        next_id = 1

        async def run(riding: bool) -> float:
            nonlocal next_id
            spent = 0.0
            for r in range(rounds):
                for _ in range(batch):
                    buffer.count(CHAT, 1 + next_id % MEMBERS, NOW, "UTC", update_id=next_id if riding else None)
                    inbox.finished(next_id)
                    next_id += 1
                start = time.perf_counter()
                await inbox.flush()  # the marks' commit (riding: the counts too)
                if not riding and r % 30 == 29:
                    await buffer.flush()
                spent += time.perf_counter() - start
            if not riding:
                start = time.perf_counter()
                await buffer.flush()
                spent += time.perf_counter() - start
            return spent * 1e6 / (batch * rounds)

        try:
            await run(False)
            await run(True)  # warm
            before = [await run(False) for _ in range(3)]
            now = [await run(True) for _ in range(3)]
        finally:
            await db.close()
    return {"before_us": statistics.median(before), "riding_us": statistics.median(now)}


def main() -> int:
    r = asyncio.run(measure())
    print(f"message counts, writer time per message: riding with their marks {r['riding_us']:.1f} µs;"
          f" marks only + the counters' own batch {r['before_us']:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
