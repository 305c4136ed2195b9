"""The push log: every bot-initiated message, sent or not, with what happened to it (caps count 'sent' rows)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_iso, iso
from storage.schedules import settle_in

# What may have reached the group: counted toward the caps ('sending' is a send under way, 'lost' one cut off by a
# crash — it may be in the group, so it counts, and the cap is never passed).
COUNTED = ("sent", "sending", "lost")


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

    async def log(self, chat_id: int, kind: str, outcome: str, detail: str | None, now: datetime,
                  settles: tuple[str, int] | None = None, also=None) -> int:
        """One row; `settles`: the claimed run ('schedule' or 'deferred', id) this is the first outbox step of — it
        is marked as having reached the outbox in the same transaction (see storage.schedules.settle_in). `also`:
        a feature's own write, also(tx), in the same transaction (an error from it writes nothing)."""
        async with self.db.transaction() as tx:
            if also is not None:
                await also(tx)
            async with tx.execute(
                "INSERT INTO push_log(chat_id, kind, outcome, detail, at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                (chat_id, kind, outcome, detail, iso(now)),
            ) as cur:
                row_id = (await cur.fetchone())[0]
            if settles is not None:
                await settle_in(tx, settles[0], settles[1], now)
        return row_id

    async def finish(self, row_id: int, outcome: str, detail: str | None, also=None):
        """A 'sending' row's outcome, once Telegram answered. `also`: a feature's own write, also(tx), in the same
        transaction (the outbox's after-sent hooks); what it returns is returned."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE push_log SET outcome = ?, detail = ? WHERE id = ?", (outcome, detail, row_id))
            return None if also is None else await also(tx)

    async def recover(self) -> int:
        """At start: sends a crash cut off (no answer recorded) become 'lost' — never sent again, shown in /pushlog."""
        async with self.db.transaction() as tx:
            cur = await tx.execute("UPDATE push_log SET outcome = 'lost' WHERE outcome = 'sending'")
            return cur.rowcount

    async def sent_since(self, chat_id: int, day_start: datetime, week_start: datetime, kinds: list[str]) -> tuple[int, int]:
        marks = ", ".join("?" for _ in kinds)
        row = await self.db.fetchone(
            f"SELECT COALESCE(SUM(CASE WHEN at >= ? THEN 1 ELSE 0 END), 0), COUNT(*) FROM push_log"
            f" WHERE chat_id = ? AND outcome IN {COUNTED} AND at >= ? AND kind IN ({marks})",
            (iso(day_start), chat_id, iso(week_start), *kinds),
        )
        return row[0], row[1]

    async def recent(self, chat_id: int, limit: int = 20) -> list[PushEntry]:
        rows = await self.db.fetchall(
            "SELECT id, chat_id, kind, outcome, detail, at FROM push_log WHERE chat_id = ? ORDER BY id DESC LIMIT ?",
            (chat_id, limit),
        )
        return [PushEntry(r[0], r[1], r[2], r[3], r[4], from_iso(r[5])) for r in rows]
