"""Newcomer spotlight (the seeds' "new high-quality user": very active in the first day, act within 24 h): a member
who sends `spotlight_messages` messages within `stats.spotlight_hours` of joining is flagged to the admins once and,
where the group set `spotlight_bonus`, gets that many points once (ledger reason `spotlight`). Only members who joined
within the window are watched, in memory keyed by chat, so any other message costs one dict lookup."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import StatsConfig
from bot.domain.points import Reason
from bot.services.activity import follow_moves
from bot.services.groups import GroupService
from storage.db import Database, iso
from storage.ledger import post


@dataclass(frozen=True)
class Spotlight:
    chat_id: int
    user_id: int
    messages: int
    hours: int
    bonus: int  # points given (0: the group gives none)


class SpotlightService:
    def __init__(self, db: Database, groups: GroupService, config: StatsConfig, clock: Clock) -> None:
        self.db, self.groups, self.clock = db, groups, clock
        self.window = timedelta(hours=config.spotlight_hours)
        self._watch: dict[tuple[int, int], list] = {}  # (chat, user) -> [joined at, messages since]

    def joined(self, chat_id: int, user_id: int, at: datetime) -> None:
        self._watch[(chat_id, user_id)] = [at, 0]

    def message(self, chat_id: int, user_id: int, at: datetime, threshold: int) -> bool:
        """Count a newcomer's message (judged by its own time); True the moment they reach `threshold` (0: off)."""
        watched = self._watch.get((chat_id, user_id))
        if watched is None:
            return False
        if threshold <= 0 or at - watched[0] > self.window:
            del self._watch[(chat_id, user_id)]
            return False
        watched[1] += 1
        return watched[1] >= threshold

    def move_chat(self, old: int, new: int) -> None:
        follow_moves({old: new}, (self._watch, lambda a, b: a))

    async def flag(self, chat_id: int, user_id: int) -> Spotlight | None:
        """Record the spotlight and the group's bonus in one transaction; None if this member was flagged before
        (in this group, ever: a member who leaves and comes back is not new again)."""
        joined_at, messages = self._watch.pop((chat_id, user_id), (None, 0))
        if joined_at is None:
            return None
        if await self.db.fetchval("SELECT tg_role FROM members WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)):
            return None  # an admin is not a newcomer the admins need to hear about
        bonus = (await self.groups.settings(chat_id)).spotlight_bonus
        now = self.clock.now()
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO spotlights(chat_id, user_id, joined_at, messages, bonus, at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING", (chat_id, user_id, iso(joined_at), messages, bonus, iso(now)))
            if cursor.rowcount == 0:
                return None
            if bonus:
                await post(tx, chat_id, user_id, bonus, "points", Reason.SPOTLIGHT, "spotlight", now)
        return Spotlight(chat_id, user_id, messages, int(self.window.total_seconds() // 3600), bonus)

    async def load(self) -> int:
        """At start: members who joined within the window and were not flagged are watched again, their messages
        since the join's local day counted from what the counters wrote (what was in memory at a crash is not)."""
        since = self.clock.now() - self.window
        rows = await self.db.fetchall(
            "SELECT m.chat_id, m.user_id, m.joined_at FROM members m JOIN users u ON u.user_id = m.user_id"
            " WHERE m.joined_at >= ? AND u.is_bot = 0 AND m.status IN ('member', 'restricted')"
            " AND NOT EXISTS (SELECT 1 FROM spotlights s WHERE s.chat_id = m.chat_id AND s.user_id = m.user_id)",
            (iso(since),))
        for chat_id, user_id, joined_at in rows:
            at = datetime.fromisoformat(joined_at)
            day = at.astimezone(ZoneInfo((await self.groups.settings(chat_id)).timezone)).date()
            counted = await self.db.fetchval(
                "SELECT COALESCE(SUM(messages), 0) FROM activity_daily WHERE chat_id = ? AND user_id = ? AND day >= ?",
                (chat_id, user_id, day.isoformat()))
            self._watch[(chat_id, user_id)] = [at, counted]
        return len(rows)
