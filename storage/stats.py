"""Reads for the group stats: the counts bot.domain.stats defines, made in SQL so a large group is never loaded whole.

Local days come from the tables that store them (activity_daily, checkins, stats_hourly); events stored as UTC
times (joins, leaves, orders, referrals) are counted between the UTC instants where the group's local days begin."""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.stats import PeriodCounts, days_between, lifecycle_of_sets, trailing_counts, week_start
from storage.db import Database, iso

# Humans only; admins apart on their days as admins (below). Bots are few: their ids are read once (a partial index).
_BOTS = "SELECT user_id FROM users WHERE is_bot = 1"
_NOT_BOT = "{col} NOT IN (" + _BOTS + ")"
# Who was an owner/admin on which local days, read once per read: per stint (admin_spans) its first and last local day
# (None: open), and each admin now without a recorded stint (members.tg_role; e.g. from before admin_spans existed)
# as one all along. Humans only. Written into the statements as numbers and dates (a handful of stints): as a
# subquery they were read again by each statement. A day an admin was one for any part of is an admin's day.
AdminDays = tuple[tuple[int, "str | None", "str | None"], ...]


def _admin_days(conn: sqlite3.Connection, chat_id: int, tz: str) -> AdminDays:
    local = LocalDays(tz)
    spans = [(u, None if since is None else local(since).isoformat(), None if until is None else local(until).isoformat())
             for u, since, until in conn.execute(
                 "SELECT s.user_id, s.since, s.until FROM admin_spans s JOIN users u ON u.user_id = s.user_id"
                 " WHERE s.chat_id = ? AND u.is_bot = 0", (chat_id,))]
    open_ = {u for u, _, until in spans if until is None}
    # ORDER BY: the planner then takes the partial index of admins, not a scan of every member.
    spans += [(int(u), None, None) for (u,) in conn.execute(
        "SELECT m.user_id FROM members m JOIN users u ON u.user_id = m.user_id WHERE m.chat_id = ?"
        " AND m.tg_role IS NOT NULL AND u.is_bot = 0 ORDER BY m.user_id", (chat_id,)) if u not in open_]
    return tuple(sorted(set(spans), key=lambda s: (s[0], s[1] or "", s[2] or "9")))


def _admin_on(admins: AdminDays, col: str = "user_id", day: str = "day") -> str:
    """The condition "an admin's day" on (`col`, `day`): the day of a stint of that person's."""
    whole = [u for u, first, last in admins if first is None and last is None]
    parts = [f"{col} IN ({','.join(str(int(u)) for u in whole)})"] if whole else []
    for u, first, last in admins:
        if first is None and last is None:
            continue
        bounds = ([f"{day} >= '{date.fromisoformat(first).isoformat()}'"] if first else []) + (
            [f"{day} <= '{date.fromisoformat(last).isoformat()}'"] if last else [])
        parts.append(f"({col} = {int(u)} AND {' AND '.join(bounds)})")
    return "(" + " OR ".join(parts) + ")" if parts else "0"


def _member(admins: AdminDays, col: str = "user_id", day: str = "day") -> str:
    """The condition "a member's day: not an admin's, not a bot's" on (`col`, `day`)."""
    apart = f"NOT {_admin_on(admins, col, day)} AND " if admins else ""
    return apart + _NOT_BOT.format(col=col)


def _split(admins: AdminDays) -> tuple[str, str]:
    """_member as (the part on the day: the stints with an end or a start, "1" when none; the part on the person
    alone: admins all along, bots), so that a query of distinct members tests the person once, not on every day."""
    dated = tuple(a for a in admins if a[1] is not None or a[2] is not None)
    whole = tuple(a for a in admins if a[1] is None and a[2] is None)
    return (f"NOT {_admin_on(dated)}" if dated else "1"), _member(whole)

# (day, user_id) of every active member-day in a range: a message, or a check-in that was not a make-up.
_ACTIVE = (
    "SELECT day, user_id FROM activity_daily WHERE chat_id = ? AND day BETWEEN ? AND ? AND messages > 0"
    " UNION SELECT day, user_id FROM checkins WHERE chat_id = ? AND day BETWEEN ? AND ? AND makeup = 0"
)
# The same members, once each (WAU, MAU), on the days `cond` (on user_id and day) holds: both halves read covering
# indexes only.
def _active_users(cond: str) -> str:
    if cond == "1":
        cond = ""
    else:
        cond = f" AND {cond}"
    return ("SELECT user_id FROM activity_daily WHERE chat_id = ? AND day BETWEEN ? AND ? AND messages > 0"
            f"{cond} UNION SELECT user_id FROM checkins WHERE chat_id = ? AND day BETWEEN ? AND ? AND makeup = 0{cond}")
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


