"""Schedules and Sticky's own one-shot deferred work (delete a message later, a post held for quiet hours): rows
with a due time, claimed in a transaction before anything is done, so nothing fires twice across restarts."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from storage.db import Database, fetchall_in, fetchone_in, from_iso, iso


@dataclass(frozen=True)
class Schedule:
    id: int
    chat_id: int
    kind: str
    spec: str
    tz: str
    first_run: datetime
    next_run: datetime | None
    last_run: datetime | None
    missed: str
    grace_seconds: int
    action: str
    content: dict[str, Any]
    options: dict[str, Any]
    enabled: bool
    runs: int
    rotation: int
    last_message_id: int | None
    created_by: int | None
    pending: datetime | None = None  # a slot claimed whose run has not reached the outbox yet (a crash: recovered)

    @property
    def done(self) -> bool:
        """A `once` that has run: nothing left to run (the same test as claim_now's, in SQL)."""
        return self.kind == "once" and not self.enabled and self.runs > 0


@dataclass(frozen=True)
class Deferred:
    id: int
    chat_id: int
    kind: str
    payload: dict[str, Any]
    due_at: datetime
    tries: int = 0  # earlier attempts that met a transient failure (a delete retried with backoff)


@dataclass(frozen=True)
class Claim:
    """A slot claimed by one tick: `run` says whether to act on it (False: missed and skipped by policy);
    `skipped`: the oldest slot not run, when any was missed (a downtime), to be logged once."""

    schedule: Schedule
    due: datetime
    run: bool
    late: bool
    skipped: datetime | None = None


_COLUMNS = ("id, chat_id, kind, spec, tz, first_run, next_run, last_run, missed, grace_seconds, action, content, options,"
            " enabled, runs, rotation, last_message_id, created_by, pending")


def _schedule(row) -> Schedule:
    return Schedule(
        row["id"], row["chat_id"], row["kind"], row["spec"], row["tz"], from_iso(row["first_run"]), from_iso(row["next_run"]),
        from_iso(row["last_run"]), row["missed"], row["grace_seconds"], row["action"], json.loads(row["content"]),
        json.loads(row["options"]), bool(row["enabled"]), row["runs"], row["rotation"], row["last_message_id"], row["created_by"],
        from_iso(row["pending"]),
    )


_DEFERRED = "id, chat_id, kind, payload, due_at, tries"


def _deferred(r) -> Deferred:
    return Deferred(r[0], r[1], r[2], json.loads(r[3]), from_iso(r[4]), r[5])


class ScheduleRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- schedules

    async def add(self, chat_id: int, kind: str, spec: str, tz: str, first_run: datetime, next_run: datetime, action: str,
                  content: dict, options: dict, created_by: int | None, now: datetime, missed: str = "late", grace_seconds: int = 3600) -> Schedule:
        async with self.db.transaction() as tx:
            async with tx.execute(
                f"INSERT INTO schedules(chat_id, kind, spec, tz, first_run, next_run, action, content, options, created_by, created_at,"
                f" missed, grace_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (chat_id, kind, spec, tz, iso(first_run), iso(next_run), action, json.dumps(content), json.dumps(options),
                 created_by, iso(now), missed, grace_seconds),
            ) as cur:
                return _schedule(await cur.fetchone())

    async def get(self, chat_id: int, schedule_id: int) -> Schedule | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM schedules WHERE id = ? AND chat_id = ? AND deleted_at IS NULL", (schedule_id, chat_id))
        return None if row is None else _schedule(row)

    async def of_chat(self, chat_id: int) -> list[Schedule]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM schedules WHERE chat_id = ? AND deleted_at IS NULL ORDER BY id", (chat_id,))
        return [_schedule(r) for r in rows]

    async def count(self) -> int:
        return await self.db.fetchval("SELECT COUNT(*) FROM schedules WHERE enabled = 1 AND deleted_at IS NULL")

    async def delete(self, chat_id: int, schedule_id: int, now: datetime) -> bool:
        """The schedule is removed, and a copy of it quiet hours hold is dropped with it (logged), in one transaction."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE schedules SET deleted_at = ?, enabled = 0 WHERE id = ? AND chat_id = ? AND deleted_at IS NULL",
                (iso(now), schedule_id, chat_id))
            if cur.rowcount != 1:
                return False
            await tx._execute(_drop_held, tx._conn, chat_id, schedule_id, "removed", now)
            return True

    async def set_enabled(self, chat_id: int, schedule_id: int, enabled: bool, next_run: datetime | None,
                          now: datetime | None = None) -> Schedule | None:
        """Paused (enabled False, at `now`): a copy of it quiet hours hold is dropped too (logged), in the same
        transaction — a resume later starts from its next slot and never sends that old copy."""
        async with self.db.transaction() as tx:
            async with tx.execute(
                f"UPDATE schedules SET enabled = ?, next_run = ? WHERE id = ? AND chat_id = ? AND deleted_at IS NULL RETURNING {_COLUMNS}",
                (int(enabled), None if next_run is None else iso(next_run), schedule_id, chat_id),
            ) as cur:
                row = await cur.fetchone()
            if row is not None and not enabled:
                await tx._execute(_drop_held, tx._conn, chat_id, schedule_id, "paused", now)
        return None if row is None else _schedule(row)

    @staticmethod
    async def of_chat_in(tx: aiosqlite.Connection, chat_id: int) -> list[Schedule]:
        """The group's schedules, read inside the caller's transaction."""
        async with tx.execute(
            f"SELECT {_COLUMNS} FROM schedules WHERE chat_id = ? AND deleted_at IS NULL ORDER BY id", (chat_id,),
        ) as cur:
            return [_schedule(r) for r in await cur.fetchall()]

    @staticmethod
    async def rezone(tx: aiosqlite.Connection, rows: list[tuple[int, str, datetime, datetime | None]]) -> None:
        """rows: (schedule id, its timezone now, first run, next run), inside the caller's transaction."""
        await tx.executemany(
            "UPDATE schedules SET tz = ?, first_run = ?, next_run = ? WHERE id = ?",
            [(tz, iso(first), None if nxt is None else iso(nxt), schedule_id) for schedule_id, tz, first, nxt in rows])

    async def set_missed(self, chat_id: int, schedule_id: int, policy: str) -> Schedule | None:
        async with self.db.transaction() as tx:
            async with tx.execute(
                f"UPDATE schedules SET missed = ? WHERE id = ? AND chat_id = ? AND deleted_at IS NULL RETURNING {_COLUMNS}",
                (policy, schedule_id, chat_id),
            ) as cur:
                row = await cur.fetchone()
        return None if row is None else _schedule(row)

    async def due(self, now: datetime, limit: int = 500) -> list[Schedule]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM schedules WHERE enabled = 1 AND deleted_at IS NULL AND next_run <= ? ORDER BY next_run LIMIT ?",
            (iso(now), limit))
        return [_schedule(r) for r in rows]

    async def next_due(self) -> datetime | None:
        """When `due` or `claim_deferred` next has a row to give (None: no schedule runs and no work waits)."""
        return from_iso(await self.db.fetchval(
            "SELECT MIN(t) FROM (SELECT MIN(next_run) AS t FROM schedules WHERE enabled = 1 AND deleted_at IS NULL"
            " UNION ALL SELECT MIN(due_at) FROM deferred WHERE done_at IS NULL AND claimed_at IS NULL)"))

    async def claim(self, slots: list[tuple[Schedule, datetime | None, bool, bool, datetime]], now: datetime) -> list[Claim]:
        """slots: (schedule as read, its next run, run?, late?, the slot judged — kept as `pending` until the run reaches
        the outbox when it runs). One transaction, one thread hop for all of them (a
        restart after downtime claims thousands at once); a slot another tick (or a restart) already moved on is
        not claimed again: the UPDATE only matches the next_run that was read."""
        rows = [(None if nxt is None else iso(nxt), int(run), iso(now), int(run), int(run), None if nxt is None else 1,
                 iso(due) if run else None, schedule.id, iso(schedule.next_run)) for schedule, nxt, run, late, due in slots]
        async with self.db.transaction() as tx:
            won = await self.db.call(tx, _claim_rows, rows)
        return [Claim(schedule, schedule.next_run, run, late) for (schedule, _, run, late, _due), ok in zip(slots, won) if ok]

    async def claim_now(self, chat_id: int, schedule_id: int, now: datetime) -> Schedule | None:
        """/runnow: a run out of turn; the next regular run stays where it is. Never a `once` that is done."""
        async with self.db.transaction() as tx:
            async with tx.execute(
                f"UPDATE schedules SET last_run = ?, runs = runs + 1, rotation = rotation + 1"
                f" WHERE id = ? AND chat_id = ? AND deleted_at IS NULL"
                f" AND NOT (kind = 'once' AND enabled = 0 AND runs > 0) RETURNING {_COLUMNS}",
                (iso(now), schedule_id, chat_id),
            ) as cur:
                row = await cur.fetchone()
        return None if row is None else _schedule(row)

    async def ran(self, schedule_id: int) -> None:
        """The claimed run is over (whatever its outcome, logged by the outbox): nothing left to recover."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE schedules SET pending = NULL WHERE id = ? AND pending IS NOT NULL", (schedule_id,))

    async def pending_runs(self) -> list[Schedule]:
        """Schedules whose claimed run never reached the outbox: a crash came between the claim and the first step.
        Those removed since have nothing left to run: their pending mark is cleared here."""
        return [_schedule(r) for r in await self.db.write(_pending_runs)]

    async def not_rerun(self, rows: list[Schedule], entries: list[tuple[int, str, str, str | None]], now: datetime) -> None:
        """Claimed slots the recovery does not run: pending cleared, and what to log (push-log entries: chat, kind,
        outcome, detail), in one transaction however many a crash left."""
        async with self.db.transaction() as tx:
            await tx.executemany("UPDATE schedules SET pending = NULL WHERE id = ?", [(r.id,) for r in rows])
            await tx.executemany("INSERT INTO push_log(chat_id, kind, outcome, detail, at) VALUES (?, ?, ?, ?, ?)",
                                 [(chat, kind, outcome, detail, iso(now)) for chat, kind, outcome, detail in entries])

    async def move_chat(self, old: int, new: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE schedules SET chat_id = ? WHERE chat_id = ?", (new, old))
            await tx.execute("UPDATE deferred SET chat_id = ? WHERE chat_id = ?", (new, old))

    # ---------------------------------------------------------------- deferred one-shot work

    async def defer(self, chat_id: int, kind: str, payload: dict, due_at: datetime, now: datetime) -> int:
        return await self.db.write(_defer, chat_id, kind, payload, due_at, now)

    async def claim_deferred(self, now: datetime, limit: int = 200) -> list[Deferred]:
        """Every due row, claimed in the same statement that reads it: each is handed out once. It is marked done
        only when its action succeeded or failed for good (done_work), or by the outbox's first step for it."""
        rows = await self.db.write(fetchall_in, "UPDATE deferred SET claimed_at = ? WHERE id IN ("
                                   " SELECT id FROM deferred WHERE done_at IS NULL AND claimed_at IS NULL AND due_at <= ?"
                                   f" ORDER BY due_at LIMIT ?) RETURNING {_DEFERRED}", (iso(now), iso(now), limit))
        return sorted((_deferred(r) for r in rows), key=lambda d: (d.due_at, d.id))

    async def claim_deferred_one(self, deferred_id: int, now: datetime) -> Deferred | None:
        r = await self.db.write(fetchone_in, "UPDATE deferred SET claimed_at = ? WHERE id = ? AND done_at IS NULL"
                                f" AND claimed_at IS NULL RETURNING {_DEFERRED}", (iso(now), deferred_id))
        return None if r is None else _deferred(r)

    async def done_work(self, deferred_id: int, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE deferred SET done_at = ? WHERE id = ? AND done_at IS NULL", (iso(now), deferred_id))

    async def retry_work(self, deferred_id: int, due_at: datetime) -> None:
        """A transient failure: released, due again at `due_at`, one try more."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE deferred SET claimed_at = NULL, due_at = ?, tries = tries + 1 WHERE id = ? AND done_at IS NULL",
                             (iso(due_at), deferred_id))

    async def claimed_unfinished(self) -> list[Deferred]:
        """Rows claimed by a run a crash cut off: neither done nor released."""
        rows = await self.db.fetchall(f"SELECT {_DEFERRED} FROM deferred WHERE claimed_at IS NOT NULL AND done_at IS NULL"
                                      " ORDER BY due_at, id")
        return [_deferred(r) for r in rows]

    async def release(self, deferred_ids: list[int]) -> None:
        """Claimed rows handed out again (their run was cut off): the next tick runs them."""
        async with self.db.transaction() as tx:
            await tx.executemany("UPDATE deferred SET claimed_at = NULL WHERE id = ? AND done_at IS NULL", [(i,) for i in deferred_ids])

    async def set_payload(self, deferred_id: int, payload: dict) -> bool:
        """What a pending row will be handed (a pass that finished tells the next one where it may start)."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute("UPDATE deferred SET payload = ? WHERE id = ? AND done_at IS NULL",
                                      (json.dumps(payload), deferred_id))
            return cursor.rowcount > 0

    async def has_deferred(self, chat_id: int, kind: str) -> bool:
        return await self.db.fetchval(
            "SELECT 1 FROM deferred WHERE chat_id = ? AND kind = ? AND done_at IS NULL LIMIT 1", (chat_id, kind)) is not None

    async def pending_deferred(self, chat_id: int | None = None) -> list[Deferred]:
        sql = f"SELECT {_DEFERRED} FROM deferred WHERE done_at IS NULL"
        params: tuple = ()
        if chat_id is not None:
            sql, params = sql + " AND chat_id = ?", (chat_id,)
        rows = await self.db.fetchall(sql + " ORDER BY due_at, id", params)
        return [_deferred(r) for r in rows]


async def settle_in(tx: aiosqlite.Connection, run_kind: str, run_id: int, now: datetime) -> None:
    """The claimed run's first outbox step, inside that step's transaction: from here on a crash must not repeat the
    run (what it sent may be in the group). A schedule's slot is no longer pending; deferred work is done."""
    if run_kind == "schedule":
        await tx.execute("UPDATE schedules SET pending = NULL WHERE id = ?", (run_id,))
    else:
        await tx.execute("UPDATE deferred SET done_at = ? WHERE id = ? AND done_at IS NULL", (iso(now), run_id))


async def record_copy_in(tx, schedule_id: int, message_id: int, now: datetime) -> Deferred | None:
    """A schedule's post is out (inside the transaction that records it sent): it becomes the copy the next run
    replaces, and with `replace` the delete of the previous copy is written in the same step — claimed, for the
    sender to do at once; a crash before it is done releases it to the tick (ScheduleService.recover). So a restart
    never leaves the record one copy behind. None: nothing to delete (or the schedule was removed meanwhile)."""
    return await tx._execute(_record_copy, tx._conn, schedule_id, message_id, now)


def _record_copy(conn: sqlite3.Connection, schedule_id: int, message_id: int, now: datetime) -> Deferred | None:
    row = conn.execute("SELECT chat_id, options, last_message_id FROM schedules WHERE id = ? AND deleted_at IS NULL",
                       (schedule_id,)).fetchone()
    if row is None:
        return None
    chat_id, options, previous = row[0], json.loads(row[1]), row[2]
    conn.execute("UPDATE schedules SET last_message_id = ? WHERE id = ?", (message_id, schedule_id))
    if not options.get("replace") or previous is None or previous == message_id:
        return None
    # `replace`/`by`/`pin`: what to do when Telegram refuses the delete (a copy 48 h old, after a pause or downtime).
    payload = {"message_id": previous, "replace": schedule_id, "by": message_id, "pin": bool(options.get("pin"))}
    work_id = _defer(conn, chat_id, "delete", payload, now, now)
    conn.execute("UPDATE deferred SET claimed_at = ? WHERE id = ?", (iso(now), work_id))
    return Deferred(work_id, chat_id, "delete", payload, now)


