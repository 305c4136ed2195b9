"""Reads for the group stats: the counts bot.domain.stats defines, made in SQL so a large group is never loaded whole.

Local days come from the tables that store them (activity_daily, checkins, stats_hourly); events stored as UTC
times (joins, leaves, orders, referrals) are counted between the UTC instants where the group's local days begin."""
from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.stats import History, PeriodCounts, days_between, trailing_counts
from storage.db import Database, iso

# Humans only; admins (as Telegram last told us) apart. Bots are few: their ids are read once (a partial index).
_BOTS = "SELECT user_id FROM users WHERE is_bot = 1"
_NOT_BOT = "{col} NOT IN (" + _BOTS + ")"
_ADMINS = "SELECT user_id FROM members WHERE chat_id = ? AND tg_role IS NOT NULL"
_MEMBER = "user_id NOT IN (" + _ADMINS + ") AND user_id NOT IN (" + _BOTS + ")"

# (day, user_id) of every active member-day in a range: a message, or a check-in that was not a make-up.
_ACTIVE = (
    "SELECT day, user_id FROM activity_daily WHERE chat_id = ? AND day BETWEEN ? AND ? AND messages > 0"
    " UNION SELECT day, user_id FROM checkins WHERE chat_id = ? AND day BETWEEN ? AND ? AND makeup = 0"
)
# The same members, once each (WAU, MAU): both halves read covering indexes only.
_ACTIVE_USERS = (
    "SELECT user_id FROM activity_daily WHERE chat_id = ? AND day BETWEEN ? AND ? AND messages > 0"
    " UNION SELECT user_id FROM checkins WHERE chat_id = ? AND day BETWEEN ? AND ? AND makeup = 0"
)
# What the modlog records that is an action against a member (not its undoing, not a dry-run rule's note).
MODERATION_ACTIONS = ("warn", "mute", "ban", "kick", "delete", "purge")
_PRESENT = "('member', 'administrator', 'creator', 'restricted')"

# A local day's figures are final two days after it: an event is judged by its own date at most 24 h back (and
# Telegram keeps an update no longer), so nothing new can land on it. From then /stats reads its stored row.
FINAL_AFTER = timedelta(days=2)


def utc_bounds(start: date, end: date, tz: str) -> tuple[str, str]:
    """[first instant of `start`, first instant after `end`) in the group's timezone, as stored UTC text."""
    zone = ZoneInfo(tz)
    return (iso(datetime.combine(start, time(0), zone)), iso(datetime.combine(end + timedelta(days=1), time(0), zone)))


def final_day(today: date) -> date:
    """The last local day whose figures can no longer change, seen from `today` in group time."""
    return today - FINAL_AFTER


@dataclass(frozen=True)
class Contributor:
    user_id: int
    name: str
    messages: int
    active_days: int


@dataclass(frozen=True)
class DayFigures:
    """One local day as /stats counts it (members only, admins' messages apart)."""

    active: int = 0
    messages: int = 0
    admin_messages: int = 0
    checkins: int = 0


def _range(start: date, end: date) -> tuple[str, str]:
    return start.isoformat(), end.isoformat()


def _distinct(conn: sqlite3.Connection, chat_id: int, start: date, end: date) -> int:
    s, e = _range(start, end)
    return conn.execute(f"SELECT COUNT(*) FROM ({_ACTIVE_USERS}) x WHERE {_MEMBER}",
                        (chat_id, s, e, chat_id, s, e, chat_id)).fetchone()[0]