def _distinct(conn: sqlite3.Connection, chat_id: int, start: date, end: date, admins: AdminDays) -> int:
    s, e = _range(start, end)
    on_day, person = _split(admins)
    return conn.execute(f"SELECT COUNT(*) FROM ({_active_users(on_day)}) x WHERE {person}",
                        (chat_id, s, e, chat_id, s, e)).fetchone()[0]


def _users(conn: sqlite3.Connection, chat_id: int, start: date, end: date, admins: AdminDays) -> frozenset[int]:
    s, e = _range(start, end)
    on_day, person = _split(admins)
    return frozenset(u for (u,) in conn.execute(f"SELECT user_id FROM ({_active_users(on_day)}) x WHERE {person}",
                                                 (chat_id, s, e, chat_id, s, e)))


def _trailing(conn: sqlite3.Connection, chat_id: int, end: date, width: int, final: date, admins: AdminDays,
              cache: dict | None) -> int:
    """Members active in the `width` days ending on `end`, a live day (after `final`): the members of the window's
    final days (kept in `cache` until a newer day is final: those days no longer change) joined with the live days'."""
    first = end - timedelta(days=width - 1)
    if cache is None or first > final:
        return _distinct(conn, chat_id, first, end, admins)
    key = (chat_id, "active", final, first, admins)
    kept = cache.get(key)
    if kept is None:
        kept = _users(conn, chat_id, first, final, admins)
        _keep(cache, key, final, kept)
    return len(kept | _users(conn, chat_id, final + timedelta(days=1), end, admins))


# Groups whose final days' figures are kept at once (a kept month of a large group's members is a few megabytes).
KEPT_GROUPS = 16


def _keep(cache: dict, key: tuple, final: date, value: object) -> None:
    """Keep `value` for `key` (chat id, kind, final day, …), dropping what the group kept for older final days, and the group
    kept longest ago when more than KEPT_GROUPS are kept."""
    chat_id = key[0]
    for old in [k for k in cache if k[0] == chat_id and k[2] != final]:
        del cache[old]
    cache[key] = value
    chats = list(dict.fromkeys(k[0] for k in cache))
    for gone in chats[:-KEPT_GROUPS]:
        for k in [k for k in cache if k[0] == gone]:
            del cache[k]


def _day_figures(conn: sqlite3.Connection, chat_id: int, start: date, end: date,
                 admins: AdminDays) -> dict[date, DayFigures]:
    """Each day's figures counted from the member-day tables (the live days, and days being closed)."""
    s, e = _range(start, end)
    member = _member(admins)
    active = dict(conn.execute(f"SELECT day, COUNT(*) FROM ({_ACTIVE}) x WHERE {member} GROUP BY day",
                               (chat_id, s, e, chat_id, s, e)).fetchall())
    messages: dict[str, list[int]] = {}
    admin = _admin_on(admins)
    for day, n, is_admin in conn.execute(
        f"SELECT day, SUM(messages), {admin} AS admin FROM activity_daily"
        f" WHERE chat_id = ? AND day BETWEEN ? AND ? AND {_NOT_BOT.format(col='user_id')} GROUP BY day, admin",
        (chat_id, s, e),
    ):
        messages.setdefault(day, [0, 0])[1 if is_admin else 0] += n
    checkins = dict(conn.execute(
        f"SELECT day, COUNT(*) FROM checkins WHERE chat_id = ? AND day BETWEEN ? AND ? AND makeup = 0 AND {member} GROUP BY day",
        (chat_id, s, e),
    ).fetchall())
    out = {}
    for day in set(active) | set(messages) | set(checkins):
        m = messages.get(day, (0, 0))
        out[date.fromisoformat(day)] = DayFigures(active.get(day, 0), m[0], m[1], checkins.get(day, 0))
    return out


