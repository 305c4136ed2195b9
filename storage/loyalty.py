"""What the loyalty model reads per member (in SQL, grouped, one row per member) and the segment state it keeps:
the segment shown, a pending downgrade, and one snapshot per group week for 'who moved'."""
from __future__ import annotations

import sqlite3
from datetime import date, datetime
from itertools import islice
from zoneinfo import ZoneInfo

from bot.domain.loyalty import Signals, State
from storage.db import Database, execute_values
from storage.stats import _ACTIVE, _NOT_BOT, utc_bounds


# Rows per write transaction: a 100,000-member group's first look (or its weekly snapshot) is 50 short holds of the
# writer (a few ms each) that other groups' updates slip in between, not one of half a second.
CHUNK = 2_000


class LoyaltyRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def signals(self, chat_id: int, start: date, end: date, tz: str,
                      users: tuple[int, int] | None = None) -> dict[int, Signals]:
        """Present human members who are not admins, with their numbers for the local days start..end — as they stood
        when `end` was over: a member who joined after it is left out, and referrals, feedback and NPS answers count
        up to its end (so the week-start snapshot, taken at the week's first look, is the same whenever that is).
        Read and assembled on the reader's thread, in one snapshot: a large group's rows never reach the event loop.
        With `users` (first, last), only those whose ids are in that range (a page of them: /export places members
        page by page)."""
        return await self.db.read(_signals, chat_id, start, end, tz, users)

    async def states(self, chat_id: int, users: tuple[int, int] | None = None) -> dict[int, State]:
        """Every member's stored segment state; with `users` (first, last), those whose ids are in that range."""
        return await self.db.read(_states, chat_id, users)

    async def snapshot(self, chat_id: int, week: date) -> dict[int, str] | None:
        """The segments as they stood when `week` began; None if that week was never snapshotted (or its snapshot
        was not finished: it counts only once marked done, with its last chunk)."""
        return await self.db.read(_snapshot, chat_id, week.isoformat())

    async def save(self, chat_id: int, states: dict[int, State], gone: list[int], week: date,
                   snapshot: dict[int, str] | None) -> int:
        """Write `states` (the ones that changed) and delete the `gone`, CHUNK rows per transaction; with `snapshot`,
        first the week's starting point, in chunks too, the week marked done with its last one. A crash in between
        leaves the week not done (the next look takes it again: no stored state is newer than the week until it is
        done) or some states written (the next look settles them again, to the same). Each chunk's rows are made
        just before it is written (a few ms), never a large group's all at once on the event loop. Returns the rows
        written."""
        w = week.isoformat()
        written = 0
        if snapshot is not None:
            items = iter(snapshot.items())
            parts = max(1, -(-len(snapshot) // CHUNK))
            for i in range(parts):
                rows = [(chat_id, w, u, seg) for u, seg in islice(items, CHUNK)]
                written += await self.db.write(_write_chunk, "snapshot", chat_id, w, rows, i == 0, i == parts - 1)
        items = iter(states.items())
        for _ in range(0, len(states), CHUNK):
            rows = [(chat_id, u, st.segment, st.since.isoformat(), st.pending,
                     st.pending_since.isoformat() if st.pending_since else None) for u, st in islice(items, CHUNK)]
            written += await self.db.write(_write_chunk, "states", chat_id, rows)
        for i in range(0, len(gone), CHUNK):
            written += await self.db.write(_write_chunk, "gone", chat_id, gone[i:i + CHUNK])
        return written


def _write_chunk(conn: sqlite3.Connection, kind: str, chat_id: int, *args) -> int:
    """One chunk, in its own transaction (db.write): part of the week's snapshot (the first clears what a crashed
    look left; the last marks the week done), changed states, or members gone."""
    if kind == "snapshot":
        week, rows, first, last = args
        if first:
            conn.execute("DELETE FROM loyalty_snapshots WHERE chat_id = ? AND week = ?", (chat_id, week))
        execute_values(conn, "INSERT INTO loyalty_snapshots(chat_id, week, user_id, segment)", "(?, ?, ?, ?)", rows)
        if last:
            conn.execute("INSERT INTO loyalty_weeks(chat_id, week) VALUES (?, ?) ON CONFLICT DO NOTHING", (chat_id, week))
        return len(rows)
    if kind == "states":
        (rows,) = args
        execute_values(
            conn, "INSERT INTO loyalty_state(chat_id, user_id, segment, since, pending, pending_since)", "(?, ?, ?, ?, ?, ?)",
            rows, "ON CONFLICT(chat_id, user_id) DO UPDATE SET segment = excluded.segment, since = excluded.since,"
            " pending = excluded.pending, pending_since = excluded.pending_since")
        return len(rows)
    (users,) = args
    conn.executemany("DELETE FROM loyalty_state WHERE chat_id = ? AND user_id = ?", [(chat_id, u) for u in users])
    return len(users)


def _plain(conn: sqlite3.Connection, sql: str, params: tuple) -> list[tuple]:
    """Rows as plain tuples, not the connection's sqlite3.Row: a Row is always tracked by the garbage collector, and
    a large group's 100,000 of them per query made each full collection (holding the GIL, so the event loop) walk
    them all; a tuple of plain values is untracked at its first pass."""
    cursor = conn.cursor()
    cursor.row_factory = None
    try:
        return cursor.execute(sql, params).fetchall()
    finally:
        cursor.close()


def _states(conn: sqlite3.Connection, chat_id: int, users: tuple[int, int] | None = None) -> dict[int, State]:
    among, params = ("", ()) if users is None else (" AND user_id BETWEEN ? AND ?", users)
    rows = _plain(conn, f"SELECT user_id, segment, since, pending, pending_since FROM loyalty_state WHERE chat_id = ?{among}",
                  (chat_id, *params))
    return {u: State(seg, date.fromisoformat(since), pending, date.fromisoformat(ps) if ps else None)
            for u, seg, since, pending, ps in rows}


def _snapshot(conn: sqlite3.Connection, chat_id: int, week: str) -> dict[int, str] | None:
    if not conn.execute("SELECT 1 FROM loyalty_weeks WHERE chat_id = ? AND week = ?", (chat_id, week)).fetchone():
        return None
    rows = _plain(conn, "SELECT user_id, segment FROM loyalty_snapshots WHERE chat_id = ? AND week = ?", (chat_id, week))
    return {u: seg for u, seg in rows}


def _signals(conn: sqlite3.Connection, chat_id: int, start: date, end: date, tz: str,
             users: tuple[int, int] | None = None) -> dict[int, Signals]:
    s, e = start.isoformat(), end.isoformat()
    lo, hi = utc_bounds(start, end, tz)
    zone = ZoneInfo(tz)

    def among(col: str) -> tuple[str, tuple]:
        return ("", ()) if users is None else (f" AND {col} BETWEEN ? AND ?", users)

    (m_in, m_p), (u_in, u_p), (a_in, a_p), (r_in, r_p) = among("m.user_id"), among("user_id"), among("a.user_id"), among("inviter_id")

    def fetch(sql: str, params: tuple) -> list:
        return _plain(conn, sql, params)

    def per_user(rows) -> dict[int, tuple]:
        return {r[0]: tuple(r[1:]) for r in rows}

    people = fetch(
        "SELECT m.user_id, COALESCE((SELECT MAX(at) FROM member_events ev WHERE ev.chat_id = m.chat_id"
        " AND ev.user_id = m.user_id AND ev.event = 'join'), m.first_seen_at) AS since FROM members m"
        f" WHERE m.chat_id = ?{m_in} AND m.status IN ('member', 'restricted') AND m.tg_role IS NULL AND "
        + _NOT_BOT.format(col="m.user_id"), (chat_id, *m_p))
    if users is None:
        active_sql, active_p = _ACTIVE, (chat_id, s, e, chat_id, s, e)
    else:
        # The range in both halves, each read on its primary key (chat, user, day) for the page only: `day || ''`
        # keeps the planner off the (chat, day) indexes, which would read the whole group's window for every page.
        active_sql = ("SELECT day, user_id FROM activity_daily WHERE chat_id = ? AND user_id BETWEEN ? AND ?"
                      " AND day || '' BETWEEN ? AND ? AND messages > 0 UNION SELECT day, user_id FROM checkins"
                      " WHERE chat_id = ? AND user_id BETWEEN ? AND ? AND day || '' BETWEEN ? AND ? AND makeup = 0")
        active_p = (chat_id, *users, s, e, chat_id, *users, s, e)
    active = per_user(fetch(f"SELECT user_id, COUNT(DISTINCT day) FROM ({active_sql}) GROUP BY user_id", active_p))
    # A day with a message is one with more than its check-in: /checkin (or the check-in word) is itself a
    # message, and a member who only ever checks in is the reward-driven archetype, not half of one.
    talk = per_user(fetch(
        "SELECT a.user_id, SUM(a.messages > (SELECT COUNT(*) FROM checkins c WHERE c.chat_id = a.chat_id"
        " AND c.user_id = a.user_id AND c.day = a.day AND c.makeup = 0)), SUM(a.replies) FROM activity_daily a"
        f" WHERE a.chat_id = ?{a_in} AND a.day BETWEEN ? AND ? GROUP BY a.user_id", (chat_id, *a_p, s, e)))
    checkins = per_user(fetch(
        f"SELECT user_id, COUNT(*) FROM checkins WHERE chat_id = ?{u_in} AND day BETWEEN ? AND ? AND makeup = 0"
        " GROUP BY user_id", (chat_id, *u_p, s, e)))
    orders = per_user(fetch(
        f"SELECT user_id, COUNT(*) FROM orders WHERE chat_id = ?{u_in} AND created_at >= ? AND created_at < ?"
        " AND status != 'rejected' GROUP BY user_id", (chat_id, *u_p, lo, hi)))
    referrals = per_user(fetch(
        f"SELECT inviter_id, COUNT(*) FROM referrals WHERE chat_id = ?{r_in} AND status = 'confirmed' AND confirmed_at < ?"
        " GROUP BY inviter_id", (chat_id, *r_p, hi)))
    feedback = per_user(fetch(
        f"SELECT user_id, COUNT(*) FROM ledger WHERE chat_id = ?{u_in} AND reason = 'feedback' AND amount > 0"
        " AND currency = 'points' AND at < ? GROUP BY user_id", (chat_id, *u_p, hi)))
    nps = per_user(fetch(
        "SELECT a.user_id, a.score FROM nps_answers a JOIN nps_surveys v ON v.id = a.survey_id WHERE v.chat_id = ?"
        f"{a_in} AND a.at < ? ORDER BY a.at", (chat_id, *a_p, hi)))
    out = {}
    joined_on: dict[str, date] = {}  # many members share a join instant (an import): parse each once
    for user_id, since in people:
        joined = joined_on.get(since)
        if joined is None:
            joined = joined_on[since] = datetime.fromisoformat(since).astimezone(zone).date()
        if joined > end:
            continue
        observed = (end - max(start, joined)).days + 1
        m_days, replies = talk.get(user_id, (0, 0))
        out[user_id] = Signals(
            user_id, max(1, observed), active.get(user_id, (0,))[0], checkins.get(user_id, (0,))[0], m_days or 0,
            orders.get(user_id, (0,))[0], replies or 0, referrals.get(user_id, (0,))[0],
            feedback.get(user_id, (0,))[0], nps.get(user_id, (None,))[0],
        )
    return out
