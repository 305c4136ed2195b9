"""Users (as Telegram knows them) and their membership in each group, with join/leave events."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite3

import aiosqlite

from storage.db import Database, GroupCommit, execute_values, from_iso, iso
from storage.roles import insert_audit, tg_change


@dataclass(frozen=True)
class UserInfo:
    user_id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    is_bot: bool = False
    language_code: str | None = None

    @property
    def display(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() if self.last_name else self.first_name


@dataclass(frozen=True)
class Member:
    chat_id: int
    user: UserInfo
    status: str
    tg_role: str | None
    community_role: str | None
    first_seen_at: datetime
    joined_at: datetime | None
    left_at: datetime | None
    last_seen_at: datetime | None

    @property
    def present(self) -> bool:
        return self.status in ("member", "administrator", "creator", "restricted")


_MEMBER_SELECT = (
    "SELECT m.*, u.username, u.first_name, u.last_name, u.is_bot, u.language_code"
    " FROM members m JOIN users u ON u.user_id = m.user_id"
)


def _member(row) -> Member:
    return Member(
        chat_id=row["chat_id"],
        user=UserInfo(row["user_id"], row["first_name"], row["username"], row["last_name"], bool(row["is_bot"]), row["language_code"]),
        status=row["status"], tg_role=row["tg_role"], community_role=row["community_role"],
        first_seen_at=from_iso(row["first_seen_at"]), joined_at=from_iso(row["joined_at"]),
        left_at=from_iso(row["left_at"]), last_seen_at=from_iso(row["last_seen_at"]),
    )


_UPSERT_USER = (
    "INSERT INTO users(user_id, username, first_name, last_name, is_bot, language_code, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET username = excluded.username,"
    " first_name = excluded.first_name, last_name = excluded.last_name, is_bot = excluded.is_bot,"
    " language_code = COALESCE(excluded.language_code, users.language_code), updated_at = excluded.updated_at"
)
# Usernames move between accounts; the newest holder keeps it so @name resolves to one person.
_FREE_USERNAME = "UPDATE users SET username = NULL WHERE username = ? COLLATE NOCASE AND user_id != ?"


# SQLite's NOCASE folds the 26 ASCII letters only: names are matched in Python exactly as the database matches them.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_USERS_HEAD = "INSERT INTO users(user_id, username, first_name, last_name, is_bot, language_code, updated_at)"
_USERS_TAIL = _UPSERT_USER[_UPSERT_USER.index("ON CONFLICT"):]
_SIGHTINGS_HEAD = "INSERT INTO members(chat_id, user_id, status, first_seen_at, last_seen_at)"
_SIGHTINGS_TAIL = "ON CONFLICT(chat_id, user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at"
# A member we had as gone is back, unless the message (column3, said_at) is older than their leaving.
_BACK_TAIL = (
    ") AS s WHERE members.chat_id = s.column1 AND members.user_id = s.column2 AND members.status IN ('left', 'kicked')"
    " AND (s.column3 IS NULL OR members.left_at IS NULL OR s.column3 > members.left_at)"
)


def _write_sightings(conn: sqlite3.Connection, sightings: list[tuple[int, UserInfo, str, str | None]]) -> None:
    """A batch of sightings (chat, user, now, said_at) in four statements, each one multi-row VALUES (a statement
    per row each waited for the GIL while the event loop was busy: 300 statements held the writer up to 881 ms).
    What it leaves is what writing the sightings one by one, in order, leaves — worked out here first:
    - a user seen twice is written once, as last seen, with the last language Telegram gave (None keeps ours);
    - a username goes to whoever claimed it last in the batch: of two accounts trading names, the later write
      wins, and an earlier holder (in the batch or not) loses it;
    - a member seen twice keeps the first sighting as first seen, the last as last seen, and is back from 'left'
      if any of the messages is newer than their leaving."""
    users: dict[int, tuple] = {}
    claimed: dict[str, int] = {}  # name (as NOCASE compares it) -> the user who claimed it last
    seen: dict[tuple[int, int], list] = {}  # (chat, user) -> [first now, last now, said_at: None if any is None, else the latest]
    for chat_id, user, now, said in sightings:
        language = user.language_code
        if language is None and user.user_id in users:
            language = users[user.user_id][5]
        users[user.user_id] = (user.user_id, user.username, user.first_name, user.last_name, int(user.is_bot), language, now)
        if user.username:
            claimed[user.username.translate(_ASCII_LOWER)] = user.user_id
        member = seen.get((chat_id, user.user_id))
        if member is None:
            seen[(chat_id, user.user_id)] = [now, now, said]
        else:
            member[1] = now
            member[2] = None if said is None or member[2] is None else max(member[2], said)
    if claimed:  # everyone holding a claimed name lets go of it; its last claimer gets it back just below
        execute_values(conn, "UPDATE users SET username = NULL WHERE username COLLATE NOCASE IN (", "(?)",
                       [(name,) for name in claimed], ")")
    execute_values(conn, _USERS_HEAD, "(?, ?, ?, ?, ?, ?, ?)",
                   [row if not row[1] or claimed[row[1].translate(_ASCII_LOWER)] == row[0] else (row[0], None, *row[2:])
                    for row in users.values()], _USERS_TAIL)
    execute_values(conn, _SIGHTINGS_HEAD, "(?, ?, 'member', ?, ?)",
                   [(chat_id, user_id, first, last) for (chat_id, user_id), (first, last, _) in seen.items()], _SIGHTINGS_TAIL)
    execute_values(conn, "UPDATE members SET status = 'member' FROM (", "(?, ?, ?)",
                   [(chat_id, user_id, said) for (chat_id, user_id), (_, _, said) in seen.items()], _BACK_TAIL)


def upsert_user_in(conn: sqlite3.Connection, user: UserInfo, now: datetime) -> None:
    conn.execute(_UPSERT_USER, (user.user_id, user.username, user.first_name, user.last_name, int(user.is_bot),
                                user.language_code, iso(now)))
    if user.username:
        conn.execute(_FREE_USERNAME, (user.username, user.user_id))


async def upsert_user(tx: aiosqlite.Connection, user: UserInfo, now: datetime) -> None:
    """upsert_user_in inside the caller's transaction(), in one hop."""
    await tx._execute(upsert_user_in, tx._conn, user, now)