def _member_days(conn: sqlite3.Connection, chat_id: int, start: date, end: date,
                 admins: AdminDays) -> dict[int, list[int]]:
    """Each member's active days in the range, as sorted ordinals (the trailing windows are counted from these)."""
    s, e = _range(start, end)
    days: dict[int, list[int]] = {}
    for user_id, day in conn.execute(
        f"SELECT user_id, day FROM ({_ACTIVE}) x WHERE {_member(admins)} ORDER BY user_id, day", (chat_id, s, e, chat_id, s, e),
    ):
        days.setdefault(user_id, []).append(date.fromisoformat(day).toordinal())
    return days


def _closing(conn: sqlite3.Connection, chat_id: int, first: date, last: date, tz: str) -> tuple[dict, dict]:
    """One snapshot: the figures of first..last and every member's active days from 29 days before `first`."""
    admins = _admin_days(conn, chat_id, tz)
    return (_day_figures(conn, chat_id, first, last, admins),
            _member_days(conn, chat_id, first - timedelta(days=29), last, admins))


def _admins_active(admins: AdminDays, what: str) -> str:
    """`what` (columns of user_id, day) of the admins' active days in a range (chat_id, start, end twice), on the days
    they were admins: only their own rows (on the primary key: the handful of humans among them)."""
    among = f"user_id IN ({','.join(str(int(u)) for u in sorted({a[0] for a in admins}))}) AND {_admin_on(admins)}"
    return (f"SELECT {what} FROM activity_daily WHERE chat_id = ? AND {among} AND day BETWEEN ? AND ? AND messages > 0"
            f" UNION SELECT {what} FROM checkins WHERE chat_id = ? AND {among} AND day BETWEEN ? AND ? AND makeup = 0")


def _days(conn: sqlite3.Connection, chat_id: int, start: date, end: date, final: date,
          tz: str) -> list[tuple[date, DayFigures, int]]:
    """Each day of start..end with anything on it, as /stats counts it — its stored row once final and stored, else
    counted from the member-day tables (_day_figures) — with how many admins were active on it (apart)."""
    admins = _admin_days(conn, chat_id, tz)
    days: dict[date, DayFigures] = {}
    if start <= min(end, final):
        for day, active, messages, admin_messages, checkins in conn.execute(
            "SELECT day, active, messages, admin_messages, checkins FROM stats_daily WHERE chat_id = ? AND day BETWEEN ? AND ?",
            (chat_id, *_range(start, min(end, final))),
        ):
            days[date.fromisoformat(day)] = DayFigures(active, messages, admin_messages, checkins)
    missing = [d for d in days_between(start, end) if d not in days]
    if missing:
        days.update((d, f) for d, f in _day_figures(conn, chat_id, missing[0], missing[-1], admins).items() if d not in days)
    admin_active = {date.fromisoformat(d): n for d, n in conn.execute(
        f"SELECT day, COUNT(*) FROM ({_admins_active(admins, 'day, user_id')}) x GROUP BY day",
        (chat_id, *_range(start, end), chat_id, *_range(start, end)))} if admins else {}
    return [(d, days.get(d, DayFigures()), admin_active.get(d, 0)) for d in sorted(set(days) | set(admin_active))
            if days.get(d, DayFigures()) != DayFigures() or admin_active.get(d)]


def _first_last(conn: sqlite3.Connection, chat_id: int) -> tuple[str | None, str | None]:
    """The group's first and last local day with a message or a check-in (on the covering indexes)."""
    return conn.execute(
        "SELECT MIN(lo), MAX(hi) FROM (SELECT MIN(day) AS lo, MAX(day) AS hi FROM activity_daily WHERE chat_id = ?"
        " UNION ALL SELECT MIN(day), MAX(day) FROM checkins WHERE chat_id = ?)", (chat_id, chat_id)).fetchone()


# How many local days /export's daily stats read at once: other reads go between (a large group's month is one read).
DAYS_PER_READ = 31


def _period(conn: sqlite3.Connection, chat_id: int, start: date, end: date, final: date, tz: str,
            cache: dict | None = None) -> tuple:
    lo, hi = utc_bounds(start, end, tz)
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
    all_admins = _admin_days(conn, chat_id, tz)
    if end > final:
        days.update(_day_figures(conn, chat_id, max(start, final + timedelta(days=1)), end, all_admins))
    if end in windows:
        wau, mau = windows[end]
    else:
        wau = _trailing(conn, chat_id, end, 7, final, all_admins, cache)
        mau = _trailing(conn, chat_id, end, 30, final, all_admins, cache)
    admin_active = conn.execute(f"SELECT COUNT(*) FROM ({_admins_active(all_admins, 'user_id')}) x",
                                (chat_id, s, e, chat_id, s, e)).fetchone()[0] if all_admins else 0
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


