"""Use-cases of the loyalty ladder: place every member (read once, decide in bot.domain.loyalty, write once), keep
the weekly snapshot that says who moved, and explain one member's placement."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
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

    async def snapshot(self, chat_id: int, week: date) -> dict[int, str] | None:
        """Every member's segment as `week` (a Monday) began; None if no one looked that week."""
        return await self.repo.snapshot(chat_id, week)

    async def refresh(self, chat_id: int, at: datetime) -> LoyaltyView:
        t = self.thresholds
        tz = (await self.groups.settings(chat_id)).timezone
        today = at.astimezone(ZoneInfo(tz)).date()
        signals = await self.repo.signals(chat_id, *window(today, t.window_days), tz)
        states = await self.repo.states(chat_id)
        week = week_start(today)
        snapshot = await self.repo.snapshot(chat_id, week)
        taking = snapshot is None
        placements = {u: ld.place(s, t) for u, s in signals.items()}
        settled = {u: ld.settle(states.get(u), p.segment, today, t.grace_days) for u, p in placements.items()}
        now = {u: s.segment for u, s in settled.items()}
        # The week's snapshot is where everyone stands at its first look (the weekly report's, when it is on): what
        # the report a week later compares with. That first look itself shows the moves since the look before it.
        await self.repo.save(chat_id, settled, [u for u in states if u not in signals], week, now if taking else None)
        before = {u: s.segment for u, s in states.items()} if taking else snapshot
        moved = [(u, a, b) for u, a, b in ld.movers(before, now) if a is not None]
        return LoyaltyView(ld.pyramid(now), moved, sum(1 for u in now if u not in before), placements, settled, signals)
