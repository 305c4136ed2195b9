"""Rows for /export, read in pages by key (never the whole table in memory): members with their wallet, the
ledger and referrals. The daily stats are /stats' own (storage.stats.StatsRepo.days)."""
from __future__ import annotations

from collections.abc import AsyncIterator

from storage.db import Database

PAGE = 5000


class ExportRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _pages(self, sql: str, chat_id: int, page: int, key: int = 0) -> AsyncIterator[list]:
        """`sql` takes (chat_id, last key, limit) and returns the key as its first column, in key order."""
        last = None
        while True:
            rows = await self.db.fetchall(sql, (chat_id, last if last is not None else -(2**63), page))
            if not rows:
                return
            yield rows
            last = rows[-1][key]
            if len(rows) < page:
                return

    def members(self, chat_id: int, page: int = PAGE) -> AsyncIterator[list]:
        return self._pages(
            "SELECT m.user_id, u.username, u.first_name, u.last_name, m.status, m.tg_role, m.community_role,"
            " COALESCE(w.points, 0) AS points, COALESCE(w.xp, 0) AS xp, m.first_seen_at, m.joined_at, m.left_at"
            " FROM members m JOIN users u ON u.user_id = m.user_id"
            " LEFT JOIN wallets w ON w.chat_id = m.chat_id AND w.user_id = m.user_id"
            " WHERE m.chat_id = ? AND m.user_id > ? AND u.is_bot = 0 ORDER BY m.user_id LIMIT ?", chat_id, page)

    def ledger(self, chat_id: int, page: int = PAGE) -> AsyncIterator[list]:
        return self._pages(
            "SELECT id, at, user_id, currency, amount, reason, ref, actor_id, note FROM ledger"
            " WHERE chat_id = ? AND id > ? ORDER BY id LIMIT ?", chat_id, page)

    def referrals(self, chat_id: int, page: int = PAGE) -> AsyncIterator[list]:
        return self._pages(
            "SELECT id, inviter_id, invitee_id, via, status, reason, joined_at, screened_at, confirmed_at, left_at, messages"
            " FROM referrals WHERE chat_id = ? AND id > ? ORDER BY id LIMIT ?", chat_id, page)