def admin_changed(conn: sqlite3.Connection, chat_id: int, user_id: int, was: bool, now_admin: bool, at: str | None) -> None:
    """Keep admin_spans with a change of members.tg_role, in the same transaction: becoming an owner/admin opens a
    stint from `at` (None: as far back as anything was recorded — the admins Sticky finds at its first look), ceasing
    ends the open one at `at` (or, when none was recorded, one that began before anything was: such an admin was there
    from the start). A current admin without an open stint is read as one all along (storage.stats._admin_days)."""
    if now_admin and not was:
        conn.execute("INSERT INTO admin_spans(chat_id, user_id, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                     (chat_id, user_id, at))
    elif was and not now_admin:
        ended = conn.execute("UPDATE admin_spans SET until = ? WHERE chat_id = ? AND user_id = ? AND until IS NULL",
                             (at, chat_id, user_id)).rowcount
        if not ended:
            conn.execute("INSERT INTO admin_spans(chat_id, user_id, since, until) VALUES (?, ?, NULL, ?)",
                         (chat_id, user_id, at))


RECORDED, AGAIN = "recorded", "again"  # what record_status did: written now, or written by this update's cut-short handling


def _record_status(
    conn: sqlite3.Connection, chat_id: int, user: UserInfo, status: str, tg_role: str | None, now: datetime,
    event: str | None, invite_link: str | None, update_id: int | None,
) -> str | None:
    if event is not None:
        cur = conn.execute(
            "INSERT INTO member_events(chat_id, user_id, event, invite_link, update_id, at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(chat_id, update_id, user_id) DO NOTHING",
            (chat_id, user.user_id, event, invite_link, update_id, iso(now)),
        )
        if cur.rowcount == 0:
            # This very update recorded it before: an update reaches its handlers again only when the handling that
            # wrote this was cut short before the update was marked handled (a crash), so what follows the record
            # (the rules hearing of the join) may never have happened. Nothing is written again.
            return AGAIN if update_id is not None else None
    upsert_user_in(conn, user, now)
    before = conn.execute("SELECT tg_role FROM members WHERE chat_id = ? AND user_id = ?", (chat_id, user.user_id)).fetchone()
    if before is not None or tg_role is not None:  # someone first seen as an admin became one now, as far as we know
        admin_changed(conn, chat_id, user.user_id, before is not None and before[0] is not None, tg_role is not None, iso(now))
    joined = iso(now) if event == "join" else None
    left = iso(now) if event in ("leave", "removed") else None
    conn.execute(
        "INSERT INTO members(chat_id, user_id, status, tg_role, first_seen_at, joined_at, left_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id, user_id) DO UPDATE SET"
        " status = excluded.status, tg_role = excluded.tg_role,"
        " joined_at = COALESCE(excluded.joined_at, members.joined_at),"
        " left_at = CASE WHEN excluded.joined_at IS NOT NULL THEN NULL ELSE COALESCE(excluded.left_at, members.left_at) END",
        (chat_id, user.user_id, status, tg_role, iso(now), joined, left),
    )
    return RECORDED


def _mark_started(conn: sqlite3.Connection, user: UserInfo, now: datetime) -> None:
    upsert_user_in(conn, user, now)
    conn.execute("UPDATE users SET started_at = COALESCE(started_at, ?) WHERE user_id = ?", (iso(now), user.user_id))


class MemberRepo:
    def __init__(self, db: Database) -> None:
        self.db = db
        # 100 sightings a transaction (four multi-row statements): when each was three statements, 500 held the
        # writer 80 ms under shared load.
        self._sightings = GroupCommit(db, _write_sightings, limit=100)

    async def get(self, chat_id: int, user_id: int) -> Member | None:
        row = await self.db.fetchone(_MEMBER_SELECT + " WHERE m.chat_id = ? AND m.user_id = ?", (chat_id, user_id))
        return None if row is None else _member(row)

    async def by_username(self, chat_id: int, username: str) -> Member | None:
        row = await self.db.fetchone(
            _MEMBER_SELECT + " WHERE m.chat_id = ? AND u.username = ? COLLATE NOCASE", (chat_id, username.lstrip("@"))
        )
        return None if row is None else _member(row)

    async def user(self, user_id: int) -> UserInfo | None:
        row = await self.db.fetchone("SELECT * FROM users WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        return UserInfo(row["user_id"], row["first_name"], row["username"], row["last_name"], bool(row["is_bot"]), row["language_code"])

    async def users(self, user_ids: list[int]) -> dict[int, UserInfo]:
        """Many users in one query (a board's names)."""
        if not user_ids:
            return {}
        marks = ",".join("?" * len(user_ids))
        rows = await self.db.fetchall(f"SELECT * FROM users WHERE user_id IN ({marks})", user_ids)
        return {r["user_id"]: UserInfo(r["user_id"], r["first_name"], r["username"], r["last_name"], bool(r["is_bot"]),
                                       r["language_code"]) for r in rows}

    async def present(self, chat_id: int) -> list[Member]:
        rows = await self.db.fetchall(
            _MEMBER_SELECT + " WHERE m.chat_id = ? AND m.status IN ('member', 'administrator', 'creator', 'restricted')"
            " ORDER BY u.first_name COLLATE NOCASE, m.user_id",
            (chat_id,),
        )
        return [_member(r) for r in rows]

    async def admins(self, chat_id: int) -> list[int]:
        """The group's owner and admins as Telegram last listed them (humans only), owner first."""
        rows = await self.db.fetchall(
            "SELECT m.user_id FROM members m JOIN users u ON u.user_id = m.user_id WHERE m.chat_id = ?"
            " AND m.tg_role IS NOT NULL AND u.is_bot = 0 ORDER BY m.tg_role != 'owner', m.user_id", (chat_id,))
        return [r[0] for r in rows]

    @staticmethod
    def seen_in(conn: sqlite3.Connection, sightings: list[tuple[int, UserInfo, datetime, datetime | None]]) -> None:
        """What seen() writes for each of these (chat, user, now, said_at), in the caller's transaction on the
        writer's thread (storage.inbox.BatchWrite: with the batch of updates that brought them)."""
        _write_sightings(conn, [(chat_id, user, iso(now), iso(said) if said is not None else None)
                                for chat_id, user, now, said in sightings])

    async def seen(self, chat_id: int, user: UserInfo, now: datetime, said_at: datetime | None = None) -> None:
        """Someone spoke in the group: make sure we know them; a member we had as gone is back — unless the
        message (`said_at`) is older than their leaving, as an update Telegram delivers again after a restart is.
        Returns once it is committed; sightings that arrive together are written in one transaction."""
        await self._sightings.submit((chat_id, user, iso(now), iso(said_at) if said_at is not None else None))

    async def record_status(
        self, chat_id: int, user: UserInfo, status: str, tg_role: str | None, now: datetime,
        *, event: str | None = None, invite_link: str | None = None, update_id: int | None = None,
    ) -> str | None:
        """Telegram told us a member's status changed. RECORDED; AGAIN when this update recorded it before (its
        handling was cut short: nothing is written again); None for a repeat of a change under another update."""
        return await self.db.write(_record_status, chat_id, user, status, tg_role, now, event, invite_link, update_id)

    async def replace_admins(
        self, chat_id: int, admins: list[tuple[UserInfo, str]], now: datetime, reason: str = "telegram_refresh",
    ) -> list[tuple[int, str, str]]:
        """Make the stored owner/admin flags equal Telegram's list (getChatAdministrators). Promotions and
        demotions this reveals (ones no chat_member update told us about) go to the audit trail in the same
        transaction, as (user_id, change, role) — except at a group's first list, which is where we start."""
        async with self.db.transaction() as tx:
            async with tx.execute("SELECT admins_refreshed_at FROM groups WHERE chat_id = ?", (chat_id,)) as cur:
                row = await cur.fetchone()
            first_list = row is None or row[0] is None
            async with tx.execute(
                "SELECT user_id, tg_role FROM members WHERE chat_id = ? AND tg_role IS NOT NULL", (chat_id,)
            ) as cur:
                before = {r[0]: r[1] for r in await cur.fetchall()}
            after = {u.user_id: tg_role for u, tg_role in admins}
            ids = list(after)
            marks = ",".join("?" * len(ids)) or "NULL"
            await tx.execute(
                f"UPDATE members SET tg_role = NULL, status = CASE WHEN status IN ('administrator', 'creator')"
                f" THEN 'member' ELSE status END WHERE chat_id = ? AND tg_role IS NOT NULL AND user_id NOT IN ({marks})",
                (chat_id, *ids),
            )
            for user, tg_role in admins:
                await upsert_user(tx, user, now)
                status = "creator" if tg_role == "owner" else "administrator"
                await tx.execute(
                    "INSERT INTO members(chat_id, user_id, status, tg_role, first_seen_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(chat_id, user_id) DO UPDATE SET status = excluded.status, tg_role = excluded.tg_role",
                    (chat_id, user.user_id, status, tg_role, iso(now)),
                )
            for user_id in sorted(before.keys() ^ after.keys()):  # the first list's admins were so before it too
                opened_at_start = first_list and user_id in after
                await tx._execute(admin_changed, tx._conn, chat_id, user_id, user_id in before, user_id in after,
                                  None if opened_at_start else iso(now))
            changes = []
            for user_id in sorted(before.keys() | after.keys()):
                change = tg_change(before.get(user_id), after.get(user_id))
                if change is not None and not first_list:
                    await insert_audit(tx, chat_id, *change, None, user_id, reason, now)
                    changes.append((user_id, *change))
            await tx.execute("UPDATE groups SET admins_refreshed_at = ? WHERE chat_id = ?", (iso(now), chat_id))
            return changes

    async def remember(self, user: UserInfo, now: datetime) -> None:
        """A name to show for an id, no membership: a channel that posted or was moderated in a group (its id, its
        title, its @username)."""
        await self.db.write(upsert_user_in, user, now)

    @staticmethod
    def remember_in(conn: sqlite3.Connection, users: list[UserInfo], now: datetime) -> None:
        """remember() for each of these, in the caller's transaction on the writer's thread (with a received batch)."""
        for user in users:
            upsert_user_in(conn, user, now)

    async def channel_by_username(self, username: str) -> UserInfo | None:
        """A channel remembered with this @username (channels' ids are negative; people's are not)."""
        row = await self.db.fetchone("SELECT * FROM users WHERE username = ? COLLATE NOCASE AND user_id < 0",
                                     (username.lstrip("@"),))
        return None if row is None else UserInfo(row["user_id"], row["first_name"], row["username"])

    async def mark_started(self, user: UserInfo, now: datetime) -> None:
        """The user opened a private chat with the bot, so the bot may write to them."""
        await self.db.write(_mark_started, user, now)

    async def language(self, user_id: int) -> str | None:
        """The language the user chose for their private chat (/language), None: follow their Telegram app."""
        return await self.db.fetchval("SELECT language FROM users WHERE user_id = ?", (user_id,))

    async def set_language(self, user_id: int, language: str | None, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE users SET language = ?, updated_at = ? WHERE user_id = ?", (language, iso(now), user_id))

    async def has_started(self, user_id: int) -> bool:
        return await self.db.fetchval("SELECT started_at IS NOT NULL FROM users WHERE user_id = ?", (user_id,)) == 1
