"""Night mode's rows: a group's read-only hours, when its state is next looked at (claimed in the same UPDATE
that moves it on), and the permissions the group had before Sticky closed it — kept until they are restored."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_iso, iso


@dataclass(frozen=True)
class NightMode:
    chat_id: int
    hours: str
    next_change: datetime
    saved: dict[str, bool] | None  # the group's permissions before the night; None while it is open
    closed: bool  # Telegram confirmed the read-only permissions


_COLUMNS = "chat_id, hours, next_change, saved_permissions, closed"


def _row(r) -> NightMode:
    saved = None if r["saved_permissions"] is None else json.loads(r["saved_permissions"])
    return NightMode(r["chat_id"], r["hours"], from_iso(r["next_change"]), saved, bool(r["closed"]))


class NightModeRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def set(self, chat_id: int, hours: str, next_change: datetime, actor_id: int | None, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO night_modes(chat_id, hours, next_change, set_by, set_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(chat_id) DO UPDATE SET hours = excluded.hours, next_change = excluded.next_change,"
                " set_by = excluded.set_by, set_at = excluded.set_at",
                (chat_id, hours, iso(next_change), actor_id, iso(now)))

    async def get(self, chat_id: int) -> NightMode | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM night_modes WHERE chat_id = ?", (chat_id,))
        return None if row is None else _row(row)

    async def remove(self, chat_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM night_modes WHERE chat_id = ?", (chat_id,))

    async def due(self, now: datetime, limit: int = 500) -> list[NightMode]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM night_modes WHERE next_change <= ? ORDER BY next_change LIMIT ?", (iso(now), limit))
        return [_row(r) for r in rows]

    async def next_due(self) -> datetime | None:
        """When `due` next has a row to give (None: no group has night mode)."""
        return from_iso(await self.db.fetchval("SELECT MIN(next_change) FROM night_modes"))

    async def claim(self, chat_id: int, seen: datetime, next_change: datetime) -> bool:
        """Move the next look on, only from the value that was read: two ticks never act on one change twice."""
        async with self.db.transaction() as tx:
            cur = await tx.execute("UPDATE night_modes SET next_change = ? WHERE chat_id = ? AND next_change = ?",
                                   (iso(next_change), chat_id, iso(seen)))
            return cur.rowcount == 1

    async def retry_at(self, chat_id: int, at: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE night_modes SET next_change = MIN(next_change, ?) WHERE chat_id = ?", (iso(at), chat_id))

    async def save(self, chat_id: int, permissions: dict[str, bool] | None, closed: bool) -> None:
        """Written before Telegram is asked to close the group (so a crash right after still knows what to restore),
        cleared once the morning restored it."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE night_modes SET saved_permissions = ?, closed = ? WHERE chat_id = ?",
                             (None if permissions is None else json.dumps(permissions, sort_keys=True), int(closed), chat_id))
