"""Per-member daily message counts and per-hour group counters, written in batches by the activity buffer (never a
commit per message)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

from storage.db import CommitRows, Database, execute_values, iso


# Each statement is one multi-row VALUES (execute_values): a statement per row waited for the GIL at every step
# while the event loop was busy. The rows of one statement are one per key (the buffer sums them first).
def _counts(rows: list[tuple]) -> CommitRows:
    """(chat_id, user_id, local day, messages, replies) added to the member's day."""
    return CommitRows("INSERT INTO activity_daily(chat_id, user_id, day, messages, replies)", "(?, ?, ?, ?, ?)", rows,
                      "ON CONFLICT(chat_id, user_id, day) DO UPDATE SET messages = messages + excluded.messages,"
                      " replies = replies + excluded.replies")


def _last_seen(rows: list[tuple]) -> CommitRows:
    """(at, chat_id, user_id): the member's last message, never moved back."""
    return CommitRows("UPDATE members SET last_seen_at = MAX(COALESCE(members.last_seen_at, ''), s.column1) FROM (",
                      "(?, ?, ?)", rows, ") AS s WHERE members.chat_id = s.column2 AND members.user_id = s.column3")


def _hourly(rows: list[tuple]) -> CommitRows:
    """(chat_id, metric, local day, local hour, n) added to the group's hour."""
    return CommitRows("INSERT INTO stats_hourly(chat_id, metric, day, hour, n)", "(?, ?, ?, ?, ?)", rows,
                      "ON CONFLICT(chat_id, metric, day, hour) DO UPDATE SET n = stats_hourly.n + excluded.n")


def _add_counts(conn: sqlite3.Connection, counts: list[tuple], last_seen: list[tuple], hourly: list[tuple]) -> None:
    for part in (_counts(counts), _last_seen(last_seen), _hourly(hourly)):
        execute_values(conn, part.head, part.row, part.rows, part.tail)


def rows_with_marks(counts: list[tuple[int, int, str, int, int]], last_seen: list[tuple[int, int, datetime]],
                    hourly: list[tuple[int, str, str, int, int]]) -> list[CommitRows]:
    """The same writes as rows that ride with another commit (the one marking the counted updates handled)."""
    return [_counts(counts), _last_seen([(iso(at), c, u) for c, u, at in last_seen]), _hourly(hourly)]


class ActivityRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_counts(
        self, counts: Iterable[tuple[int, int, str, int, int]], last_seen: Iterable[tuple[int, int, datetime]],
        hourly: Iterable[tuple[int, str, str, int, int]] = (),
    ) -> None:
        """counts: (chat_id, user_id, local day, messages, replies to others); hourly: (chat_id, metric, local day, local hour, n).
        One transaction for the whole batch, in one hop to the writer's thread."""
        await self.db.write(_add_counts, list(counts), [(iso(at), chat_id, user_id) for chat_id, user_id, at in last_seen], list(hourly))

    async def messages(self, chat_id: int, user_id: int | None = None) -> int:
        if user_id is None:
            return await self.db.fetchval("SELECT COALESCE(SUM(messages), 0) FROM activity_daily WHERE chat_id = ?", (chat_id,))
        return await self.db.fetchval(
            "SELECT COALESCE(SUM(messages), 0) FROM activity_daily WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )
