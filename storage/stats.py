"""Reads for the group stats: the counts bot.domain.stats defines, made in SQL so a large group is never loaded whole.

Local days come from the tables that store them (activity_daily, checkins, stats_hourly); events stored as UTC
times (joins, leaves, orders, referrals) are counted between the UTC instants where the group's local days begin."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.stats import History, PeriodCounts
from storage.db import Database, iso

# Humans only; admins (as Telegram last told us) apart.
_NOT_BOT = "NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = {col} AND u.is_bot = 1)"
_ADMINS = "SELECT user_id FROM members WHERE chat_id = ? AND tg_role IS NOT NULL"

# (day, user_id) of every active member-day in a range: a message, or a check-in that was not a make-up.
_ACTIVE = (
    "SELECT day, user_id FROM activity_daily WHERE chat_id = ? AND day BETWEEN ? AND ? AND messages > 0"
    " UNION SELECT day, user_id FROM checkins WHERE chat_id = ? AND day BETWEEN ? AND ? AND makeup = 0"
)


def utc_bounds(start: date, end: date, tz: str) -> tuple[str, str]:
    """[first instant of `start`, first instant after `end`) in the group's timezone, as stored UTC text."""
    zone = ZoneInfo(tz)
    return (iso(datetime.combine(start, time(0), zone)), iso(datetime.combine(end + timedelta(days=1), time(0), zone)))


@dataclass(frozen=True)
class Contributor:
    user_id: int
    name: str
    messages: int
    active_days: int


class StatsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def members_now(self, chat_id: int) -> tuple[int, int]:
        """(present humans, of them admins)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(tg_role IS NOT NULL), 0) FROM members m WHERE chat_id = ?"
            " AND status IN ('member', 'administrator', 'creator', 'restricted') AND " + _NOT_BOT.format(col="m.user_id"),
            (chat_id,),
        )
        return row[0], row[1]

    async def _distinct_active(self, chat_id: int, start: date, end: date, admins: bool) -> int:
        where = "IN" if admins else "NOT IN"
        return await self.db.fetchval(
            f"SELECT COUNT(DISTINCT user_id) FROM ({_ACTIVE}) x WHERE user_id {where} ({_ADMINS}) AND "
            + _NOT_BOT.format(col="x.user_id"),
            (chat_id, start.isoformat(), end.isoformat(), chat_id, start.isoformat(), end.isoformat(), chat_id),
        )

    async def period(self, chat_id: int, start: date, end: date, tz: str) -> PeriodCounts:
        s, e = start.isoformat(), end.isoformat()
        not_admin = f"user_id NOT IN ({_ADMINS})"
        daily = await self.db.fetchall(
            f"SELECT day, COUNT(*) FROM ({_ACTIVE}) x WHERE {not_admin} AND {_NOT_BOT.format(col='x.user_id')} GROUP BY day",
            (chat_id, s, e, chat_id, s, e, chat_id),
        )
        messages = await self.db.fetchall(
            "SELECT day, SUM(messages), user_id IN (" + _ADMINS + ") AS admin FROM activity_daily"
            " WHERE chat_id = ? AND day BETWEEN ? AND ? AND " + _NOT_BOT.format(col="activity_daily.user_id") + " GROUP BY day, admin",
            (chat_id, chat_id, s, e),
        )
        checkins = await self.db.fetchval(
            f"SELECT COUNT(*) FROM checkins WHERE chat_id = ? AND day BETWEEN ? AND ? AND makeup = 0 AND {not_admin}",
            (chat_id, s, e, chat_id),
        )
        lo, hi = utc_bounds(start, end, tz)
        events = dict((await self.db.fetchall(
            "SELECT CASE WHEN event = 'join' THEN 'join' ELSE 'leave' END AS kind, COUNT(*) FROM member_events"
            " WHERE chat_id = ? AND at >= ? AND at < ? AND " + _NOT_BOT.format(col="member_events.user_id") + " GROUP BY kind",
            (chat_id, lo, hi),
        )))
        orders = await self.db.fetchval(
            "SELECT COUNT(*) FROM orders WHERE chat_id = ? AND created_at >= ? AND created_at < ? AND status != 'rejected'",
            (chat_id, lo, hi),
        )
        referrals = await self.db.fetchval(
            "SELECT COUNT(*) FROM referrals WHERE chat_id = ? AND confirmed_at >= ? AND confirmed_at < ?", (chat_id, lo, hi),
        )
        moderation = await self.db.fetchval(
            "SELECT COALESCE(SUM(n), 0) FROM stats_hourly WHERE chat_id = ? AND metric = 'moderation' AND day BETWEEN ? AND ?",
            (chat_id, s, e),
        )
        member_messages = {date.fromisoformat(d): n for d, n, admin in messages if not admin}
        return PeriodCounts(
            start=start, end=end,
            daily_active={date.fromisoformat(d): n for d, n in daily},
            daily_messages=member_messages,
            wau=await self._distinct_active(chat_id, end - timedelta(days=6), end, admins=False),
            mau=await self._distinct_active(chat_id, end - timedelta(days=29), end, admins=False),
            checkins=checkins, joins=events.get("join", 0), leaves=events.get("leave", 0),
            orders=orders, referrals=referrals, moderation=moderation,
            admin_active=await self._distinct_active(chat_id, start, end, admins=True),
            admin_messages=sum(n for _, n, admin in messages if admin),
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
        rows = await self.db.fetchall(
            "SELECT a.user_id, SUM(a.messages) AS n, COUNT(*) AS days,"
            " COALESCE(u.first_name || COALESCE(' ' || u.last_name, ''), CAST(a.user_id AS TEXT)) AS name"
            " FROM activity_daily a LEFT JOIN users u ON u.user_id = a.user_id"
            f" WHERE a.chat_id = ? AND a.day BETWEEN ? AND ? AND a.user_id NOT IN ({_ADMINS}) AND COALESCE(u.is_bot, 0) = 0"
            " GROUP BY a.user_id ORDER BY n DESC, days DESC, a.user_id LIMIT ?",
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
