"""Use-cases of the loyalty ladder: place every member (read once, decide in bot.domain.loyalty, write once), keep
the weekly snapshot that says who moved, and explain one member's placement."""
from __future__ import annotations

import asyncio
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
    placements: dict[int, ld.Placement]
    states: dict[int, ld.State]
    signals: dict[int, ld.Signals]


class LoyaltyService:
    def __init__(self, repo: LoyaltyRepo, groups: GroupService, thresholds: ld.Thresholds) -> None:
        self.repo = repo
        self.groups = groups
        self.thresholds = thresholds
        self._locks: dict[int, asyncio.Lock] = {}  # per group: one look at a time

    async def snapshot(self, chat_id: int, week: date) -> dict[int, str] | None:
        """Every member's segment as `week` (a Monday, group time) began; None if nobody looked from that week on."""
        return await self.repo.snapshot(chat_id, week)

    async def refresh(self, chat_id: int, at: datetime) -> LoyaltyView:
        """Place every member now (and, at the week's first look, as the week began), write what changed. One at a
        time per group: a second /loyalty (or the weekly report) meanwhile waits for the first and then finds nothing
        left to write. The reads assemble on the reader's thread and the placing runs on a worker thread, so a large
        group's 100,000 members are never walked on the event loop."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            return await self._refresh(chat_id, at)

    async def _refresh(self, chat_id: int, at: datetime) -> LoyaltyView:
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
        pinned, placements, settled = await asyncio.to_thread(_place_all, t, states, then, eve, signals, today)
        if taking:
            snapshot = {u: s.segment for u, s in pinned.items()}
        now = {u: s.segment for u, s in settled.items()}
        await self.repo.save(chat_id, settled, [u for u in states if u not in signals], week,
                             snapshot if taking else None, before=states)
        # Who moved since the week began; a member who was not there as it began (joined during the week) is new,
        # not a mover.
        moved = [(u, a, b) for u, a, b in ld.movers(snapshot, now) if a is not None]
        return LoyaltyView(ld.pyramid(now), moved, sum(1 for u in now if u not in snapshot), placements, settled, signals)


def _place_all(t: ld.Thresholds, states: dict[int, ld.State], then: dict[int, ld.Signals] | None, eve: date,
               signals: dict[int, ld.Signals], today: date):
    """The pure part of a look (bot.domain.loyalty), on a worker thread: everyone as the week began (when `then`,
    its signals, is given), then now, settled from there."""
    pinned: dict[int, ld.State] = {}
    base = states
    if then is not None:
        pinned = {u: ld.settle(states.get(u), ld.place(s, t).segment, eve, t.grace_days) for u, s in then.items()}
        base = {**states, **pinned}
    placements = {u: ld.place(s, t) for u, s in signals.items()}
    settled = {u: ld.settle(base.get(u), p.segment, today, t.grace_days) for u, p in placements.items()}
    return pinned, placements, settled
