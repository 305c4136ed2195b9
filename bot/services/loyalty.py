"""Use-cases of the loyalty ladder: place every member (read once, decide in bot.domain.loyalty, write once), keep
the weekly snapshot that says who moved, and explain one member's placement."""
from __future__ import annotations

import asyncio
import gc
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import loyalty as ld
from bot.domain.stats import week_start, window
from bot.services.groups import GroupService
from storage.loyalty import LoyaltyRepo


@dataclass(frozen=True)
class LoyaltyView:
    counts: dict[str, int]
    movers: list[tuple[int, str, str]]  # (user, from, to) since the week began
    placed_new: int  # members placed for the first time this week
    # Only for the members asked about (refresh's `explain`): a large group's 100,000 of each are not kept past the look.
    placements: dict[int, ld.Placement]
    states: dict[int, ld.State]
    signals: dict[int, ld.Signals]


_paused = [0]  # looks running with the garbage collector paused (see _collector_paused)


@contextmanager
def _collector_paused():
    """The cyclic garbage collector off while a look runs. A 100,000-member look holds some 400,000 objects (each
    member's signals, placement and states, twice at a week's first look): every full collection meanwhile walked them
    all holding the GIL — 50-400 ms each, a dozen times a look, the event loop stopped each time. They hold no cycles
    and are freed by their reference counts as the look ends (the view keeps only the members asked about), so the
    collector has nothing to find in them; what other coroutines leave meanwhile waits the few seconds."""
    if _paused[0] == 0 and not gc.isenabled():  # someone else turned it off: leave it to them
        yield
        return
    if _paused[0] == 0:
        gc.disable()
    _paused[0] += 1
    try:
        yield
    finally:
        _paused[0] -= 1
        if _paused[0] == 0:
            gc.enable()


class LoyaltyService:
    def __init__(self, repo: LoyaltyRepo, groups: GroupService, thresholds: ld.Thresholds) -> None:
        self.repo = repo
        self.groups = groups
        self.thresholds = thresholds
        self._locks: dict[int, asyncio.Lock] = {}  # per group: one look at a time

    async def snapshot(self, chat_id: int, week: date) -> dict[int, str] | None:
        """Every member's segment as `week` (a Monday, group time) began; None if nobody looked from that week on."""
        return await self.repo.snapshot(chat_id, week)

    async def segments(self, chat_id: int, at: datetime, users: tuple[int, int] | None = None) -> dict[int, str]:
        """Each placed member's segment as /loyalty would show it at `at` (upgrades at once, downgrades after the
        grace) — with `users` (first, last), of the members whose ids are in that range — and nothing stored: not a
        look of /loyalty's (no snapshot, no grace started), so who moved is unchanged. /export's segment column."""
        t = self.thresholds
        tz = (await self.groups.settings(chat_id)).timezone
        today = at.astimezone(ZoneInfo(tz)).date()
        signals = await self.repo.signals(chat_id, *window(today, t.window_days), tz, users)
        states = await self.repo.states(chat_id, users)
        _placements, settled = await asyncio.to_thread(_settled, t, states, signals, today)
        return {u: st.segment for u, st in settled.items()}

    async def refresh(self, chat_id: int, at: datetime, explain: tuple[int, ...] = ()) -> LoyaltyView:
        """Place every member now (and, at the week's first look, as the week began), write what changed. One at a
        time per group: a second /loyalty (or the weekly report) meanwhile waits for the first and then finds nothing
        left to write. The reads assemble on the reader's thread and the placing runs on a worker thread, so a large
        group's 100,000 members are never walked on the event loop."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            with _collector_paused():
                return await self._refresh(chat_id, at, explain)

    async def _refresh(self, chat_id: int, at: datetime, explain: tuple[int, ...]) -> LoyaltyView:
        t = self.thresholds
        tz = (await self.groups.settings(chat_id)).timezone
        today = at.astimezone(ZoneInfo(tz)).date()
        week = week_start(today)
        states = await self.repo.states(chat_id)
        snapshot = await self.repo.snapshot(chat_id, week)
        taking = snapshot is None
        # The week's snapshot is pinned to its start (Monday 00:00, group time), whenever its first look comes: the
        # members there by the Sunday, placed on the numbers up to that Sunday and settled from what was stored
        # before (every stored state predates this week: none of its looks was saved yet). So the weekly report
        # compares two week starts, whatever weekday it runs on, and a /loyalty mid-week changes nothing.
        eve = week - timedelta(days=1)
        then = await self.repo.signals(chat_id, *window(eve, t.window_days), tz) if taking else None
        signals = await self.repo.signals(chat_id, *window(today, t.window_days), tz)
        look = await asyncio.to_thread(_look, t, states, snapshot, then, eve, signals, today, explain)
        await self.repo.save(chat_id, look.changed, look.gone, week, look.snapshot if taking else None)
        return look.view


@dataclass(frozen=True)
class _Look:
    view: LoyaltyView
    snapshot: dict[int, str]  # the week's, as it began
    changed: dict[int, ld.State]  # the states to write: those that differ from what was stored
    gone: list[int]  # stored, no longer placed (left, or an admin now)


def _look(t: ld.Thresholds, states: dict[int, ld.State], snapshot: dict[int, str] | None,
          then: dict[int, ld.Signals] | None, eve: date, signals: dict[int, ld.Signals], today: date,
          explain: tuple[int, ...]) -> _Look:
    """The pure part of a look (bot.domain.loyalty), on a worker thread, so that no walk over a large group's members
    runs on the event loop: everyone as the week began (when `then`, its signals, is given: the week's snapshot is
    taken), then now, settled from there; what changed; who moved since the week began — a member who was not there
    as it began (joined during the week) is new, not a mover."""
    base = states
    if then is not None:
        pinned = {u: ld.settle(states.get(u), ld.place(s, t).segment, eve, t.grace_days) for u, s in then.items()}
        snapshot = {u: s.segment for u, s in pinned.items()}
        base = {**states, **pinned}
    placements, settled = _settled(t, base, signals, today)
    now = {u: s.segment for u, s in settled.items()}
    moved = [(u, a, b) for u, a, b in ld.movers(snapshot, now) if a is not None]
    view = LoyaltyView(ld.pyramid(now), moved, sum(1 for u in now if u not in snapshot),
                       *({u: d[u] for u in explain if u in d} for d in (placements, settled, signals)))
    return _Look(view, snapshot, {u: st for u, st in settled.items() if states.get(u) != st},
                 [u for u in states if u not in signals])


def _settled(t: ld.Thresholds, base: dict[int, ld.State], signals: dict[int, ld.Signals],
             today: date) -> tuple[dict[int, ld.Placement], dict[int, ld.State]]:
    """Everyone placed on their signals, then settled from their stored state (upgrades at once, downgrades after
    the grace): what /loyalty shows and /export's segment column."""
    placements = {u: ld.place(s, t) for u, s in signals.items()}
    return placements, {u: ld.settle(base.get(u), p.segment, today, t.grace_days) for u, p in placements.items()}