# How many members of a period's final days are kept ranked (see _top): the live days can lift someone from below
# the kept ones into the top only if the kept ones' last is within the live days' messages of the top's last.
TOP_KEPT = 500
# How many top contributors /stats shows.
TOP_LIMIT = 5


@dataclass(frozen=True)
class Ranking:
    """Members by (messages, active days, id) over some final days: the best TOP_KEPT, or everyone (complete)."""

    rows: tuple[tuple[int, int, int], ...]  # (user_id, messages, days), best first
    complete: bool


def _ranked(conn: sqlite3.Connection, chat_id: int, start: date, end: date, admins: AdminDays,
            limit: int | None, only: list[int] | None = None) -> list[tuple[int, int, int]]:
    """(user_id, messages, days with a row), best first: the definition of the ranking, on the covering index."""
    among = f" AND user_id IN ({','.join(str(int(u)) for u in only)})" if only is not None else ""
    rows = conn.execute(
        "SELECT user_id, SUM(messages) AS n, COUNT(*) AS days FROM activity_daily"
        f" WHERE chat_id = ? AND day BETWEEN ? AND ? AND {_member(admins)}{among}"
        " GROUP BY user_id ORDER BY n DESC, days DESC, user_id" + (f" LIMIT {int(limit)}" if limit is not None else ""),
        (chat_id, *_range(start, end)))
    return [tuple(r) for r in rows]


def _best(totals: dict[int, tuple[int, int]], limit: int) -> list[tuple[int, int, int]]:
    return sorted(((u, n, d) for u, (n, d) in totals.items()), key=lambda r: (-r[1], -r[2], r[0]))[:limit]


def _top(conn: sqlite3.Connection, chat_id: int, start: date, end: date, final: date, limit: int,
         cache: dict | None, tz: str) -> list[tuple[int, str, int, int]]:
    """The period's top `limit` members with their names. The final days' ranking comes from `cache` when it holds
    it (keyed by the days and the admins left out), else is read and kept there. Then the live days are added: a
    member in the kept ranking has an exact total; one outside it had at most the kept last's messages on the final
    days, so only live members who could still reach the top are read exactly, and if someone outside everything
    read could tie the top's last (kept last ≥ it), the whole period is ranked instead: always the exact answer."""
    admins = _admin_days(conn, chat_id, tz)
    closed_end = min(end, final)
    if start > closed_end:
        rows = _ranked(conn, chat_id, start, end, admins, limit)
    else:
        key = (chat_id, "ranking", final, start, closed_end, admins, limit)
        ranking = None if cache is None else cache.get(key)
        if ranking is None:
            kept = max(TOP_KEPT, limit)
            got = _ranked(conn, chat_id, start, closed_end, admins, kept)
            ranking = Ranking(tuple(got), len(got) < kept)
            if cache is not None:
                _keep(cache, key, final, ranking)
        rows = list(ranking.rows[:limit])
        if end > final:
            exact = {u: (n, d) for u, n, d in ranking.rows}
            unknown: dict[int, tuple[int, int]] = {}
            for u, n, d in _ranked(conn, chat_id, final + timedelta(days=1), end, admins, None):
                if u in exact:
                    exact[u] = (exact[u][0] + n, exact[u][1] + d)
                elif ranking.complete:
                    exact[u] = (n, d)
                else:
                    unknown[u] = (n, d)
            rows = _best(exact, limit)
            if not ranking.complete:
                kept_last = ranking.rows[-1][1]
                reach = [u for u, (n, _) in unknown.items() if len(rows) < limit or kept_last + n >= rows[-1][1]]
                if reach:
                    for u, n, d in _ranked(conn, chat_id, start, closed_end, admins, None, reach):
                        exact[u] = (n + unknown[u][0], d + unknown[u][1])
                    for u in reach:
                        exact.setdefault(u, unknown[u])
                    rows = _best(exact, limit)
                if len(rows) < limit or kept_last >= rows[-1][1]:
                    rows = _ranked(conn, chat_id, start, end, admins, limit)
    if not rows:
        return []
    names = dict(conn.execute(
        "SELECT user_id, COALESCE(first_name || COALESCE(' ' || last_name, ''), CAST(user_id AS TEXT)) FROM users"
        f" WHERE user_id IN ({','.join(str(int(u)) for u, _, _ in rows)})"))
    return [(u, names.get(u, str(u)), n, d) for u, n, d in rows]


