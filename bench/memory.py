"""P4, in a process of its own: every member of the world chats (twice by default), through Sticky or bare PTB;
prints one JSON line with the peak RSS and what each pass cost. `python -m bench.memory sticky|bare G M PASSES`."""
from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench.load import BATCH, BarePipeline, StickyPipeline
from bench.world import World
from bot.app import tune_runtime
from bot.sim import FakeTelegram


def peak_rss_mb() -> float:
    """This process's own high-water mark. Not getrusage's ru_maxrss: Linux carries the forking parent's peak into
    a child across exec, so both processes reported the parent's (the bench itself, after P3) — 541 MB each."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: KiB on Linux, the best there is


async def chat_passes(pipe, world: World, passes: int, date: int) -> list[dict]:
    out = []
    for n in range(passes):
        pipe.tracker.expect(world.members)
        start = time.perf_counter()
        batch: list = []
        for update in world.everyone_chats(seed=100 + n, date=date + 120 * n):
            batch.append(update)
            if len(batch) == BATCH:
                while pipe.tracker.in_flight > 2000:
                    await asyncio.sleep(0.001)
                await pipe.feed(batch, [time.perf_counter()] * len(batch), ["chat"] * len(batch))
                batch = []
        if batch:
            await pipe.feed(batch, [time.perf_counter()] * len(batch), ["chat"] * len(batch))
        await pipe.tracker.wait()
        out.append({"updates": world.members, "seconds": time.perf_counter() - start})
    return out


async def main(which: str, groups: int, members: int, passes: int) -> dict:
    if which == "sticky":
        tune_runtime()  # as `python -m bot run` does; bare PTB keeps Python's default
    with tempfile.TemporaryDirectory(prefix="sticky-bench-mem-") as tmp:
        if which == "sticky":
            pipe = StickyPipeline(Path(tmp) / "bench.db")
            await pipe.start()
            sim = pipe.sim
        else:
            sim = FakeTelegram()
            pipe = BarePipeline(sim)
            await pipe.start()
        world = World.build(sim, groups, members // groups)
        if which == "sticky":
            await pipe.pg.settle()
        else:
            sim.take_updates()
        date = int(sim.clock.now().timestamp())
        if which == "sticky":
            pipe.pg.services.db.holds.reset()
        result: dict = {"which": which, "members": world.members, "passes": await chat_passes(pipe, world, passes, date)}
        if which == "sticky":
            s = pipe.pg.services
            members_pending = s.points.pending_members
            result["longest_hold_while_chatting"] = s.db.holds.longest
            result["longest_hold_while_chatting_by"] = s.db.holds.longest_by
            result["holds_by_kind_while_chatting"] = s.db.holds.kinds()
            s.db.holds.reset()
            start = time.perf_counter()
            await s.activity.flush()
            await s.points.flush_chat_xp()
            result["flush"] = {"members": members_pending, "seconds": time.perf_counter() - start,
                               "longest_hold": s.db.holds.longest, "longest_hold_by": s.db.holds.longest_by,
                               "transactions": s.db.holds.count}
        result["peak_rss_mb"] = peak_rss_mb()
        await pipe.stop()
    return result


if __name__ == "__main__":
    which, groups, members, passes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(main(which, groups, members, passes))))
