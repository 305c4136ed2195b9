"""`python -m bench.flush_case`: the chat-XP flush at growing sizes, through the real services.

Every member of G groups sends one message that earns XP (held for its update, as the inbox's updates are), then
one flush writes it all; twice, as P4's members chat twice (the first flush makes their wallets, the second adds to
them). Per flush: seconds, the longest writer hold, the transactions, and what it wrote to the WAL (MB: pages times
their size, whatever the machine's load). A flush that costs the same per member at every size is linear.

    python -m bench.flush_case [--groups 1000] [--members 10000,30000,100000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bot.playground import Playground
from storage.db import iso


async def _groups(pg: Playground, groups: int) -> list[int]:
    chats = [-1_000_000_000_000 - g for g in range(groups)]
    at = iso(pg.clock.now())
    async with pg.services.db.transaction() as tx:
        await tx.executemany("INSERT INTO groups(chat_id, title, type, added_at) VALUES (?, ?, 'supergroup', ?)",
                             [(c, f"Flush club {i}", at) for i, c in enumerate(chats)])
    return chats


def _payload(update_id: int, chat_id: int, user_id: int, at) -> str:
    """About what Telegram sends for a short group message (the inbox keeps it until the update is handled)."""
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": int(at.timestamp()), "text": "has anyone tried the new oolong from the market?",
        "from": {"id": user_id, "is_bot": False, "first_name": f"Member{user_id}", "username": f"m{user_id}", "language_code": "en"},
        "chat": {"id": chat_id, "title": "Flush club", "type": "supergroup"}}})


async def one_size(groups: int, members: int, seed: int = 1) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="sticky-flush-") as tmp:
        path = Path(tmp) / "bench.db"
        pg = Playground(path)
        await pg.start()
        pg.app.job_queue.scheduler.pause()  # no timed flush or checkpoint in the middle: this measures one flush
        try:
            s = pg.services
            chats = await _groups(pg, groups)
            per = members // groups
            everyone = [(c, 50_000_000 + g * per + n) for g, c in enumerate(chats) for n in range(per)]
            update_id, out = 1_000_000, []
            for round_ in (1, 2):
                random.Random(seed + round_).shuffle(everyone)  # arrival order: the groups mixed, as in P4
                at = pg.clock.advance(seconds=s.config.points.chat_xp.cooldown_seconds + 1)
                for start in range(0, len(everyone), 100):  # received 100 at a time, recorded, then handled
                    part = everyone[start : start + 100]
                    ids = range(update_id + 1, update_id + 1 + len(part))
                    update_id += len(part)
                    await s.inbox.repo.record([(i, _payload(i, c, u, at)) for i, (c, u) in zip(ids, part)])
                    for i, (chat_id, user_id) in zip(ids, part):
                        await s.points.chat_message(chat_id, user_id, at, 40, update_id=i)
                        s.inbox.repo.finished(i)  # handled: its mark waits for the flush, which writes the XP
                    await s.inbox.repo.flush()
                await s.db.checkpoint()  # all copied: the flush's commits start the WAL afresh
                s.db.holds.reset()
                pending = s.points.pending_members
                start = time.perf_counter()
                await s.points.flush_chat_xp()
                seconds = time.perf_counter() - start
                _, frames, _ = await s.db.checkpoint()  # the pages the flush wrote
                page = await s.db.fetchval("PRAGMA page_size")
                out.append({"members": pending, "round": round_, "seconds": seconds, "longest_hold_ms": 1e3 * s.db.holds.longest, "held_s": s.db.holds.total,
                            "transactions": s.db.holds.count, "wal_mb": frames * page / 1e6})
            xp = await s.db.fetchval("SELECT COALESCE(SUM(xp), 0) FROM wallets")
            booked = await s.db.fetchval("SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE currency = 'xp'")
            assert xp == booked, f"wallets {xp} != ledger {booked}"
        finally:
            await pg.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flush_case", description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--members", default="10000,30000,100000")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    for members in (int(m) for m in args.members.split(",")):
        for r in asyncio.run(one_size(args.groups, members)):
            print(f"{r['members']:>7,} members, flush {r['round']}: {r['seconds']:6.2f} s ({1e6 * r['seconds'] / r['members']:4.0f} µs a member),"
                  f" writer held {r['held_s']:5.2f} s, longest {r['longest_hold_ms']:5.1f} ms, {r['transactions']} transactions,"
                  f" WAL {r['wal_mb']:6.1f} MB ({1e3 * r['wal_mb'] / r['members']:4.1f} kB a member)", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