async def announced_in(tx, end_id: int) -> None:
    """A campaign's start announcement went out (inside the transaction that records it sent): its end, deferred
    work `end_id`, is announced too when it falls due (unannounced, the window's end is not announced either)."""
    await tx._execute(_announced, tx._conn, end_id)


def _announced(conn: sqlite3.Connection, end_id: int) -> None:
    row = conn.execute("SELECT payload FROM deferred WHERE id = ? AND done_at IS NULL", (end_id,)).fetchone()
    if row is not None:
        conn.execute("UPDATE deferred SET payload = ? WHERE id = ?", (json.dumps({**json.loads(row[0]), "announced": True}), end_id))


def held_dropped(schedule_id: int, why: str) -> str:
    """/pushlog's detail of a held copy dropped because its schedule was removed or paused (bot/texts reads it)."""
    return f"held copy: schedule #{schedule_id} {why}"


def _drop_held(conn: sqlite3.Connection, chat_id: int, schedule_id: int, why: str, now: datetime) -> None:
    """The schedule's copies that quiet hours hold (a post or leaderboard waiting for their end, its payload naming
    the schedule) are done, each logged 'dropped': removed or paused, a schedule sends nothing more. A copy the tick
    has claimed already is being sent now and is left to finish."""
    rows = conn.execute(
        "SELECT id, payload FROM deferred WHERE chat_id = ? AND kind = 'post' AND done_at IS NULL AND claimed_at IS NULL"
        " AND json_extract(payload, '$.schedule') = ?", (chat_id, schedule_id)).fetchall()
    for work_id, payload in rows:
        conn.execute("UPDATE deferred SET done_at = ? WHERE id = ?", (iso(now), work_id))
        conn.execute("INSERT INTO push_log(chat_id, kind, outcome, detail, at) VALUES (?, ?, 'dropped', ?, ?)",
                     (chat_id, json.loads(payload).get("kind", "schedule"), held_dropped(schedule_id, why), iso(now)))


