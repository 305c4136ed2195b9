"""Private-chat connections: which group a person manages from their private chat with Sticky (one at a time),
and the groups someone is in, for "which group?" in private chat."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, iso


@dataclass(frozen=True)
class GroupOf:
    """A group as a person sees it from private chat: its id, title and their Telegram role there (as we stored it)."""

    chat_id: int
    title: str
    tg_role: str | None


class ConnectionRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: int) -> int | None:
        """The group `user_id` is connected to, if it is still one Sticky serves."""
        return await self.db.fetchval(
            "SELECT c.chat_id FROM connections c JOIN groups g ON g.chat_id = c.chat_id WHERE c.user_id = ? AND g.active = 1",
            (user_id,),
        )

    async def connect(self, user_id: int, chat_id: int, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO connections(user_id, chat_id, connected_at) VALUES (?, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET chat_id = excluded.chat_id, connected_at = excluded.connected_at",
                (user_id, chat_id, iso(now)),
            )

    async def disconnect(self, user_id: int, chat_id: int | None = None) -> bool:
        """Ends the connection (only if it is to `chat_id`, when given). True if there was one."""
        async with self.db.transaction() as tx:
            if chat_id is None:
                cur = await tx.execute("DELETE FROM connections WHERE user_id = ?", (user_id,))
            else:
                cur = await tx.execute("DELETE FROM connections WHERE user_id = ? AND chat_id = ?", (user_id, chat_id))
            return cur.rowcount > 0

    async def groups_of(self, user_id: int) -> list[GroupOf]:
        """The active groups `user_id` is in (as last seen), by title."""
        rows = await self.db.fetchall(
            "SELECT g.chat_id, g.title, m.tg_role FROM members m JOIN groups g ON g.chat_id = m.chat_id"
            " WHERE m.user_id = ? AND g.active = 1 AND m.status IN ('member', 'administrator', 'creator', 'restricted')"
            " ORDER BY g.title COLLATE NOCASE, g.chat_id",
            (user_id,),
        )
        return [GroupOf(r["chat_id"], r["title"], r["tg_role"]) for r in rows]

    async def ask(self, user_id: int, command: str, args: str, now: datetime, forget_before: datetime) -> int:
        """Keep a which-group question's command and arguments (too long for its buttons); its id names it in them.
        Questions asked before `forget_before` are forgotten in the same transaction."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM pick_questions WHERE asked_at < ?", (iso(forget_before),))
            async with tx.execute(
                "INSERT INTO pick_questions(user_id, command, args, asked_at) VALUES (?, ?, ?, ?) RETURNING id",
                (user_id, command, args, iso(now)),
            ) as cur:
                return (await cur.fetchone())[0]

    async def asked(self, question_id: int, user_id: int, since: datetime) -> tuple[str, str] | None:
        """(command, arguments) of `user_id`'s question `question_id`, if it was asked since `since`."""
        row = await self.db.fetchone(
            "SELECT command, args FROM pick_questions WHERE id = ? AND user_id = ? AND asked_at >= ?",
            (question_id, user_id, iso(since)),
        )
        return None if row is None else (row["command"], row["args"])
