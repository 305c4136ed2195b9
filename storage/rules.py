"""Rules and moderation in SQLite: the rules themselves, named lists, violations (warns are the violation `warn`),
the audit log (modlog) and approved members."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite3

import aiosqlite

from storage.db import Database, from_iso, iso


@dataclass(frozen=True)
class Violation:
    id: int
    chat_id: int
    user_id: int
    name: str
    reason: str | None
    rule_id: int | None
    actor_id: int | None
    at: datetime


@dataclass(frozen=True)
class LogEntry:
    id: int
    chat_id: int
    action: str
    target_id: int | None
    actor_id: int | None
    rule_id: int | None
    reason: str | None
    until: datetime | None
    message_id: int | None
    dry: bool
    at: datetime


@dataclass(frozen=True)
class NewLogEntry:
    action: str
    target_id: int | None
    actor_id: int | None
    reason: str | None = None
    rule_id: int | None = None
    until: datetime | None = None
    message_id: int | None = None
    dry: bool = False


@dataclass(frozen=True)
class StoredRule:
    id: int
    chat_id: int
    position: int
    name: str
    source: str
    enabled: bool
    cooldown_seconds: int
    continue_after: bool


def _violation(row) -> Violation:
    return Violation(row["id"], row["chat_id"], row["user_id"], row["name"], row["reason"], row["rule_id"],
                     row["actor_id"], from_iso(row["at"]))


def _entry(row) -> LogEntry:
    return LogEntry(row["id"], row["chat_id"], row["action"], row["target_id"], row["actor_id"], row["rule_id"],
                    row["reason"], from_iso(row["until"]), row["message_id"], bool(row["dry"]), from_iso(row["at"]))


def _rule(row) -> StoredRule:
    return StoredRule(row["id"], row["chat_id"], row["position"], row["name"], row["source"], bool(row["enabled"]),
                      row["cooldown_seconds"], bool(row["continue_after"]))


async def insert_log(tx: aiosqlite.Connection, chat_id: int, entries: list[NewLogEntry], now: datetime) -> None:
    await tx.executemany(
        "INSERT INTO modlog(chat_id, action, target_id, actor_id, rule_id, reason, until, message_id, dry, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(chat_id, e.action, e.target_id, e.actor_id, e.rule_id, e.reason, iso(e.until) if e.until else None,
          e.message_id, int(e.dry), iso(now)) for e in entries],
    )


async def add_violation(
    tx: aiosqlite.Connection, chat_id: int, user_id: int, name: str, reason: str | None, rule_id: int | None,
    actor_id: int | None, source_key: str | None, now: datetime,
) -> int | None:
    """A new violation's id, or None when this source (an update, a command message) already recorded one."""
    cursor = await tx.execute(
        "INSERT INTO violations(chat_id, user_id, name, reason, rule_id, actor_id, source_key, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id, source_key) DO NOTHING RETURNING id",
        (chat_id, user_id, name, reason, rule_id, actor_id, source_key, iso(now)),
    )
    row = await cursor.fetchone()
    await cursor.close()
    return None if row is None else row[0]


async def count_violations(tx: aiosqlite.Connection, chat_id: int, user_id: int, name: str, since: datetime | None) -> int:
    cursor = await tx.execute(
        "SELECT COUNT(*) FROM violations WHERE chat_id = ? AND user_id = ? AND name = ? AND removed_at IS NULL"
        " AND at >= ?",
        (chat_id, user_id, name, iso(since) if since else ""),
    )
    row = await cursor.fetchone()
    await cursor.close()
    return row[0]


async def recent_violations(tx: aiosqlite.Connection, chat_id: int, user_id: int, name: str, since: datetime | None) -> list[datetime]:
    """When each active violation of this name was added (oldest first), inside the caller's transaction."""
    async with tx.execute(
        "SELECT at FROM violations WHERE chat_id = ? AND user_id = ? AND name = ? AND removed_at IS NULL AND at >= ?"
        " ORDER BY at, id", (chat_id, user_id, name, iso(since) if since else ""),
    ) as cursor:
        return [from_iso(r[0]) for r in await cursor.fetchall()]


@dataclass(frozen=True, slots=True)
class FactsRow:
    """What the rules need to know of a member, read in one hop."""

    known: bool
    tg_role: str | None
    community_role: str | None
    since: datetime | None  # joined, or first seen
    xp: int
    messages: int  # written by the activity flush (what is still in memory is added by the caller)


