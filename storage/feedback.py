"""Suggestions from the feedback box, one vote per member each, and the admin's decision."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database, from_iso, iso


@dataclass(frozen=True)
class Suggestion:
    id: int
    chat_id: int
    user_id: int
    text: str
    status: str
    points: int
    reason: str | None
    created_at: datetime
    votes: int


_SELECT = ("SELECT f.id, f.chat_id, f.user_id, f.text, f.status, f.points, f.reason, f.created_at,"
           " (SELECT COUNT(*) FROM feedback_votes v WHERE v.feedback_id = f.id) AS votes FROM feedback f")


def _row(r) -> Suggestion:
    return Suggestion(r[0], r[1], r[2], r[3], r[4], r[5], r[6], from_iso(r[7]), r[8])


class FeedbackRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, chat_id: int, user_id: int, text: str, now: datetime) -> int:
        async with self.db.transaction() as tx:
            async with tx.execute(
                "INSERT INTO feedback(chat_id, user_id, text, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                (chat_id, user_id, text, iso(now)),
            ) as cur:
                return (await cur.fetchone())[0]

    async def get(self, chat_id: int, feedback_id: int) -> Suggestion | None:
        row = await self.db.fetchone(_SELECT + " WHERE f.id = ? AND f.chat_id = ?", (feedback_id, chat_id))
        return None if row is None else _row(row)

    async def of_chat(self, chat_id: int, status: str | None, limit: int = 20) -> list[Suggestion]:
        where, params = " WHERE f.chat_id = ?", [chat_id]
        if status is not None:
            where, params = where + " AND f.status = ?", [chat_id, status]
        rows = await self.db.fetchall(_SELECT + where + " ORDER BY votes DESC, f.id DESC LIMIT ?", (*params, limit))
        return [_row(r) for r in rows]

    async def vote(self, feedback_id: int, user_id: int, now: datetime) -> bool:
        """One vote per member and suggestion: the primary key says so."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO feedback_votes(feedback_id, user_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (feedback_id, user_id, iso(now)),
            )
            return cur.rowcount == 1

    @staticmethod
    async def decide(tx: aiosqlite.Connection, chat_id: int, feedback_id: int, status: str, points: int, reason: str | None,
                     actor_id: int | None, now: datetime) -> int | None:
        """Inside the caller's transaction: open → accepted/rejected, once. Returns the author, None if not open."""
        async with tx.execute(
            "UPDATE feedback SET status = ?, points = ?, reason = ?, decided_by = ?, decided_at = ?"
            " WHERE id = ? AND chat_id = ? AND status = 'open' RETURNING user_id",
            (status, points, reason, actor_id, iso(now), feedback_id, chat_id),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else row[0]

    @staticmethod
    async def accepted_count(tx: aiosqlite.Connection, chat_id: int, user_id: int) -> int:
        async with tx.execute(
            "SELECT COUNT(*) FROM feedback WHERE chat_id = ? AND user_id = ? AND status = 'accepted'", (chat_id, user_id)
        ) as cur:
            return (await cur.fetchone())[0]
