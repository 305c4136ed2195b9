"""NPS surveys and their answers: one open survey per group, one answer per member per survey (changeable)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_iso, iso


@dataclass(frozen=True)
class Survey:
    id: int
    chat_id: int
    message_id: int | None
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None

    def open_at(self, now: datetime) -> bool:
        return self.closed_at is None and now < self.closes_at


def _survey(row) -> Survey:
    return Survey(row["id"], row["chat_id"], row["message_id"], from_iso(row["opened_at"]), from_iso(row["closes_at"]),
                  from_iso(row["closed_at"]))


class NpsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def latest(self, chat_id: int, limit: int = 2) -> list[Survey]:
        rows = await self.db.fetchall(
            "SELECT * FROM nps_surveys WHERE chat_id = ? ORDER BY opened_at DESC, id DESC LIMIT ?", (chat_id, limit))
        return [_survey(r) for r in rows]

    async def get(self, survey_id: int) -> Survey | None:
        row = await self.db.fetchone("SELECT * FROM nps_surveys WHERE id = ?", (survey_id,))
        return None if row is None else _survey(row)

    @staticmethod
    async def open_in(tx, chat_id: int, by: int | None, now: datetime, closes_at: datetime) -> Survey | None:
        """A new survey, unless one is still open (then None); in the caller's transaction (/nps open's own, or the
        outbox's first row for the survey's message)."""
        cur = await tx.execute(
            "SELECT 1 FROM nps_surveys WHERE chat_id = ? AND closed_at IS NULL AND closes_at > ?", (chat_id, iso(now)))
        if await cur.fetchone():
            return None
        cur = await tx.execute(
            "INSERT INTO nps_surveys(chat_id, opened_by, opened_at, closes_at) VALUES (?, ?, ?, ?) RETURNING *",
            (chat_id, by, iso(now), iso(closes_at)))
        return _survey(await cur.fetchone())

    async def set_message(self, survey_id: int, message_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE nps_surveys SET message_id = ? WHERE id = ?", (message_id, survey_id))

    async def discard(self, survey_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM nps_surveys WHERE id = ? AND message_id IS NULL AND NOT EXISTS"
                             " (SELECT 1 FROM nps_answers WHERE survey_id = ?)", (survey_id, survey_id))

    async def close(self, chat_id: int, now: datetime) -> Survey | None:
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE nps_surveys SET closed_at = ? WHERE chat_id = ? AND closed_at IS NULL AND closes_at > ? RETURNING *",
                (iso(now), chat_id, iso(now)))
            row = await cur.fetchone()
            return None if row is None else _survey(row)

    async def answer(self, survey_id: int, user_id: int, score: int, now: datetime) -> bool:
        """Record or change an answer while the survey is open; False if it is closed."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO nps_answers(survey_id, user_id, score, at)"
                " SELECT id, ?, ?, ? FROM nps_surveys WHERE id = ? AND closed_at IS NULL AND closes_at > ?"
                " ON CONFLICT(survey_id, user_id) DO UPDATE SET score = excluded.score, at = excluded.at",
                (user_id, score, iso(now), survey_id, iso(now)))
            return cur.rowcount > 0

    async def scores(self, survey_id: int) -> list[int]:
        return [r[0] for r in await self.db.fetchall("SELECT score FROM nps_answers WHERE survey_id = ?", (survey_id,))]

    async def latest_answers(self, chat_id: int) -> dict[int, int]:
        """Each member's most recent answer in this group, over all surveys."""
        rows = await self.db.fetchall(
            "SELECT a.user_id, a.score FROM nps_answers a JOIN nps_surveys s ON s.id = a.survey_id WHERE s.chat_id = ?"
            " ORDER BY a.at", (chat_id,))
        return {u: score for u, score in rows}
