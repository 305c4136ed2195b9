"""Groups the bot serves and their per-group settings."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database, from_iso, iso


@dataclass(frozen=True)
class Group:
    chat_id: int
    title: str
    type: str
    active: bool
    added_by: int | None
    added_at: datetime
    removed_at: datetime | None
    admins_refreshed_at: datetime | None


def _group(row) -> Group:
    return Group(
        chat_id=row["chat_id"], title=row["title"], type=row["type"], active=bool(row["active"]),
        added_by=row["added_by"], added_at=from_iso(row["added_at"]), removed_at=from_iso(row["removed_at"]),
        admins_refreshed_at=from_iso(row["admins_refreshed_at"]),
    )


class GroupRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, chat_id: int) -> Group | None:
        row = await self.db.fetchone("SELECT * FROM groups WHERE chat_id = ?", (chat_id,))
        return None if row is None else _group(row)

    async def active(self) -> list[Group]:
        return [_group(r) for r in await self.db.fetchall("SELECT * FROM groups WHERE active = 1 ORDER BY chat_id")]

    async def register(self, chat_id: int, title: str, type_: str, added_by: int | None, now: datetime) -> None:
        """Added (or added back): active again; settings and history of an earlier stay are kept."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO groups(chat_id, title, type, active, added_by, added_at) VALUES (?, ?, ?, 1, ?, ?)"
                " ON CONFLICT(chat_id) DO UPDATE SET title = excluded.title, type = excluded.type, active = 1,"
                " added_by = excluded.added_by, added_at = excluded.added_at, removed_at = NULL",
                (chat_id, title, type_, added_by, iso(now)),
            )

    async def ensure(self, chat_id: int, title: str, type_: str, now: datetime) -> bool:
        """Record a group we hear from without having seen the bot being added (e.g. data from before a reset).
        Returns True if the group was new."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO groups(chat_id, title, type, active, added_at) VALUES (?, ?, ?, 1, ?)"
                " ON CONFLICT(chat_id) DO NOTHING",
                (chat_id, title, type_, iso(now)),
            )
            return cur.rowcount == 1

    async def topic_seen(self, chat_id: int, thread_id: int, name: str | None, renamed: bool, now: datetime) -> str | None:
        """A forum topic seen in the group (a message in it) at `now`, with its name when the update showed it; the
        name now stored is returned. `renamed`: the name is the topic's own creation or renaming (a service message
        in it), which overwrites the one stored; otherwise (the creation message every message in a topic replies
        to, which keeps the name the topic was made with) it is stored only when none is known."""
        async with self.db.transaction() as tx:
            async with tx.execute(
                "INSERT INTO forum_topics(chat_id, thread_id, name, seen_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(chat_id, thread_id) DO UPDATE SET name = CASE WHEN ? AND excluded.name IS NOT NULL"
                " THEN excluded.name ELSE COALESCE(name, excluded.name) END, seen_at = excluded.seen_at RETURNING name",
                (chat_id, thread_id, name, iso(now), int(renamed)),
            ) as cur:
                return (await cur.fetchone())[0]

    async def forum_topics(self, chat_id: int) -> list[tuple[int, str | None, datetime]]:
        """The forum topics seen in the group, (thread id, name or None, last written as seen), latest first."""
        rows = await self.db.fetchall(
            "SELECT thread_id, name, seen_at FROM forum_topics WHERE chat_id = ? ORDER BY seen_at DESC, thread_id", (chat_id,))
        return [(r["thread_id"], r["name"], from_iso(r["seen_at"])) for r in rows]

    async def deactivate(self, chat_id: int, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE groups SET active = 0, removed_at = ? WHERE chat_id = ?", (iso(now), chat_id))

    async def rename(self, chat_id: int, title: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE groups SET title = ? WHERE chat_id = ?", (title, chat_id))

    async def migrate_chat(self, old_id: int, new_id: int, now: datetime) -> bool:
        """A basic group upgraded to a supergroup gets a new id: carry everything over, exactly once.

        Every table with a chat_id column moves (found from the schema, so tables added by later migrations
        move too). Rows the new id already has (the supergroup's first service message may have registered
        it) give way to the group's history. Returns False when there is nothing to move: an unknown group,
        or a migration already done (Telegram tells both chats, and an update may come twice)."""
        async with self.db.transaction() as tx:
            cur = await tx.execute("SELECT 1 FROM groups WHERE chat_id = ?", (old_id,))
            if await cur.fetchone() is None:
                return False
            cur = await tx.execute(
                "INSERT INTO chat_migrations(old_id, new_id, at) VALUES (?, ?, ?) ON CONFLICT(old_id) DO NOTHING",
                (old_id, new_id, iso(now)),
            )
            if cur.rowcount != 1:
                return False
            await tx.execute("PRAGMA defer_foreign_keys = ON")
            tables = await _tables_with_chat_id(tx)
            # Rows that belong to the new id only through a parent's row id (season standings, shop codes)
            # go with their parents.
            for child, column, parent, key in await _children_by_row_id(tx, tables):
                await tx.execute(
                    f"DELETE FROM {child} WHERE {column} IN (SELECT {key} FROM {parent} WHERE chat_id = ?)", (new_id,)
                )
            for table in tables:
                await tx.execute(f"DELETE FROM {table} WHERE chat_id = ?", (new_id,))
                await tx.execute(f"UPDATE {table} SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))
            # A supergroup's admins are read again from Telegram before the next privileged command.
            await tx.execute(
                "UPDATE groups SET type = 'supergroup', admins_refreshed_at = NULL WHERE chat_id = ?", (new_id,)
            )
            return True

    async def settings(self, chat_id: int) -> dict[str, str]:
        rows = await self.db.fetchall("SELECT key, value FROM group_settings WHERE chat_id = ?", (chat_id,))
        return {r["key"]: r["value"] for r in rows}

    async def set_setting(self, chat_id: int, key: str, value: str, actor_id: int | None, now: datetime,
                          then: Callable[[aiosqlite.Connection], Awaitable[None]] | None = None) -> None:
        """`then`: what follows from the change, written in the same transaction."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO group_settings(chat_id, key, value, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(chat_id, key) DO UPDATE SET value = excluded.value,"
                " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (chat_id, key, value, actor_id, iso(now)),
            )
            if then is not None:
                await then(tx)

    async def delete_setting(self, chat_id: int, key: str,
                             then: Callable[[aiosqlite.Connection], Awaitable[None]] | None = None) -> bool:
        """Forget the group's own value: the config default applies again. False if it had none. `then`: as in
        set_setting."""
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM group_settings WHERE chat_id = ? AND key = ?", (chat_id, key))
            if then is not None:
                await then(tx)
            return cur.rowcount > 0

    async def mark_admins_refreshed(self, chat_id: int, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE groups SET admins_refreshed_at = ? WHERE chat_id = ?", (iso(now), chat_id))


async def _children_by_row_id(tx: aiosqlite.Connection, with_chat_id: list[str]) -> list[tuple[str, str, str, str]]:
    """(child, column, parent, parent key) for tables without a chat_id that point at a table that has one."""
    cur = await tx.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    found = []
    for (child,) in await cur.fetchall():
        if child in with_chat_id:
            continue
        cur = await tx.execute(f"PRAGMA foreign_key_list({child})")
        for fk in await cur.fetchall():
            parent, column, key = fk[2], fk[3], fk[4] or "rowid"
            if parent in with_chat_id:
                found.append((child, column, parent, key))
    return found


async def _tables_with_chat_id(tx: aiosqlite.Connection) -> list[str]:
    """Every table of ours with a chat_id column."""
    cur = await tx.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('chat_migrations', 'schema_migrations')"
        " AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    tables = [row[0] for row in await cur.fetchall()]
    found = []
    for table in tables:
        cur = await tx.execute(f"PRAGMA table_info({table})")
        if any(col[1] == "chat_id" for col in await cur.fetchall()):
            found.append(table)
    return found