def _day_figures(conn: sqlite3.Connection, chat_id: int, start: date, end: date) -> dict[date, DayFigures]:
    """Each day's figures counted from the member-day tables (the live days, and days being closed)."""
    s, e = _range(start, end)
    active = dict(conn.execute(f"SELECT day, COUNT(*) FROM ({_ACTIVE}) x WHERE {_MEMBER} GROUP BY day",
                               (chat_id, s, e, chat_id, s, e, chat_id)).fetchall())
    messages: dict[str, list[int]] = {}
    for day, n, admin in conn.execute(
        f"SELECT day, SUM(messages), user_id IN ({_ADMINS}) AS admin FROM activity_daily"
        f" WHERE chat_id = ? AND day BETWEEN ? AND ? AND {_NOT_BOT.format(col='user_id')} GROUP BY day, admin",
        (chat_id, chat_id, s, e),
    ):
        messages.setdefault(day, [0, 0])[1 if admin else 0] += n
    checkins = dict(conn.execute(
        f"SELECT day, COUNT(*) FROM checkins WHERE chat_id = ? AND day BETWEEN ? AND ? AND makeup = 0 AND {_MEMBER} GROUP BY day",
        (chat_id, s, e, chat_id),
    ).fetchall())
    out = {}
    for day in set(active) | set(messages) | set(checkins):
        m = messages.get(day, (0, 0))
        out[date.fromisoformat(day)] = DayFigures(active.get(day, 0), m[0], m[1], checkins.get(day, 0))
    return out


def _member_days(conn: sqlite3.Connection, chat_id: int, start: date, end: date) -> dict[int, list[int]]:
    """Each member's active days in the range, as sorted ordinals (the trailing windows are counted from these)."""
    s, e = _range(start, end)
    days: dict[int, list[int]] = {}
    for user_id, day in conn.execute(
        f"SELECT user_id, day FROM ({_ACTIVE}) x WHERE {_MEMBER} ORDER BY user_id, day", (chat_id, s, e, chat_id, s, e, chat_id),
    ):
        days.setdefault(user_id, []).append(date.fromisoformat(day).toordinal())
    return days


def _closing(conn: sqlite3.Connection, chat_id: int, first: date, last: date) -> tuple[dict, dict]:
    """One snapshot: the figures of first..last and every member's active days from 29 days before `first`."""
    return _day_figures(conn, chat_id, first, last), _member_days(conn, chat_id, first - timedelta(days=29), last)


def _period(conn: sqlite3.Connection, chat_id: int, start: date, end: date, final: date, lo: str, hi: str) -> tuple:
    s, e = _range(start, end)
    stored_end = min(end, final)
    days: dict[date, DayFigures] = {}
    windows: dict[date, tuple[int, int]] = {}
    if start <= stored_end:
        for day, active, messages, admin_messages, checkins, wau, mau in conn.execute(
            "SELECT day, active, messages, admin_messages, checkins, wau, mau FROM stats_daily"
            " WHERE chat_id = ? AND day BETWEEN ? AND ?", (chat_id, *_range(start, stored_end)),
        ):
            days[date.fromisoformat(day)] = DayFigures(active, messages, admin_messages, checkins)
            windows[date.fromisoformat(day)] = (wau, mau)
    if end > final:
        days.update(_day_figures(conn, chat_id, max(start, final + timedelta(days=1)), end))
    if end in windows:
        wau, mau = windows[end]
    else:
        wau = _distinct(conn, chat_id, end - timedelta(days=6), end)
        mau = _distinct(conn, chat_id, end - timedelta(days=29), end)
    # Admins are a handful: their ids first (a partial index), then only their member-days.
    admins = [u for (u,) in conn.execute(f"{_ADMINS} AND {_NOT_BOT.format(col='user_id')}", (chat_id,))]
    admin_active = 0
    if admins:
        marks = ",".join("?" * len(admins))
        admin_active = conn.execute(
            f"SELECT COUNT(*) FROM (SELECT user_id FROM activity_daily WHERE chat_id = ? AND user_id IN ({marks})"
            f" AND day BETWEEN ? AND ? AND messages > 0 UNION SELECT user_id FROM checkins WHERE chat_id = ?"
            f" AND user_id IN ({marks}) AND day BETWEEN ? AND ? AND makeup = 0) x",
            (chat_id, *admins, s, e, chat_id, *admins, s, e),
        ).fetchone()[0]
    events = dict(conn.execute(
        "SELECT CASE WHEN event = 'join' THEN 'join' ELSE 'leave' END AS kind, COUNT(*) FROM member_events"
        " WHERE chat_id = ? AND at >= ? AND at < ? AND " + _NOT_BOT.format(col="user_id") + " GROUP BY kind",
        (chat_id, lo, hi),
    ).fetchall())
    orders = conn.execute(
        "SELECT COUNT(*) FROM orders WHERE chat_id = ? AND created_at >= ? AND created_at < ? AND status != 'rejected'",
        (chat_id, lo, hi),
    ).fetchone()[0]
    referrals = conn.execute(
        "SELECT COUNT(*) FROM referrals WHERE chat_id = ? AND confirmed_at >= ? AND confirmed_at < ?", (chat_id, lo, hi),
    ).fetchone()[0]
    marks = ",".join("?" * len(MODERATION_ACTIONS))
    moderation, by_rules = conn.execute(
        f"SELECT COUNT(*), COUNT(rule_id) FROM modlog WHERE chat_id = ? AND at >= ? AND at < ? AND dry = 0"
        f" AND action IN ({marks})", (chat_id, lo, hi, *MODERATION_ACTIONS),
    ).fetchone()
    return days, wau, mau, admin_active, events, orders, referrals, moderation, by_rules


class StatsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def members_now(self, chat_id: int) -> tuple[int, int]:
        """(present humans, of them admins)."""
        row = await self.db.fetchone(
            f"SELECT COUNT(*), COALESCE(SUM(tg_role IS NOT NULL), 0) FROM members WHERE chat_id = ? AND status IN {_PRESENT}"
            f" AND {_NOT_BOT.format(col='user_id')}", (chat_id,),
        )
        return row[0], row[1]

    async def close(self, chat_id: int, first: date, last: date) -> int:
        """Store the figures of the final days first..last that are not stored yet (DAU, messages, check-ins, and
        the WAU / MAU ending on each day); returns how many days were stored. Reads once, counts the trailing
        windows off the event loop, writes once."""
        if last < first:
            return 0
        s, e = _range(first, last)
        have = {d for (d,) in await self.db.fetchall(
            "SELECT day FROM stats_daily WHERE chat_id = ? AND day BETWEEN ? AND ?", (chat_id, s, e))}
        missing = [d for d in days_between(first, last) if d.isoformat() not in have]
        if not missing:
            return 0
        figures, member_days = await self.db.read(_closing, chat_id, missing[0], missing[-1])
        weekly, monthly = await asyncio.to_thread(
            lambda: (trailing_counts(member_days.values(), missing[0], missing[-1], 7),
                     trailing_counts(member_days.values(), missing[0], missing[-1], 30)))
        rows = []
        for day in missing:
            f = figures.get(day, DayFigures())
            i = (day - missing[0]).days
            rows.append((chat_id, day.isoformat(), f.active, f.messages, f.admin_messages, f.checkins, weekly[i], monthly[i]))
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO stats_daily(chat_id, day, active, messages, admin_messages, checkins, wau, mau)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id, day) DO NOTHING", rows)
        return len(rows)

    async def claim_report(self, chat_id: int, week: date, now: datetime) -> bool:
        """True once per group and week: the weekly report of `week` (a Monday) may go out."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO weekly_reports(chat_id, week, sent_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (chat_id, week.isoformat(), iso(now)))
            return cursor.rowcount == 1

    async def last_closed(self) -> dict[int, date]:
        """Each group's latest stored day."""
        return {c: date.fromisoformat(d) for c, d in await self.db.fetchall(
            "SELECT chat_id, MAX(day) FROM stats_daily GROUP BY chat_id")}

    async def period(self, chat_id: int, start: date, end: date, tz: str, today: date | None = None) -> PeriodCounts:
        """The period's counts: its final days (see FINAL_AFTER; `today` is the group's, `end` by default) from
        their stored rows — stored first if missing — and the days after from the member-day tables."""
        final = final_day(today or end)
        await self.close(chat_id, start, min(end, final))
        days, wau, mau, admin_active, events, orders, referrals, moderation, by_rules = await self.db.read(
            _period, chat_id, start, end, final, *utc_bounds(start, end, tz))
        return PeriodCounts(
            start=start, end=end,
            daily_active={d: f.active for d, f in days.items() if f.active},
            daily_messages={d: f.messages for d, f in days.items() if f.messages},
            wau=wau, mau=mau, checkins=sum(f.checkins for f in days.values()),
            joins=events.get("join", 0), leaves=events.get("leave", 0),
            orders=orders, referrals=referrals, moderation=moderation, moderation_by_rules=by_rules,
            admin_active=admin_active, admin_messages=sum(f.admin_messages for f in days.values()),
        )

    async def hour_of_week(self, chat_id: int, start: date, end: date) -> list[list[int]]:
        """Messages per (weekday Monday=0, local hour) over the period: a 7×24 grid."""
        grid = [[0] * 24 for _ in range(7)]
        for day, hour, n in await self.db.fetchall(
            "SELECT day, hour, n FROM stats_hourly WHERE chat_id = ? AND metric = 'messages' AND day BETWEEN ? AND ?",
            (chat_id, start.isoformat(), end.isoformat()),
        ):
            grid[date.fromisoformat(day).weekday()][hour] += n
        return grid

    async def top_contributors(self, chat_id: int, start: date, end: date, limit: int = 5) -> list[Contributor]:
        """Members (not admins) by messages in the period, then by active days."""
        # Ranked on the covering index first; names are looked up for the few ranked.
        rows = await self.db.fetchall(
            "WITH ranked AS (SELECT user_id, SUM(messages) AS n, COUNT(*) AS days FROM activity_daily"
            f" WHERE chat_id = ? AND day BETWEEN ? AND ? AND {_MEMBER}"
            " GROUP BY user_id ORDER BY n DESC, days DESC, user_id LIMIT ?)"
            " SELECT r.user_id, r.n, r.days,"
            " COALESCE(u.first_name || COALESCE(' ' || u.last_name, ''), CAST(r.user_id AS TEXT)) AS name"
            " FROM ranked r LEFT JOIN users u ON u.user_id = r.user_id ORDER BY r.n DESC, r.days DESC, r.user_id",
            (chat_id, start.isoformat(), end.isoformat(), chat_id, limit),
        )
        return [Contributor(r["user_id"], r["name"], r["n"], r["days"]) for r in rows]

    async def histories(self, chat_id: int, since: date, tz: str, joined_since: date | None = None) -> list[History]:
        """Every human member's history from `since` (active days, joins and leaves as local days); with
        `joined_since`, only members whose first recorded join is on or after it (retention cohorts)."""
        zone = ZoneInfo(tz)
        people = await self.db.fetchall(
            "SELECT m.user_id, m.tg_role IS NOT NULL AS admin, m.first_seen_at FROM members m"
            " WHERE m.chat_id = ? AND " + _NOT_BOT.format(col="m.user_id"), (chat_id,),
        )
        events: dict[int, list[tuple[date, str]]] = {}
        for user_id, event, at in await self.db.fetchall(
            "SELECT user_id, event, at FROM member_events WHERE chat_id = ? ORDER BY at, id", (chat_id,),
        ):
            day = datetime.fromisoformat(at).astimezone(zone).date()
            events.setdefault(user_id, []).append((day, "join" if event == "join" else "leave"))
        active: dict[int, set[date]] = {}
        for day, user_id in await self.db.fetchall(_ACTIVE, (chat_id, since.isoformat(), "9999-12-31", chat_id, since.isoformat(), "9999-12-31")):
            active.setdefault(user_id, set()).add(date.fromisoformat(day))
        out = []
        for user_id, admin, first_seen in people:
            mine = events.get(user_id, [])
            if joined_since is not None:
                first = next((d for d, k in mine if k == "join"), None)
                if first is None or first < joined_since:
                    continue
            out.append(History(
                user_id, frozenset(active.get(user_id, ())), tuple(mine),
                datetime.fromisoformat(first_seen).astimezone(zone).date(), bool(admin),
            ))
        return out