def _facts(conn: sqlite3.Connection, chat_id: int, user_id: int, with_messages: bool) -> FactsRow:
    row = conn.execute(
        "SELECT m.tg_role, m.community_role, COALESCE(m.joined_at, m.first_seen_at),"
        " (SELECT xp FROM wallets w WHERE w.chat_id = m.chat_id AND w.user_id = m.user_id)"
        " FROM members m WHERE m.chat_id = ? AND m.user_id = ?", (chat_id, user_id),
    ).fetchone()
    messages = 0
    if with_messages:
        messages = conn.execute(
            "SELECT COALESCE(SUM(messages), 0) FROM activity_daily WHERE chat_id = ? AND user_id = ?", (chat_id, user_id),
        ).fetchone()[0]
    if row is None:
        xp = conn.execute("SELECT xp FROM wallets WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)).fetchone()
        return FactsRow(False, None, None, None, xp[0] if xp else 0, messages)
    return FactsRow(True, row[0], row[1], from_iso(row[2]), row[3] or 0, messages)


def _holders(conn: sqlite3.Connection, chat_id: int) -> list[tuple[int, str | None, str | None]]:
    """(user, tg_role, community_role) of the group's members who hold a role: Telegram's owner and admins
    (members_admins) and the community's activators and spreaders (members_role); nobody else is read."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT user_id, tg_role, community_role FROM members WHERE chat_id = ? AND tg_role IS NOT NULL"
        " UNION SELECT user_id, tg_role, community_role FROM members WHERE chat_id = ? AND community_role IS NOT NULL",
        (chat_id, chat_id))]


def _inactive(conn: sqlite3.Connection, chat_id: int, since: str | None, until: str, after: int | None,
              limit: int) -> list[tuple[int, str]]:
    """Present members (not bots, not admins) whose last sign of life (message, join, first sighting) is in
    (since, until]: they crossed an inactivity threshold in that stretch. At most `limit`, by user id after `after`
    (a pass over a big group goes in chunks)."""
    last = "COALESCE(m.last_seen_at, m.joined_at, m.first_seen_at)"
    rows = conn.execute(
        f"SELECT m.user_id, {last} FROM members m JOIN users u ON u.user_id = m.user_id"
        f" WHERE m.chat_id = ? AND m.status IN ('member', 'restricted') AND u.is_bot = 0 AND m.tg_role IS NULL"
        f" AND {last} <= ? AND (? IS NULL OR {last} > ?) AND (? IS NULL OR m.user_id > ?) ORDER BY m.user_id LIMIT ?",
        (chat_id, until, since, since, after, after, limit),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


# The join marks' partial index (migration 29) is used only by a query with this very term.
_JOIN_MARKS = "(event_key LIKE 'join:%' OR event_key LIKE 'dry:join:%')"


def _stale_events_done(conn: sqlite3.Connection, chat_id: int) -> int:
    """Delete the once-only marks of a group that can never matter again (rule_events_done must not grow forever).
    An inactivity mark (`inactive:DAYS:LAST`, and its dry-run twin `dry:inactive:…`) names the member's last sign of
    life: once they spoke (or joined) again, that crossing can never be delivered again, nor can it for a member Sticky
    no longer knows. A member still silent since LAST keeps the mark (their rerun must still skip)."""
    last = "COALESCE(m.last_seen_at, m.joined_at, m.first_seen_at)"
    cursor = conn.execute(
        "DELETE FROM rule_events_done WHERE chat_id = ?"
        " AND (event_key LIKE 'inactive:%' OR event_key LIKE 'dry:inactive:%')"
        f" AND NOT EXISTS (SELECT 1 FROM members m WHERE m.chat_id = rule_events_done.chat_id"
        f" AND m.user_id = rule_events_done.user_id AND substr(rule_events_done.event_key, -length({last})) = {last})",
        (chat_id,),
    )
    return cursor.rowcount


async def store_fired(tx: aiosqlite.Connection, chat_id: int, fired: list[tuple[int, int, datetime, datetime]]) -> None:
    """Inside the transaction that applies a rule decision: when each rule with a cooldown (rule id, member, the
    event's date, the end of its cooldown) last fired, committed with what it paid, so a restart does not pay it
    again within its cooldown."""
    if fired:
        await tx.executemany(
            "INSERT INTO rule_fired(chat_id, rule_id, user_id, at, until) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(chat_id, rule_id, user_id) DO UPDATE SET at = max(at, excluded.at), until = max(until, excluded.until)",
            [(chat_id, rule_id, user_id, iso(at), iso(until)) for rule_id, user_id, at, until in fired])


def _stale_fired(conn: sqlite3.Connection, now: str) -> int:
    """Stored fire times whose cooldown is over, or of rules deleted since."""
    return conn.execute("DELETE FROM rule_fired WHERE until < ? OR rule_id NOT IN (SELECT id FROM rules)", (now,)).rowcount


async def mark_event_done(tx: aiosqlite.Connection, chat_id: int, user_id: int, event_key: str, now: datetime) -> bool:
    """Inside the transaction that applies a rule decision: False if this member's event was applied already."""
    cursor = await tx.execute(
        "INSERT INTO rule_events_done(chat_id, user_id, event_key, at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(chat_id, user_id, event_key) DO NOTHING", (chat_id, user_id, event_key, iso(now)))
    return cursor.rowcount > 0


async def clear_violations(tx: aiosqlite.Connection, chat_id: int, user_id: int, name: str, now: datetime) -> int:
    cursor = await tx.execute(
        "UPDATE violations SET removed_at = ? WHERE chat_id = ? AND user_id = ? AND name = ? AND removed_at IS NULL",
        (iso(now), chat_id, user_id, name),
    )
    return cursor.rowcount


class ModerationRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def violations(self, chat_id: int, user_id: int, name: str, since: datetime | None) -> list[Violation]:
        rows = await self.db.fetchall(
            "SELECT * FROM violations WHERE chat_id = ? AND user_id = ? AND name = ? AND removed_at IS NULL AND at >= ?"
            " ORDER BY id",
            (chat_id, user_id, name, iso(since) if since else ""),
        )
        return [_violation(r) for r in rows]

    async def violation(self, violation_id: int) -> Violation | None:
        row = await self.db.fetchone("SELECT * FROM violations WHERE id = ? AND removed_at IS NULL", (violation_id,))
        return None if row is None else _violation(row)

    async def remove_violation(self, chat_id: int, violation_id: int | None, user_id: int, name: str,
                               log: NewLogEntry, now: datetime) -> Violation | None:
        """Take back one violation (the given one, or the member's newest) and audit it, in one transaction."""
        async with self.db.transaction() as tx:
            if violation_id is None:
                cursor = await tx.execute(
                    "SELECT id FROM violations WHERE chat_id = ? AND user_id = ? AND name = ? AND removed_at IS NULL"
                    " ORDER BY id DESC LIMIT 1", (chat_id, user_id, name),
                )
                row = await cursor.fetchone()
                await cursor.close()
                if row is None:
                    return None
                violation_id = row[0]
            cursor = await tx.execute(
                "UPDATE violations SET removed_at = ? WHERE id = ? AND chat_id = ? AND removed_at IS NULL RETURNING *",
                (iso(now), violation_id, chat_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                return None
            await insert_log(tx, chat_id, [log], now)
            return _violation(row)

    async def reset(self, chat_id: int, user_id: int, name: str, log: NewLogEntry, now: datetime) -> int:
        async with self.db.transaction() as tx:
            removed = await clear_violations(tx, chat_id, user_id, name, now)
            if removed:
                await insert_log(tx, chat_id, [log], now)
            return removed

    async def log(self, chat_id: int, entries: list[NewLogEntry], now: datetime) -> None:
        async with self.db.transaction() as tx:
            await insert_log(tx, chat_id, entries, now)

    async def modlog(self, chat_id: int, target_id: int | None = None, limit: int = 20) -> list[LogEntry]:
        if target_id is None:
            rows = await self.db.fetchall("SELECT * FROM modlog WHERE chat_id = ? ORDER BY id DESC LIMIT ?", (chat_id, limit))
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM modlog WHERE chat_id = ? AND target_id = ? ORDER BY id DESC LIMIT ?", (chat_id, target_id, limit),
            )
        return [_entry(r) for r in rows]

    async def approved(self, chat_id: int) -> set[int]:
        return {r[0] for r in await self.db.fetchall("SELECT user_id FROM approvals WHERE chat_id = ?", (chat_id,))}

    async def set_approved(self, chat_id: int, user_id: int, approved: bool, log: NewLogEntry, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            if approved:
                cursor = await tx.execute(
                    "INSERT INTO approvals(chat_id, user_id, by_id, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (chat_id, user_id, log.actor_id, iso(now)),
                )
            else:
                cursor = await tx.execute("DELETE FROM approvals WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
            changed = cursor.rowcount > 0
            if changed:
                await insert_log(tx, chat_id, [log], now)
            return changed


@dataclass(frozen=True)
class LogChat:
    chat_id: int
    log_chat_id: int
    set_by: int | None
    refused_at: datetime | None  # posting there failed since this time (the owner was told); None while it works


class LogChatRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, chat_id: int) -> LogChat | None:
        row = await self.db.fetchone("SELECT * FROM log_chats WHERE chat_id = ?", (chat_id,))
        return None if row is None else LogChat(row["chat_id"], row["log_chat_id"], row["set_by"], from_iso(row["refused_at"]))

    async def set(self, chat_id: int, log_chat_id: int, by: int | None, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO log_chats(chat_id, log_chat_id, set_by, set_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(chat_id) DO UPDATE SET log_chat_id = excluded.log_chat_id, set_by = excluded.set_by,"
                " set_at = excluded.set_at, refused_at = NULL",
                (chat_id, log_chat_id, by, iso(now)),
            )

    async def unset(self, chat_id: int) -> bool:
        async with self.db.transaction() as tx:
            return (await tx.execute("DELETE FROM log_chats WHERE chat_id = ?", (chat_id,))).rowcount > 0

    async def refused(self, chat_id: int, now: datetime) -> bool:
        """Mark the log chat as refusing; True only the first time (so the owner is told once)."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute("UPDATE log_chats SET refused_at = ? WHERE chat_id = ? AND refused_at IS NULL",
                                      (iso(now), chat_id))
            return cursor.rowcount > 0

    async def works(self, chat_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE log_chats SET refused_at = NULL WHERE chat_id = ? AND refused_at IS NOT NULL", (chat_id,))


@dataclass(frozen=True)
class PendingImport:
    rule_set: str  # JSON: {"rules": [[name, line, enabled], …], "lists": {name: [[item, note], …]}}
    seen: str  # the fingerprint of the group's rules when the dry run compared them
    by: int
    created_at: datetime
    expires_at: datetime


_IMPORT_KEPT = timedelta(days=1)  # an expired import is kept this long, so its button says "expired", not "unknown"


async def _add_rule_after(tx: aiosqlite.Connection, chat_id: int, name: str, source: str, after: str | None,
                          now: datetime) -> bool:
    """Inside the caller's transaction: the rule `name` (if the group has none of that name), right after the rule
    `after` (last when that is missing), positions renumbered 1..n. False if it existed already."""
    cursor = await tx.execute("SELECT id, name FROM rules WHERE chat_id = ? ORDER BY position, id", (chat_id,))
    rows = [(row[0], row[1]) for row in await cursor.fetchall()]
    await cursor.close()
    if any(n == name for _, n in rows):
        return False
    cursor = await tx.execute(
        "INSERT INTO rules(chat_id, position, name, source, created_at, updated_at) VALUES (?, 0, ?, ?, ?, ?) RETURNING id",
        (chat_id, name, source, iso(now), iso(now)))
    new_id = (await cursor.fetchone())[0]
    await cursor.close()
    ids = [i for i, _ in rows]
    at = next((k + 1 for k, (_, n) in enumerate(rows) if n == after), len(ids))
    ids.insert(at, new_id)
    await tx.executemany("UPDATE rules SET position = ? WHERE chat_id = ? AND id = ?",
                         [(pos, chat_id, rule_id) for pos, rule_id in enumerate(ids, 1)])
    return True


async def _move_items(tx: aiosqlite.Connection, chat_id: int, name: str, items: list[tuple[str, str | None]],
                      away: list[str]) -> int:
    """Inside the caller's transaction: the items out of each list in `away` and into `name`; how many changed there."""
    for other in away:
        await tx.executemany("DELETE FROM rule_lists WHERE chat_id = ? AND name = ? AND item = ?",
                             [(chat_id, other, item) for item, _ in items])
    before = tx.total_changes
    await tx.executemany(
        "INSERT INTO rule_lists(chat_id, name, item, note) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(chat_id, name, item) DO UPDATE SET note = excluded.note",
        [(chat_id, name, item, note) for item, note in items],
    )
    return tx.total_changes - before


class RulesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def rules(self, chat_id: int) -> list[StoredRule]:
        rows = await self.db.fetchall("SELECT * FROM rules WHERE chat_id = ? ORDER BY position, id", (chat_id,))
        return [_rule(r) for r in rows]

    async def lists(self, chat_id: int) -> dict[str, list[tuple[str, str | None]]]:
        out: dict[str, list[tuple[str, str | None]]] = {}
        for row in await self.db.fetchall("SELECT name, item, note FROM rule_lists WHERE chat_id = ? ORDER BY name, item", (chat_id,)):
            out.setdefault(row["name"], []).append((row["item"], row["note"]))
        return out

    async def seed(self, chat_id: int, defaults: list[tuple[str, str, bool]], now: datetime) -> bool:
        """The config's default rules, once per group (a group that deleted them does not get them back)."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO rule_sets(chat_id, seeded_at) VALUES (?, ?) ON CONFLICT(chat_id) DO NOTHING RETURNING chat_id",
                (chat_id, iso(now)),
            )
            fresh = await cursor.fetchone() is not None
            await cursor.close()
            if fresh:
                await tx.executemany(
                    "INSERT INTO rules(chat_id, position, name, source, enabled, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id, name) DO NOTHING",
                    [(chat_id, i, name, source, int(enabled), iso(now), iso(now)) for i, (name, source, enabled) in enumerate(defaults, 1)],
                )
            return fresh

    async def facts(self, chat_id: int, user_id: int, with_messages: bool) -> FactsRow:
        return await self.db.read(_facts, chat_id, user_id, with_messages)

    async def role_holders(self, chat_id: int) -> list[tuple[int, str | None, str | None]]:
        """(user, tg_role, community_role) of every member of the group who holds a role, in one read."""
        return await self.db.read(_holders, chat_id)

    async def inactive(self, chat_id: int, since: datetime | None, until: datetime, after: int | None = None,
                       limit: int = 1000) -> list[tuple[int, datetime]]:
        """(user, last sign of life) of the members whose last sign of life is in (since, until], by user id: at most
        `limit` of them, after user `after`."""
        rows = await self.db.read(_inactive, chat_id, iso(since) if since else None, iso(until), after, limit)
        return [(user_id, from_iso(at)) for user_id, at in rows]

    async def prune_events_done(self, chat_id: int) -> int:
        """The group's once-only marks that can never matter again, deleted; how many."""
        return await self.db.write(_stale_events_done, chat_id)

    async def prune_fired(self, now: datetime) -> int:
        """Every group's stored fire times whose cooldown is over (or whose rule is gone), deleted; how many."""
        return await self.db.write(_stale_fired, iso(now))

    async def fired(self, chat_id: int, now: datetime) -> list[tuple[int, int, datetime]]:
        """When the group's rules last fired for each member (rule id, member, when), for the cooldowns still
        running at `now`: store_fired's."""
        rows = await self.db.fetchall(
            "SELECT rule_id, user_id, at FROM rule_fired WHERE chat_id = ? AND until >= ?", (chat_id, iso(now)))
        return [(r[0], r[1], from_iso(r[2])) for r in rows]

    async def prune_join_marks(self, before: datetime) -> int:
        """Delete join events' once-marks (event key `join:…`, and their dry-run twins `dry:join:…`) written before
        `before`, in every group: their age is all that says they cannot matter again (their partial index,
        migration 29: no scan of the other marks). The rest of the marks are _stale_events_done's."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                f"DELETE FROM rule_events_done WHERE {_JOIN_MARKS} AND at < ?", (iso(before),))
            return cursor.rowcount

    async def is_seeded(self, chat_id: int) -> bool:
        return await self.db.fetchval("SELECT 1 FROM rule_sets WHERE chat_id = ?", (chat_id,)) is not None

    async def add(self, chat_id: int, name: str, source: str, now: datetime) -> StoredRule:
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO rules(chat_id, position, name, source, created_at, updated_at)"
                " VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM rules WHERE chat_id = ?), ?, ?, ?, ?) RETURNING *",
                (chat_id, chat_id, name, source, iso(now), iso(now)),
            )
            row = await cursor.fetchone()
            await cursor.close()
            return _rule(row)

    async def replace(self, chat_id: int, name: str, source: str, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE rules SET source = ?, updated_at = ? WHERE chat_id = ? AND name = ?", (source, iso(now), chat_id, name),
            )
            return cursor.rowcount > 0

    async def put(self, chat_id: int, rules: list[tuple[str, str, bool]], now: datetime, first: bool = False) -> None:
        """Rules by name, (name, source, enabled), in one transaction: an existing rule gets the new source and state
        in place; a new one goes last, or first (before every other rule, in the given order)."""
        async with self.db.transaction() as tx:
            for name, source, enabled in (reversed(rules) if first else rules):  # first: each new one before the rest
                cursor = await tx.execute(
                    "UPDATE rules SET source = ?, enabled = ?, updated_at = ? WHERE chat_id = ? AND name = ?",
                    (source, int(enabled), iso(now), chat_id, name),
                )
                if cursor.rowcount:
                    continue
                position = ("(SELECT COALESCE(MIN(position), 1) - 1 FROM rules WHERE chat_id = ?)" if first
                            else "(SELECT COALESCE(MAX(position), 0) + 1 FROM rules WHERE chat_id = ?)")
                await tx.execute(
                    f"INSERT INTO rules(chat_id, position, name, source, enabled, created_at, updated_at)"
                    f" VALUES (?, {position}, ?, ?, ?, ?, ?)",
                    (chat_id, chat_id, name, source, int(enabled), iso(now), iso(now)),
                )

    # --- imports waiting for the owner's confirmation ---------------------------------------------------------

    async def save_import(self, chat_id: int, token: str, rule_set: str, seen: str, by: int, now: datetime,
                          expires_at: datetime) -> None:
        """A dry run's import (the validated rule set as JSON, the fingerprint of the rules it was compared with);
        imports of the group that expired a day ago or more go."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM rule_imports WHERE chat_id = ? AND expires_at <= ?",
                             (chat_id, iso(now - _IMPORT_KEPT)))
            await tx.execute(
                "INSERT INTO rule_imports(chat_id, token, rule_set, seen, by_user, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id, token) DO UPDATE SET rule_set = excluded.rule_set,"
                " seen = excluded.seen, by_user = excluded.by_user, created_at = excluded.created_at,"
                " expires_at = excluded.expires_at",
                (chat_id, token, rule_set, seen, by, iso(now), iso(expires_at)))

    async def pending_import(self, chat_id: int, token: str) -> PendingImport | None:
        row = await self.db.fetchone("SELECT rule_set, seen, by_user, created_at, expires_at FROM rule_imports"
                                     " WHERE chat_id = ? AND token = ?", (chat_id, token))
        if row is None:
            return None
        return PendingImport(row[0], row[1], row[2], from_iso(row[3]), from_iso(row[4]))

    async def drop_import(self, chat_id: int, token: str | None = None) -> bool:
        """One pending import (cancelled), or every one of the group (None: an import was applied)."""
        async with self.db.transaction() as tx:
            if token is None:
                cursor = await tx.execute("DELETE FROM rule_imports WHERE chat_id = ?", (chat_id,))
            else:
                cursor = await tx.execute("DELETE FROM rule_imports WHERE chat_id = ? AND token = ?", (chat_id, token))
            return cursor.rowcount > 0

    async def replace_all(self, chat_id: int, rules: list[tuple[str, str, bool]],
                          lists: dict[str, list[tuple[str, str | None]]], now: datetime) -> None:
        """A whole rule set (an import), all or nothing: rules kept by name keep their id (cooldowns, the audit log),
        the rest are deleted or added; positions follow the given order; every list is replaced. The group counts
        as seeded, so the config's defaults do not come back on top."""
        async with self.db.transaction() as tx:
            await tx.execute("INSERT INTO rule_sets(chat_id, seeded_at) VALUES (?, ?) ON CONFLICT(chat_id) DO NOTHING",
                             (chat_id, iso(now)))
            cursor = await tx.execute("SELECT name FROM rules WHERE chat_id = ?", (chat_id,))
            existing = {row[0] for row in await cursor.fetchall()}
            await cursor.close()
            keep = {name for name, _source, _enabled in rules}
            await tx.executemany("DELETE FROM rules WHERE chat_id = ? AND name = ?",
                                 [(chat_id, name) for name in sorted(existing - keep)])
            await tx.executemany(
                "UPDATE rules SET position = ?, source = ?, enabled = ?, updated_at = ? WHERE chat_id = ? AND name = ?",
                [(i, source, int(enabled), iso(now), chat_id, name)
                 for i, (name, source, enabled) in enumerate(rules, 1) if name in existing])
            await tx.executemany(
                "INSERT INTO rules(chat_id, position, name, source, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(chat_id, i, name, source, int(enabled), iso(now), iso(now))
                 for i, (name, source, enabled) in enumerate(rules, 1) if name not in existing])
            await tx.execute("DELETE FROM rule_lists WHERE chat_id = ?", (chat_id,))
            await tx.executemany("INSERT INTO rule_lists(chat_id, name, item, note) VALUES (?, ?, ?, ?)",
                                 [(chat_id, name, item, note) for name, items in lists.items() for item, note in items])

    async def delete_named(self, chat_id: int, names: list[str]) -> int:
        async with self.db.transaction() as tx:
            removed = 0
            for name in names:
                cursor = await tx.execute("DELETE FROM rules WHERE chat_id = ? AND name = ?", (chat_id, name))
                removed += cursor.rowcount
            return removed

    async def set_enabled(self, chat_id: int, rule_id: int, enabled: bool, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE rules SET enabled = ?, updated_at = ? WHERE chat_id = ? AND id = ?", (int(enabled), iso(now), chat_id, rule_id),
            )
            return cursor.rowcount > 0

    async def delete(self, chat_id: int, rule_id: int) -> bool:
        async with self.db.transaction() as tx:
            cursor = await tx.execute("DELETE FROM rules WHERE chat_id = ? AND id = ?", (chat_id, rule_id))
            return cursor.rowcount > 0

    async def move(self, chat_id: int, order: list[int], now: datetime) -> None:
        """Positions 1..n in the given order of rule ids."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE rules SET position = ?, updated_at = ? WHERE chat_id = ? AND id = ?",
                [(i, iso(now), chat_id, rule_id) for i, rule_id in enumerate(order, 1)],
            )

    async def list_add(self, chat_id: int, name: str, items: list[tuple[str, str | None]]) -> int:
        return await self.list_move(chat_id, name, items, [])

    async def list_move(self, chat_id: int, name: str, items: list[tuple[str, str | None]], away: list[str],
                        rule: tuple[str, str, str | None] | None = None, now: datetime | None = None) -> int:
        """The items into list `name` and out of each list in `away`, in one transaction: an item moving from one
        list to another is never in neither (nor in both). How many were added or changed in `name`.

        `rule` = (name, source, after): the rule that judges the list, made in the same transaction when the group
        has none of that name yet, placed right after the rule `after` (or last if there is none): a kill or a
        failure never leaves a rule without its list's first entries, nor entries without their rule."""
        async with self.db.transaction() as tx:
            if rule is not None:
                assert now is not None, "a rule made needs its time"
                await _add_rule_after(tx, chat_id, *rule, now)
            return await _move_items(tx, chat_id, name, items, away)

    async def list_remove(self, chat_id: int, name: str, items: list[str], drop_rule: bool = False) -> int:
        """The items out of list `name`; with `drop_rule`, the rule of that name goes too when its list is left
        empty, in the same transaction (no rule is left judging an empty list after a kill)."""
        async with self.db.transaction() as tx:
            removed = 0
            for item in items:
                cursor = await tx.execute("DELETE FROM rule_lists WHERE chat_id = ? AND name = ? AND item = ?", (chat_id, name, item))
                removed += cursor.rowcount
            if drop_rule and removed:
                cursor = await tx.execute("SELECT 1 FROM rule_lists WHERE chat_id = ? AND name = ? LIMIT 1", (chat_id, name))
                left = await cursor.fetchone()
                await cursor.close()
                if left is None:
                    await tx.execute("DELETE FROM rules WHERE chat_id = ? AND name = ?", (chat_id, name))
            return removed