async def defer_in(tx, chat_id: int, kind: str, payload: dict, due_at: datetime, now: datetime) -> int:
    """Deferred work written inside another feature's transaction (a quiz and its closing, together), in one hop."""
    return await tx._execute(_defer, tx._conn, chat_id, kind, payload, due_at, now)


def _defer(conn: sqlite3.Connection, chat_id: int, kind: str, payload: dict, due_at: datetime, now: datetime) -> int:
    return fetchone_in(conn, "INSERT INTO deferred(chat_id, kind, payload, due_at, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                       (chat_id, kind, json.dumps(payload), iso(due_at), iso(now)))[0]


def _claim_rows(conn, rows: list[tuple]) -> list[bool]:
    won = []
    for params in rows:
        cur = conn.execute(
            "UPDATE schedules SET next_run = ?, last_run = CASE WHEN ? THEN ? ELSE last_run END, runs = runs + ?,"
            " rotation = rotation + ?, enabled = CASE WHEN ? IS NULL THEN 0 ELSE enabled END, pending = ?"
            " WHERE id = ? AND next_run = ? AND enabled = 1", params)
        won.append(cur.rowcount == 1)
    return won


class ReminderRepo:
    """Who a check-in reminder may mention: present people who have not checked in that day, minus mention opt-outs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def not_checked_in(self, chat_id: int, day: str, limit: int) -> list[tuple[int, str, str | None]]:
        rows = await self.db.fetchall(
            "SELECT u.user_id, u.first_name, u.username FROM members m JOIN users u ON u.user_id = m.user_id"
            " WHERE m.chat_id = ? AND m.status IN ('member', 'administrator', 'creator', 'restricted') AND u.is_bot = 0"
            " AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.chat_id = m.chat_id AND c.user_id = m.user_id AND c.day = ?)"
            " AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.user_id = m.user_id AND o.kind = 'mentions')"
            " ORDER BY m.last_seen_at DESC, u.user_id LIMIT ?",
            (chat_id, day, limit),
        )
        return [(r[0], r[1], r[2]) for r in rows]


def multipliers_in(conn: sqlite3.Connection, chat_id: int, at: datetime) -> list[str]:
    """The multipliers of the group's campaign windows open at `at`."""
    return [r[0] for r in conn.execute(
        "SELECT multiplier FROM campaigns WHERE chat_id = ? AND starts_at <= ? AND ends_at > ?", (chat_id, iso(at), iso(at)))]


def _windows_in(conn: sqlite3.Connection, chat_id: int, since: str) -> tuple[tuple[str, str, str], ...]:
    """(starts_at, ends_at, multiplier) of the group's campaign windows that end after `since` (ends_at is indexed)."""
    return tuple((r[0], r[1], r[2]) for r in conn.execute(
        "SELECT starts_at, ends_at, multiplier FROM campaigns WHERE chat_id = ? AND ends_at > ?", (chat_id, since)))


# How far back a message's own time may lie and still be judged from the cached windows: Telegram redelivers
# nothing older than a day. Anything older is read from the database.
CAMPAIGN_LOOKBACK = timedelta(days=1)


def birthday_month_in(conn: sqlite3.Connection, user_id: int) -> int | None:
    row = conn.execute("SELECT month FROM birthdays WHERE user_id = ?", (user_id,)).fetchone()
    return None if row is None else row[0]


class CampaignRepo:
    """Campaign windows (member day…): while one is on, check-ins pay its points multiplier.

    Every chat message that earns XP asks for the multipliers at its own time, so the group's windows are kept in
    memory (keyed by chat) and judged against that time: a window opens and closes on time with no read. `add`
    — the one way windows are made, by a schedule's run or /runnow — and a group's move to a new id (forget)
    drop the group's entry, so the next message reads the windows again. One instance serves the whole bot
    (bot/app.py hands the points service's to the schedules)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # chat -> (kept from, the windows ending after it)
        self._windows: dict[int, tuple[datetime, tuple[tuple[str, str, str], ...]]] = {}
        self._changes = 0  # a read that a change overtook is not kept

    async def add(self, chat_id: int, schedule_id: int | None, multiplier: str, starts_at: datetime, ends_at: datetime, title: str,
                  end_post: dict | None = None, settles: tuple[str, int] | None = None) -> tuple[int, int | None]:
        """The window; `end_post`: its end announcement, deferred to ends_at in the same transaction; `settles`: the
        claimed run this is the first step of (settle_in). (window id, the end announcement's deferred row)."""
        try:
            async with self.db.transaction() as tx:
                async with tx.execute(
                    "INSERT INTO campaigns(chat_id, schedule_id, multiplier, starts_at, ends_at, title) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (chat_id, schedule_id, multiplier, iso(starts_at), iso(ends_at), title),
                ) as cur:
                    campaign_id = (await cur.fetchone())[0]
                end_id = None
                if end_post is not None:
                    end_id = await defer_in(tx, chat_id, "post", end_post, ends_at, starts_at)
                if settles is not None:
                    await settle_in(tx, settles[0], settles[1], starts_at)
                return campaign_id, end_id
        finally:
            self.forget(chat_id)

    def forget(self, *chat_ids: int) -> None:
        """These groups' windows changed (or moved to another id): read them again at the next message."""
        self._changes += 1
        for chat_id in chat_ids:
            self._windows.pop(chat_id, None)

    async def multipliers(self, chat_id: int, at: datetime) -> list[str]:
        cached = self._windows.get(chat_id)
        if cached is None:
            changes, since = self._changes, iso(at - CAMPAIGN_LOOKBACK)
            windows = await self.db.read(_windows_in, chat_id, since)
            # A time is kept as text to the second: one before `kept_from` is at or before `since` as text.
            kept_from = from_iso(since) + timedelta(seconds=1)
            if changes == self._changes:
                self._windows[chat_id] = cached = (kept_from, windows)
            else:
                when = iso(at)
                return [m for starts, ends, m in windows if starts <= when < ends]
        kept_from, windows = cached
        if at < kept_from:  # older than what is kept: ask the database
            return await self.db.read(multipliers_in, chat_id, at)
        if not windows:  # most groups, most of the time: no time to format for every message
            return []
        when = iso(at)
        return [m for starts, ends, m in windows if starts <= when < ends]

    async def birthday_month(self, user_id: int) -> int | None:
        return await self.db.read(birthday_month_in, user_id)

    async def set_birthday(self, user_id: int, month: int | None, now: datetime) -> None:
        """The month only (no day, no year): enough for the birthday-month bonus, and nothing more is kept."""
        async with self.db.transaction() as tx:
            if month is None:
                await tx.execute("DELETE FROM birthdays WHERE user_id = ?", (user_id,))
            else:
                await tx.execute(
                    "INSERT INTO birthdays(user_id, month, at) VALUES (?, ?, ?)"
                    " ON CONFLICT(user_id) DO UPDATE SET month = excluded.month, at = excluded.at",
                    (user_id, month, iso(now)),
                )


def _pending_runs(conn: sqlite3.Connection) -> list:
    """One hop on the writer's thread (the hold is the statements' time, not the event loop's round trips: as a
    transaction() of three hops it held the writer 95 ms while the bench's P1 kept the loop busy)."""
    conn.execute("UPDATE schedules SET pending = NULL WHERE pending IS NOT NULL AND deleted_at IS NOT NULL")
    return fetchall_in(conn, f"SELECT {_COLUMNS} FROM schedules WHERE pending IS NOT NULL ORDER BY pending, id", ())

