"""Drive updates through an Application the way production does, and time them.

Sticky: each batch is recorded in the inbox (as InboxRequest does for a getUpdates answer), then put on the
update queue; the application's own update loop hands it to the per-chat processor. Bare PTB: the same updates on
the update queue of a default Application (sequential) with trivial handlers. An update is done when the
processor (Sticky) or process_update (bare) finished it.
"""
from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ChatMemberHandler, MessageHandler, TypeHandler, filters

from bot.playground import Playground
from bot.sim import FakeTelegram, SimRequest

BATCH = 100  # what one getUpdates answer holds at most


class Tracker:
    """Arrival time per update id; completion turns it into a latency, per kind."""

    def __init__(self) -> None:
        self.arrival: dict[int, float] = {}
        self.kind: dict[int, str] = {}
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.finished = 0
        self._expected = 0
        self._all_done = asyncio.Event()

    def expect(self, count: int) -> None:
        self.finished, self._expected = 0, count
        self.latencies = defaultdict(list)
        self._all_done = asyncio.Event()
        if count == 0:
            self._all_done.set()

    def done(self, update_id: int) -> None:
        arrived = self.arrival.pop(update_id, None)
        if arrived is None:
            return
        self.latencies[self.kind.pop(update_id, "?")].append(time.perf_counter() - arrived)
        self.finished += 1
        if self.finished >= self._expected:
            self._all_done.set()

    async def wait(self, timeout: float = 600) -> None:
        await asyncio.wait_for(self._all_done.wait(), timeout)

    @property
    def in_flight(self) -> int:
        return len(self.arrival)


class Pipeline:
    app: Application
    tracker: Tracker

    async def feed(self, batch: Sequence[dict[str, Any]], arrivals: Sequence[float], kinds: Sequence[str]) -> None:
        for data, at, kind in zip(batch, arrivals, kinds):
            self.tracker.arrival[data["update_id"]] = at
            self.tracker.kind[data["update_id"]] = kind
        await self._record(batch)
        for data in batch:
            await self.app.update_queue.put(Update.de_json(data, self.app.bot))

    async def _record(self, batch: Sequence[dict[str, Any]]) -> None:
        return None


class StickyPipeline(Pipeline):
    def __init__(self, db_path: Path) -> None:
        self.pg = Playground(db_path)
        self.tracker = Tracker()

    @property
    def sim(self) -> FakeTelegram:
        return self.pg.sim

    async def start(self) -> None:
        await self.pg.start()
        self.app = self.pg.app
        processor = self.app.update_processor
        handled = processor.on_finished

        def finished(update: object) -> None:
            if handled is not None:
                handled(update)
            if isinstance(update, Update):
                self.tracker.done(update.update_id)

        processor.on_finished = finished

    async def _record(self, batch: Sequence[dict[str, Any]]) -> None:
        await self.pg.services.inbox.receive(list(batch))

    async def stop(self) -> None:
        await self.pg.stop()


class _TrackedApplication(Application):
    tracker: Tracker

    async def process_update(self, update: object) -> None:
        await super().process_update(update)
        if isinstance(update, Update):
            self.tracker.done(update.update_id)


async def _noop(update: object, context: object) -> None:
    return None


class BarePipeline(Pipeline):
    """python-telegram-bot as it comes: default Application, one trivial handler per kind of update."""

    def __init__(self, sim: FakeTelegram) -> None:
        self.tracker = Tracker()
        self.app = (
            ApplicationBuilder().application_class(_TrackedApplication).token(sim.token)
            .request(SimRequest(sim)).get_updates_request(SimRequest(sim)).build()
        )
        self.app.tracker = self.tracker
        self.app.add_handler(MessageHandler(filters.ALL, _noop))
        self.app.add_handler(ChatMemberHandler(_noop, ChatMemberHandler.CHAT_MEMBER))
        self.app.add_handler(TypeHandler(Update, _noop), group=1)

    async def start(self) -> None:
        await self.app.initialize()
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()
        await self.app.shutdown()


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def closed_loop(pipe: Pipeline, stream: Sequence[tuple[str, dict[str, Any]]], max_in_flight: int = 2000) -> float:
    """As fast as it goes: batches of 100 as a busy getUpdates would bring them. Returns the seconds it took."""
    pipe.tracker.expect(len(stream))
    start = time.perf_counter()
    for part in _chunks(stream, BATCH):
        while pipe.tracker.in_flight > max_in_flight:
            await asyncio.sleep(0.001)
        now = time.perf_counter()
        await pipe.feed([u for _, u in part], [now] * len(part), [k for k, _ in part])
    await pipe.tracker.wait()
    return time.perf_counter() - start


async def one_at_a_time(pipe: Pipeline, stream: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, list[float]]:
    """Each update alone (the next once the last is done): what one update of each kind costs, without queueing."""
    out: dict[str, list[float]] = defaultdict(list)
    for kind, update in stream:
        pipe.tracker.expect(1)
        await pipe.feed([update], [time.perf_counter()], [kind])
        await pipe.tracker.wait()
        out[kind].extend(pipe.tracker.latencies[kind])
    return out


async def open_loop(pipe: Pipeline, stream: Sequence[tuple[str, dict[str, Any]]], rate: float) -> tuple[dict[str, list[float]], float]:
    """Arrivals scheduled by the clock at `rate` per second, whether or not the bot kept up (no coordinated
    omission): latency is counted from when an update was due to arrive. Returns latencies per kind and the
    rate actually delivered."""
    pipe.tracker.expect(len(stream))
    start = time.perf_counter() + 0.05
    sent = 0
    while sent < len(stream):
        now = time.perf_counter()
        due = min(len(stream), int((now - start) * rate) + 1)
        if due <= sent:
            await asyncio.sleep(start + sent / rate - now)
            continue
        upto = min(due, sent + BATCH)
        part = stream[sent:upto]
        await pipe.feed([u for _, u in part], [start + i / rate for i in range(sent, upto)], [k for k, _ in part])
        sent = upto
    await pipe.tracker.wait()
    elapsed = time.perf_counter() - start
    return dict(pipe.tracker.latencies), len(stream) / elapsed
