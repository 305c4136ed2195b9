"""`make bench` (part 3): what the topic of the week adds to the per-message path. Every group message that replies to
something reaches TopicService.reply: for a reply to anything but an open topic (or one of its replies) that is a
dictionary lookup; a reply to the topic writes one row (and the member's XP, once); a reply to a reply one UPDATE.
Measured on the service and end to end (a reply update through the real Application, with and without an open topic)."""
from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.playground import Playground
from bot.services.schedules import Content

N = 2000


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sticky-bench-") as tmp:
        pg = Playground(Path(tmp) / "bench.db")
        await pg.start()
        try:
            return await _run(pg)
        finally:
            await pg.stop()


async def _per_update(pg: Playground, chat, people, reply_to) -> float:
    """Median seconds per reply update through the Application (inbox, middleware, rules, counters, topics)."""
    times = []
    for i in range(N // 4):
        pg.clock.advance(seconds=30)  # a conversation: antiflood stays quiet
        pg.sim.send(people[i % len(people)], f"reply {i}", chat, reply_to=reply_to)
        updates = pg.sim.take_updates()
        start = time.perf_counter()
        await pg.deliver(updates)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def _run(pg: Playground) -> int:
    sim, s = pg.sim, pg.services
    owner = sim.user("owner")
    chat = sim.create_group("Bench", owner=owner)
    sim.add_bot(chat, by=owner)
    people = [sim.user(f"m{i}") for i in range(50)]
    for p in people:
        sim.join(chat, p)
    await pg.settle()
    other = sim.send(owner, "an ordinary message", chat)
    await pg.settle()
    await _per_update(pg, chat, people, other)  # warm-up: caches, first-seen members
    without = await _per_update(pg, chat, people, other)

    schedule = await s.schedules.create(chat.id, None, "daily 09:00 topic 7d".split(), Content(("Green or black?",)))
    from handlers.topics import run_topic
    from bot.context import BotContext
    await run_topic(BotContext(pg.app), schedule)
    topic = sim.replies(chat)[-1]
    with_topic = await _per_update(pg, chat, people, other)

    at = pg.clock.now()
    start = time.perf_counter()
    for i in range(N):
        await s.topics.reply(chat.id, people[i % 50].id, 10_000_000 + i, other["message_id"], at)
    lookup = (time.perf_counter() - start) / N
    start = time.perf_counter()
    for i in range(N):
        await s.topics.reply(chat.id, people[i % 50].id, 20_000_000 + i, topic["message_id"], at)
    to_topic = (time.perf_counter() - start) / N
    start = time.perf_counter()
    for i in range(N):
        await s.topics.reply(chat.id, people[(i + 1) % 50].id, 30_000_000 + i, 20_000_000 + i, at)
    to_reply = (time.perf_counter() - start) / N
    print(f"topic of the week on the per-message path ({N} calls each): a reply to anything else {lookup * 1e6:.1f} µs;"
          f" a reply to the topic {to_topic * 1e6:.0f} µs (a row, XP once per member); a reply to a reply {to_reply * 1e6:.0f} µs")
    print(f"a reply update end to end, median: {without * 1e3:.2f} ms without an open topic, {with_topic * 1e3:.2f} ms with one")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
