"""The admin's list of topics, topics of the week that were posted (with their closing as deferred work, written in
the same transaction) and the replies to them: a member's first reply pays XP once, replies to a reply are counted."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain.topics import Reply
from storage.db import Database, from_iso, iso
from storage.schedules import defer_in


@dataclass(frozen=True)
class Topic:
    id: int
    text: str
    used: int


@dataclass(frozen=True)
class TopicPost:
    id: int
    chat_id: int
    text: str
    xp: int
    best_points: int
    opened_at: datetime
    closes_at: datetime
    message_id: int | None
    closed_at: datetime | None


_POST = "id, chat_id, text, xp, best_points, opened_at, closes_at, message_id, closed_at"


def _post(r) -> TopicPost:
    return TopicPost(r[0], r[1], r[2], r[3], r[4], from_iso(r[5]), from_iso(r[6]), r[7], from_iso(r[8]))


class TopicRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- the list

    async def add(self, chat_id: int, text: str, by: int | None, now: datetime) -> int:
        async with self.db.transaction() as tx:
            async with tx.execute("INSERT INTO topics(chat_id, text, added_by, added_at) VALUES (?, ?, ?, ?) RETURNING id",
                                  (chat_id, text, by, iso(now))) as cur:
                return (await cur.fetchone())[0]

    async def of_chat(self, chat_id: int) -> list[Topic]:
        rows = await self.db.fetchall(
            "SELECT id, text, used FROM topics WHERE chat_id = ? AND deleted_at IS NULL ORDER BY id", (chat_id,))
        return [Topic(r[0], r[1], r[2]) for r in rows]

    async def delete(self, chat_id: int, topic_id: int, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            cur = await tx.execute("UPDATE topics SET deleted_at = ? WHERE id = ? AND chat_id = ? AND deleted_at IS NULL",
                                   (iso(now), topic_id, chat_id))
            return cur.rowcount == 1

    async def take_next(self, chat_id: int, now: datetime) -> Topic | None:
        """The topic used least (oldest first on a tie), marked used: the list goes round, each in turn."""
        async with self.db.transaction() as tx:
            async with tx.execute(
                "UPDATE topics SET used = used + 1, last_used_at = ? WHERE id = (SELECT id FROM topics WHERE chat_id = ?"
                " AND deleted_at IS NULL ORDER BY used, id LIMIT 1) RETURNING id, text, used", (iso(now), chat_id),
            ) as cur:
                r = await cur.fetchone()
        return None if r is None else Topic(r[0], r[1], r[2])

    # ---------------------------------------------------------------- posted topics

    async def open(self, chat_id: int, schedule_id: int | None, text: str, xp: int, best_points: int, now: datetime,
                   closes_at: datetime) -> TopicPost:
        async with self.db.transaction() as tx:
            async with tx.execute(
                f"INSERT INTO topic_posts(chat_id, schedule_id, text, xp, best_points, opened_at, closes_at)"
                f" VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {_POST}",
                (chat_id, schedule_id, text, xp, best_points, iso(now), iso(closes_at)),
            ) as cur:
                post = _post(await cur.fetchone())
            await defer_in(tx, chat_id, "topic_close", {"post": post.id}, closes_at, now)
        return post

    async def posted(self, post_id: int, message_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE topic_posts SET message_id = ? WHERE id = ?", (message_id, post_id))

    async def open_posts(self, chat_id: int) -> list[tuple[TopicPost, set[int]]]:
        """Open, posted topics of the group, each with the ids of the replies it has."""
        def read(conn):
            posts = [_post(r) for r in conn.execute(
                f"SELECT {_POST} FROM topic_posts WHERE chat_id = ? AND closed_at IS NULL AND message_id IS NOT NULL",
                (chat_id,))]
            return [(p, {r[0] for r in conn.execute("SELECT message_id FROM topic_replies WHERE post_id = ?", (p.id,))})
                    for p in posts]
        return await self.db.read(read)

    @staticmethod
    def add_reply_in(conn: sqlite3.Connection, post_id: int, message_id: int, user_id: int, at: datetime) -> tuple[bool, bool]:
        """(recorded?, the member's first reply to this topic?), inside the caller's transaction (on the writer's
        thread: it rides with the reply's handled mark, storage.inbox.Along)."""
        first = conn.execute("SELECT 1 FROM topic_replies WHERE post_id = ? AND user_id = ? LIMIT 1", (post_id, user_id)).fetchone() is None
        cur = conn.execute("INSERT INTO topic_replies(post_id, message_id, user_id, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                           (post_id, message_id, user_id, iso(at)))
        return cur.rowcount == 1, first

    @staticmethod
    def replied_to_in(conn: sqlite3.Connection, post_id: int, message_id: int, by_user: int) -> None:
        """A reply to a reply: the reply drew discussion (one's own follow-ups do not count). Inside the caller's
        transaction, as add_reply_in."""
        conn.execute("UPDATE topic_replies SET replies = replies + 1 WHERE post_id = ? AND message_id = ? AND user_id != ?",
                     (post_id, message_id, by_user))

    @staticmethod
    async def close_in(tx: aiosqlite.Connection, post_id: int, now: datetime) -> TopicPost | None:
        """Claim the closing (once), inside the caller's transaction."""
        async with tx.execute(f"UPDATE topic_posts SET closed_at = ? WHERE id = ? AND closed_at IS NULL RETURNING {_POST}",
                              (iso(now), post_id)) as cur:
            r = await cur.fetchone()
        return None if r is None else _post(r)

    async def close(self, post_id: int, now: datetime) -> TopicPost | None:
        async with self.db.transaction() as tx:
            return await self.close_in(tx, post_id, now)

    @staticmethod
    async def replies_in(tx: aiosqlite.Connection, post_id: int) -> list[Reply]:
        async with tx.execute(
            "SELECT message_id, user_id, at, replies FROM topic_replies WHERE post_id = ? ORDER BY at, message_id", (post_id,),
        ) as cur:
            return [Reply(r[0], r[1], from_iso(r[2]), r[3]) for r in await cur.fetchall()]
