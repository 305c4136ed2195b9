"""The push log: every bot-initiated message, sent or not, with what happened to it (caps count 'sent' rows)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_iso, iso


@dataclass(frozen=True)
class PushEntry:
    id: int
    chat_id: int
    kind: str
    outcome: str
    detail: str | None
    at: datetime


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def log(self, chat_id: int, kind: str, outcome: str, detail: str | None, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO push_log(chat_id, kind, outcome, detail, at) VALUES (?, ?, ?, ?, ?)",
                (chat_id, kind, outcome, detail, iso(now)),
            )

    async def sent_since(self, chat_id: int, day_start: datetime, week_start: datetime, kinds: list[str]) -> tuple[int, int]:
        marks = ", ".join("?" for _ in kinds)
        row = await self.db.fetchone(
            f"SELECT COALESCE(SUM(CASE WHEN at >= ? THEN 1 ELSE 0 END), 0), COUNT(*) FROM push_log"
            f" WHERE chat_id = ? AND outcome = 'sent' AND at >= ? AND kind IN ({marks})",
            (iso(day_start), chat_id, iso(week_start), *kinds),
        )
        return row[0], row[1]

    async def recent(self, chat_id: int, limit: int = 20) -> list[PushEntry]:
        rows = await self.db.fetchall(
            "SELECT id, chat_id, kind, outcome, detail, at FROM push_log WHERE chat_id = ? ORDER BY id DESC LIMIT ?",
            (chat_id, limit),
        )
        return [PushEntry(r[0], r[1], r[2], r[3], r[4], from_iso(r[5])) for r in rows]
