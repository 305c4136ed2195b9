"""Quizzes and native polls Sticky posted, and each member's first answer: the row exists (with its closing as
deferred work, in the same transaction) before the poll is sent, so a poll is never left open for good."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database, from_iso, iso
from storage.schedules import defer_in


@dataclass(frozen=True)
class PollRow:
    id: int
    chat_id: int
    schedule_id: int | None
    kind: str  # quiz | poll
    question: str
    options: tuple[str, ...]
    correct: int | None
    points: int
    first_n: int | None
    opened_at: datetime
    closes_at: datetime
    message_id: int | None
    tg_poll_id: str | None
    closed_at: datetime | None
    voters: int | None
    result_at: datetime | None


@dataclass(frozen=True)
class Answer:
    user_id: int
    option_ids: tuple[int, ...]
    correct: bool | None
    rank: int | None
    points: int


def _poll(row) -> PollRow:
    return PollRow(row["id"], row["chat_id"], row["schedule_id"], row["kind"], row["question"], tuple(json.loads(row["options"])),
                   row["correct"], row["points"], row["first_n"], from_iso(row["opened_at"]), from_iso(row["closes_at"]),
                   row["message_id"], row["tg_poll_id"], from_iso(row["closed_at"]), row["voters"], from_iso(row["result_at"]))


_COLUMNS = ("id, chat_id, schedule_id, kind, question, options, correct, points, first_n, opened_at, closes_at, message_id,"
            " tg_poll_id, closed_at, voters, result_at")


class PollRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, chat_id: int, schedule_id: int | None, kind: str, question: str, options: tuple[str, ...],
                   correct: int | None, points: int, first_n: int | None, now: datetime, closes_at: datetime) -> PollRow:
        """The poll's row and its closing (deferred work `poll_close` at closes_at), in one transaction."""
        async with self.db.transaction() as tx:
            async with tx.execute(
                f"INSERT INTO polls(chat_id, schedule_id, kind, question, options, correct, points, first_n, opened_at, closes_at)"
                f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (chat_id, schedule_id, kind, question, json.dumps(list(options), ensure_ascii=False), correct, points, first_n,
                 iso(now), iso(closes_at)),
            ) as cur:
                row = _poll(await cur.fetchone())
            await defer_in(tx, chat_id, "poll_close", {"poll": row.id}, closes_at, now)
        return row

    async def posted(self, poll_id: int, message_id: int, tg_poll_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE polls SET message_id = ?, tg_poll_id = ? WHERE id = ?", (message_id, tg_poll_id, poll_id))

    async def get(self, poll_id: int) -> PollRow | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM polls WHERE id = ?", (poll_id,))
        return None if row is None else _poll(row)

    async def by_telegram_id(self, tg_poll_id: str) -> PollRow | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM polls WHERE tg_poll_id = ?", (tg_poll_id,))
        return None if row is None else _poll(row)

    async def close(self, poll_id: int, now: datetime) -> PollRow | None:
        """Claim the closing: only the first caller gets the row (a poll that was never sent is closed as well)."""
        async with self.db.transaction() as tx:
            async with tx.execute(
                f"UPDATE polls SET closed_at = ? WHERE id = ? AND closed_at IS NULL RETURNING {_COLUMNS}", (iso(now), poll_id),
            ) as cur:
                row = await cur.fetchone()
        return None if row is None else _poll(row)

    async def set_voters(self, poll_id: int, voters: int | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE polls SET voters = ? WHERE id = ?", (voters, poll_id))

    async def claim_result(self, poll_id: int, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            cur = await tx.execute("UPDATE polls SET result_at = ? WHERE id = ? AND result_at IS NULL", (iso(now), poll_id))
            return cur.rowcount == 1

    @staticmethod
    async def right_before(tx: aiosqlite.Connection, poll_id: int) -> int:
        async with tx.execute("SELECT COUNT(*) FROM poll_answers WHERE poll_id = ? AND correct = 1", (poll_id,)) as cur:
            return (await cur.fetchone())[0]

    @staticmethod
    async def record_answer(tx: aiosqlite.Connection, poll_id: int, user_id: int, option_ids: list[int], correct: bool | None,
                            rank: int | None, points: int, now: datetime) -> bool:
        """A member's first answer; False (nothing written) if they had answered already."""
        cur = await tx.execute(
            "INSERT INTO poll_answers(poll_id, user_id, option_ids, correct, rank, points, at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(poll_id, user_id) DO NOTHING",
            (poll_id, user_id, json.dumps(option_ids), None if correct is None else int(correct), rank, points, iso(now)),
        )
        return cur.rowcount == 1

    async def answers(self, poll_id: int) -> list[Answer]:
        rows = await self.db.fetchall(
            "SELECT user_id, option_ids, correct, rank, points FROM poll_answers WHERE poll_id = ? ORDER BY at, rowid", (poll_id,))
        return [Answer(r[0], tuple(json.loads(r[1])), None if r[2] is None else bool(r[2]), r[3], r[4]) for r in rows]