def _warm(conn: sqlite3.Connection, chat_id: int, periods: list[tuple[date, date]], final: date, limit: int,
          cache: dict, tz: str) -> int:
    """Read into `cache` what the /stats of each live period (start, end) keeps for the final day `final` (the
    members of its week's and month's final days, see _trailing; its final days' ranking, see _top), unless kept
    already: those days no longer change, so what is kept for this final day is never read again. The live days
    are not read: a /stats reads them itself. Returns how many reads were made."""
    admins = _admin_days(conn, chat_id, tz)
    reads = 0
    for start, end in periods:
        for width in (7, 30):
            first = end - timedelta(days=width - 1)
            key = (chat_id, "active", final, first, admins)
            if end > final >= first and key not in cache:
                _keep(cache, key, final, _users(conn, chat_id, first, final, admins))
                reads += 1
        closed_end = min(end, final)
        key = (chat_id, "ranking", final, start, closed_end, admins, limit)
        if start <= closed_end < end and key not in cache:
            kept = max(TOP_KEPT, limit)
            got = _ranked(conn, chat_id, start, closed_end, admins, kept)
            _keep(cache, key, final, Ranking(tuple(got), len(got) < kept))
            reads += 1
    return reads


def _plain(conn: sqlite3.Connection, sql: str, params: tuple) -> sqlite3.Cursor:
    """A statement's rows as plain tuples: the reader's rows are sqlite3.Row, slower to make by the hundred thousand."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, params)


def _ids(users) -> str:
    return ",".join(str(int(u)) for u in users) or "NULL"


@dataclass(frozen=True)
class RetentionFacts:
    """What /retention needs, compact (see StatsRepo.retention_facts)."""

    joiners: list[tuple[date, list[date]]]  # (week of the first join, active days from the week after it to today)
    settled: list[tuple[int, int]]  # per week: (base, churned) among the members whose activity alone decides
    others: list[tuple[date, date | None, tuple[tuple[date, str], ...], int]]  # (first seen, first active, events, mask)


class LocalDays:
    """The group's local date of a stored time (UTC text of storage.db.iso's fixed shape), as astimezone says, for
    the cost of a text comparison or two: per UTC date, the local date its first instant falls on and the instants
    within it where a local day begins — the very text utc_bounds gives the SQL to compare stored times with."""

    def __init__(self, tz: str) -> None:
        self.zone = ZoneInfo(tz)
        self._dates: dict[str, tuple[date, tuple[tuple[str, date], ...]]] = {}

    def __call__(self, at: str) -> date:
        known = self._dates.get(at[:10])
        if known is None:
            known = self._dates[at[:10]] = self._turns(at[:10])
        day, turns = known
        for start, local in turns:
            if at >= start:
                day = local
        return day

    def _turns(self, utc_date: str) -> tuple[date, tuple[tuple[str, date], ...]]:
        begin = datetime.fromisoformat(utc_date + "T00:00:00+00:00")
        first, end = begin.astimezone(self.zone).date(), iso(begin + timedelta(days=1))
        turns, day = [], first + timedelta(days=1)
        while (start := iso(datetime.combine(day, time(0), self.zone))) < end:
            turns.append((start, day))
            day += timedelta(days=1)
        return first, tuple(turns)


def _retention(conn: sqlite3.Connection, chat_id: int, first_week: date, last_week: date, today: date,
               boundaries: list[date], silent_days: int, tz: str, churn: bool = True) -> RetentionFacts:
    local = LocalDays(tz)
    member = _NOT_BOT.format(col="m.user_id") + " AND m.tg_role IS NULL"
    # Cohorts: members whose first join ever fell in the weeks asked (a later join of an older member is no cohort).
    lo, hi = utc_bounds(first_week, last_week + timedelta(days=6), tz)
    firsts = _plain(
        conn, "SELECT e.user_id, MIN(e.at) FROM member_events e JOIN members m ON m.chat_id = e.chat_id AND m.user_id = e.user_id"
        f" WHERE e.chat_id = ? AND e.event = 'join' AND {member} AND e.user_id IN (SELECT user_id FROM member_events"
        " WHERE chat_id = ? AND event = 'join' AND at >= ? AND at < ?) GROUP BY e.user_id HAVING MIN(e.at) >= ?",
        (chat_id, chat_id, lo, hi, lo)).fetchall()
    weeks = {u: week_start(local(at)) for u, at in firsts}
    days: dict[int, list[date]] = {u: [] for u in weeks}
    if weeks:
        s, e = _range(first_week + timedelta(days=7), today)
        parsed = {d.isoformat(): d for d in days_between(first_week + timedelta(days=7), today)}
        for u, day in _plain(
            conn, f"SELECT user_id, day FROM activity_daily WHERE chat_id = ? AND user_id IN ({_ids(weeks)}) AND day BETWEEN ? AND ?"
            f" AND messages > 0 UNION SELECT user_id, day FROM checkins WHERE chat_id = ? AND user_id IN ({_ids(weeks)})"
            " AND day BETWEEN ? AND ? AND makeup = 0", (chat_id, s, e, chat_id, s, e)):
            days[u].append(parsed[day])
    joiners = [(weeks[u], days[u]) for u in weeks]
    if not churn:
        return RetentionFacts(joiners, [], [])
    # Churn: who was active in the silent_days ending on each boundary, as sets (a day's members read once, in
    # day order on the covering indexes, the windows joined as sets; a GROUP BY member of them cost seconds).
    first, last = boundaries[0] - timedelta(days=silent_days - 1), boundaries[-1]
    day_sets = {d: {u for (u,) in _plain(
        conn, "SELECT user_id FROM activity_daily WHERE chat_id = ? AND day = ? AND messages > 0"
        " UNION ALL SELECT user_id FROM checkins WHERE chat_id = ? AND day = ? AND makeup = 0",
        (chat_id, d.isoformat(), chat_id, d.isoformat()))} for d in days_between(first, last)}
    windows = [set().union(*(day_sets[d] for d in days_between(b - timedelta(days=silent_days - 1), b))) for b in boundaries]
    del day_sets
    since = utc_bounds(first, first, tz)[0]
    humans = {u for (u,) in _plain(conn, f"SELECT m.user_id FROM members m WHERE m.chat_id = ? AND {member}", (chat_id,))}
    # The few who joined, left or were first seen since the first window began: each judged on their own facts.
    people = {u: seen for u, seen in conn.execute(
        f"SELECT m.user_id, m.first_seen_at FROM members m WHERE m.chat_id = ? AND {member} AND (m.first_seen_at >= ?"
        " OR m.user_id IN (SELECT user_id FROM member_events WHERE chat_id = ? AND at >= ?))",
        (chat_id, since, chat_id, since))}
    # Everyone else was first seen before, with no join or leave since: known all along, and present all along
    # unless their last join or leave was a leave — then which windows they were active in alone decides. Each
    # member's last one: the group's joins and leaves before, in each member's order on a covering index (no sort,
    # no row read), the last of each kept.
    latest = dict(_plain(conn, "SELECT user_id, event FROM member_events WHERE chat_id = ? AND at < ? ORDER BY user_id, at, id",
                         (chat_id, since)))
    out = {u for u, event in latest.items() if event != "join"}
    settled = humans - out - people.keys()
    counts = []
    for i in range(len(boundaries) - 1):
        base = windows[i] & settled
        counts.append((len(base), len(base - windows[i + 1])))
    others = []
    masks = dict.fromkeys(people, 0)
    for k, w in enumerate(windows):
        for u in w & people.keys():
            masks[u] |= 1 << k
    if people:
        events: dict[int, list[tuple[date, str]]] = {u: [] for u in people}
        for u, event, at in _plain(
            conn, f"SELECT user_id, event, at FROM member_events WHERE chat_id = ? AND user_id IN ({_ids(people)}) ORDER BY user_id, at, id",
            (chat_id,)):
            events[u].append((local(at), "join" if event == "join" else "leave"))
        for u, seen_at in people.items():
            seen, first_active = local(seen_at), None
            if seen > boundaries[0]:  # known by a boundary through activity alone, maybe
                row = conn.execute(
                    "SELECT MIN(day) FROM (SELECT MIN(day) AS day FROM activity_daily WHERE chat_id = ? AND user_id = ?"
                    " AND messages > 0 UNION ALL SELECT MIN(day) FROM checkins WHERE chat_id = ? AND user_id = ? AND makeup = 0)",
                    (chat_id, u, chat_id, u)).fetchone()
                first_active = None if row[0] is None else date.fromisoformat(row[0])
            others.append((seen, first_active, tuple(events[u]), masks[u]))
    return RetentionFacts(joiners, counts, others)


def _admin_that_day(admins: AdminDays, user_id: int, day: date) -> bool:
    d = day.isoformat()
    return any(u == user_id and (first is None or first <= d) and (last is None or d <= last) for u, first, last in admins)


def _lifecycle(conn: sqlite3.Connection, chat_id: int, week: date, tz: str) -> dict[str, int]:
    """The weekly lifecycle of the week from the Monday `week` (bot.domain.stats.lifecycle): new = whose first join
    ever fell in it; of the others, returning / resurrecting / dormant from the members active in it and in the week
    before (two weeks' member-days, on their days as members, read as sets)."""
    admins = _admin_days(conn, chat_id, tz)
    this = _users(conn, chat_id, week, week + timedelta(days=6), admins)
    before = _users(conn, chat_id, week - timedelta(days=7), week - timedelta(days=1), admins)
    local = LocalDays(tz)
    lo, hi = utc_bounds(week, week + timedelta(days=6), tz)
    new = {u for u, at in _plain(
        conn, "SELECT user_id, MIN(at) FROM member_events WHERE chat_id = ? AND event = 'join' AND user_id IN"
        " (SELECT user_id FROM member_events WHERE chat_id = ? AND event = 'join' AND at >= ? AND at < ?) AND "
        + _NOT_BOT.format(col="user_id") + " GROUP BY user_id HAVING MIN(at) >= ?", (chat_id, chat_id, lo, hi, lo))
        if not _admin_that_day(admins, u, local(at))}
    return lifecycle_of_sets(this, before, new)


def _insert_days(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO stats_daily(chat_id, day, active, messages, admin_messages, checkins, wau, mau)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id, day) DO NOTHING", rows)


def _upsert_churn(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO churn_weekly(chat_id, week, base, churned, basis) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(chat_id, week) DO UPDATE SET base = excluded.base, churned = excluded.churned,"
        " basis = excluded.basis", rows)


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

    async def close(self, chat_id: int, first: date, last: date, tz: str) -> int:
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
        figures, member_days = await self.db.read(_closing, chat_id, missing[0], missing[-1], tz)
        weekly, monthly = await asyncio.to_thread(
            lambda: (trailing_counts(member_days.values(), missing[0], missing[-1], 7),
                     trailing_counts(member_days.values(), missing[0], missing[-1], 30)))
        rows = []
        for day in missing:
            f = figures.get(day, DayFigures())
            i = (day - missing[0]).days
            rows.append((chat_id, day.isoformat(), f.active, f.messages, f.admin_messages, f.checkins, weekly[i], monthly[i]))
        # One hop, one statement: the writer is held for the insert of a few rows, never for the reading and
        # counting above nor for the event loop's round trips (DO NOTHING: a day stored meanwhile stays as it was).
        await self.db.write(_insert_days, rows)
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

    async def period(self, chat_id: int, start: date, end: date, tz: str, today: date | None = None,
                     kept: dict | None = None) -> PeriodCounts:
        """The period's counts: its final days (see FINAL_AFTER; `today` is the group's, `end` by default) from
        their stored rows — stored first if missing — and the days after from the member-day tables. With `kept` (a
        dict the caller keeps), a live end's WAU / MAU keep the members of their final days there (see _trailing)."""
        final = final_day(today or end)
        await self.close(chat_id, start, min(end, final), tz)
        days, wau, mau, admin_active, events, orders, referrals, moderation, by_rules = await self.db.read(
            _period, chat_id, start, end, final, tz, kept)
        return PeriodCounts(
            start=start, end=end,
            daily_active={d: f.active for d, f in days.items() if f.active},
            daily_messages={d: f.messages for d, f in days.items() if f.messages},
            wau=wau, mau=mau, checkins=sum(f.checkins for f in days.values()),
            joins=events.get("join", 0), leaves=events.get("leave", 0),
            orders=orders, referrals=referrals, moderation=moderation, moderation_by_rules=by_rules,
            admin_active=admin_active, admin_messages=sum(f.admin_messages for f in days.values()),
        )

    async def days(self, chat_id: int, tz: str, today: date,
                   per_read: int = DAYS_PER_READ) -> AsyncIterator[list[tuple[date, DayFigures, int]]]:
        """Every local day with a message or a check-in, as /stats counts it (members only: DayFigures), with how
        many admins were active on it, counted apart; in day order, `per_read` days read at a time."""
        first, last = await self.db.read(_first_last, chat_id)
        if first is None:
            return
        start, last_day, final = date.fromisoformat(first), date.fromisoformat(last), final_day(today)
        while start <= last_day:
            end = min(start + timedelta(days=per_read - 1), last_day)
            rows = await self.db.read(_days, chat_id, start, end, final, tz)
            if rows:
                yield rows
            start = end + timedelta(days=1)

    async def lifecycle(self, chat_id: int, week: date, tz: str) -> dict[str, int]:
        """How many members were new, returning, resurrecting and dormant in the week from the Monday `week`."""
        return await self.db.read(_lifecycle, chat_id, week, tz)

    async def hour_of_week(self, chat_id: int, start: date, end: date) -> list[list[int]]:
        """Messages per (weekday Monday=0, local hour) over the period: a 7×24 grid."""
        grid = [[0] * 24 for _ in range(7)]
        for day, hour, n in await self.db.fetchall(
            "SELECT day, hour, n FROM stats_hourly WHERE chat_id = ? AND metric = 'messages' AND day BETWEEN ? AND ?",
            (chat_id, start.isoformat(), end.isoformat()),
        ):
            grid[date.fromisoformat(day).weekday()][hour] += n
        return grid

    async def warm(self, chat_id: int, periods: list[tuple[date, date]], today: date, kept: dict, tz: str) -> int:
        """Keep in `kept` what a /stats of each period (start, end), its end live, keeps for today's final day and
        does not keep yet (see _warm); returns how many reads that took (0 once it is kept)."""
        return await self.db.read(_warm, chat_id, periods, final_day(today), TOP_LIMIT, kept, tz)

    async def top_contributors(self, chat_id: int, start: date, end: date, tz: str, today: date | None = None,
                               limit: int = TOP_LIMIT, ranked: "dict | None" = None) -> list[Contributor]:
        """Members (not admins) by messages in the period, then by active days, then by id. With `ranked` (a dict
        the caller keeps), the ranking of the period's final days is kept there and reused: those days no longer
        change, so only the live days are read again (see _top)."""
        rows = await self.db.read(_top, chat_id, start, end, final_day(today or end), limit, ranked, tz)
        return [Contributor(*r) for r in rows]

    async def stored_churn(self, chat_id: int, first_week: date, last_week: date,
                           basis: str) -> dict[date, tuple[int, int]]:
        """The stored weeks' churn between two Mondays, {week: (base, churned)}, of the weeks counted on this
        `basis` (the silence that churns and the group's timezone: a row counted on another is no answer)."""
        return {date.fromisoformat(w): (b, c) for w, b, c in await self.db.fetchall(
            "SELECT week, base, churned FROM churn_weekly WHERE chat_id = ? AND week BETWEEN ? AND ? AND basis = ?",
            (chat_id, first_week.isoformat(), last_week.isoformat(), basis))}

    async def store_churn(self, chat_id: int, weeks: list[tuple[date, int, int]], basis: str) -> None:
        """Store final weeks' churn (week, base, churned) counted on `basis`; a week stored on another basis (the
        silent days or the timezone changed since) is replaced."""
        if not weeks:
            return
        await self.db.write(_upsert_churn, [(chat_id, w.isoformat(), b, c, basis) for w, b, c in weeks])

    async def retention_facts(self, chat_id: int, first_week: date, last_week: date, today: date,
                              boundaries: list[date], silent_days: int, tz: str, churn: bool = True) -> RetentionFacts:
        """/retention's facts in one read, never every member's history: the joiners of first_week..last_week (not
        admins) with their active days after their first week; and for churn on `boundaries` (see
        bot.domain.stats.churn_marks), who was active in the silent_days ending on each boundary (sets of members,
        each day read once) — counted per week here for the many whose churn that alone decides, with their own
        facts (and a bit mask of those sets) for the few who joined, left or were first seen since the first window
        began. With churn=False only the joiners."""
        return await self.db.read(_retention, chat_id, first_week, last_week, today, boundaries, silent_days, tz, churn)
