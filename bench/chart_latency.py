"""Are other groups' updates delayed while /stats charts render? The real Application against the simulator: members
of other groups check in and chat, one update at a time (each timed from Telegram's send to Sticky's answer), first
with nothing else going on, then while several 90-day /stats charts are asked for without pause the way /stats asks
(StatsService.chart: drawn in the chart worker process, one at a time), and — to show what the measurement would
catch — while the same charts are drawn on the event loop itself. Measured, not asserted: the p50 / p99 of each phase are printed.

    python -m bench.chart_latency            # --updates N per phase, --charts N drawn at once
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

GROUPS = 5


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _chart_args(seed: int) -> tuple:
    from bot.texts import stats as texts, translator

    rng = random.Random(seed)
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(90)]
    return (days, [rng.randint(2000, 3000) for _ in days], [rng.randint(10_000, 30_000) for _ in days],
            [[rng.randint(0, 9000) for _ in range(24)] for _ in range(7)], texts.stats_labels(translator("en"), 90, 30))


async def run(updates: int = 60, charts_at_once: int = 4) -> dict[str, dict[str, float]]:
    from bot import charts
    from bot.playground import Playground

    with tempfile.TemporaryDirectory(prefix="sticky-chart-latency-") as tmp:
        async with Playground(Path(tmp) / "bench.db") as pg:
            sim = pg.sim
            groups = []
            for g in range(GROUPS):
                owner = sim.user(f"owner{g}")
                chat = sim.create_group(f"Group {g}", owner=owner)
                sim.add_bot(chat, by=owner)
                groups.append(chat)
            people = []
            for n in range(max(300, 3 * updates)):  # round-robin: nobody writes often enough to look like a flood
                user, chat = sim.user(f"m{n}"), groups[n % GROUPS]
                sim.join(chat, user)
                sim.send(user, "hello", chat)
                people.append((user, chat))
            await pg.settle()
            stats = pg.services.stats
            # matplotlib loaded before anything is timed: in the worker, and here for the on-the-loop phase.
            await stats.chart(0, ("warm",), functools.partial(charts.stats_chart, *_chart_args(0)))
            charts.stats_chart(*_chart_args(0))
            rendered = [0]

            async def off_loop(worker: int) -> None:  # as /stats draws: StatsService.chart, the chart worker
                for k in range(10**9):
                    await stats.chart(-worker - 1, ("bench", k), functools.partial(charts.stats_chart, *_chart_args(k)))
                    rendered[0] += 1

            async def on_loop(worker: int) -> None:  # what the measurement would show if drawing blocked the loop
                for k in range(10**9):
                    charts.stats_chart(*_chart_args(k))
                    rendered[0] += 1
                    await asyncio.sleep(0)

            results, sent = {}, 0
            # On the loop, one chart at a time and fewer updates: each await of an update lets a whole chart run.
            phases = (("no charts", None, 0, updates), (f"{charts_at_once} charts off the loop", off_loop, charts_at_once, updates),
                      ("1 chart on the loop", on_loop, 1, max(1, updates // 6)))
            for phase, (name, drawer, at_once, count) in enumerate(phases):
                rendered[0] = 0
                tasks = [asyncio.create_task(drawer(w)) for w in range(at_once)] if drawer else []
                await asyncio.sleep(0.05)
                latencies, started = [], time.perf_counter()
                i = 0
                # At least `count` updates, and (off the loop) for as long as it takes `at_once` × 2 charts to finish.
                while i < count or (drawer is off_loop and rendered[0] < 2 * at_once and i < 10 * count):
                    user, chat = people[sent % len(people)]
                    sent += 1
                    i += 1
                    begin = time.perf_counter()
                    sim.send(user, "/checkin" if i % 2 == 0 else "what a nice cup of tea", chat)
                    await pg.settle()
                    latencies.append((time.perf_counter() - begin) * 1e3)
                elapsed = time.perf_counter() - started
                for task in tasks:
                    task.cancel()
                for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                    if not isinstance(outcome, asyncio.CancelledError):
                        raise outcome
                await asyncio.sleep(0.5)  # threads still drawing finish before the next phase
                results[name] = {"updates": i, "p50_ms": _percentile(latencies, 0.5), "p99_ms": _percentile(latencies, 0.99),
                                 "mean_ms": statistics.fmean(latencies), "charts_per_s": rendered[0] / elapsed}
    return results


def main(argv: list[str] | None = None) -> int:
    import logging

    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "job missed" while the loop is blocked on purpose
    parser = argparse.ArgumentParser(prog="python -m bench.chart_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=60, help="updates timed per phase (default 60)")
    parser.add_argument("--charts", type=int, default=4, help="charts drawn at once (default 4)")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.updates, args.charts))
    for name, r in results.items():
        print(f"other groups' /checkin and chat, {name}: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
              f" (mean {r['mean_ms']:.1f} ms over {r['updates']} updates; {r['charts_per_s']:.1f} charts drawn a second meanwhile)")
    print(verdict(results, args.charts))
    return 0


TARGET_P99_MS = 20  # the benchmark's latency target (P2): charts being drawn must not push other groups past it


def verdict(results: dict[str, dict[str, float]], charts_at_once: int) -> str:
    """Whether other groups were delayed while charts were drawn as /stats draws them: their p99 with the charts off
    the loop within the latency target, and how far it moved from the p99 with no charts."""
    alone, busy = results["no charts"], results[f"{charts_at_once} charts off the loop"]
    met = "met" if busy["p99_ms"] < TARGET_P99_MS else "NOT met"
    return (f"other groups while {charts_at_once} charts are drawn: p99 {busy['p99_ms']:.1f} ms against"
            f" {alone['p99_ms']:.1f} ms with none (target < {TARGET_P99_MS} ms: {met})")


if __name__ == "__main__":
    sys.exit(main())
