"""Check-ins, badges, seasons and opt-outs: the records the points economy keeps beside the ledger."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlite3

import aiosqlite

from storage.db import Database, from_iso, iso
from storage.ledger import season_rank_in


@dataclass(frozen=True)
class CheckinRow:
    day: date
    at: datetime
    streak: int
    points: int
    makeup: bool


def _checkin(row) -> CheckinRow:
    return CheckinRow(date.fromisoformat(row["day"]), from_iso(row["at"]), row["streak"], row["points"], bool(row["makeup"]))


@dataclass(frozen=True)
class ProfileRows:
    """What /me shows, read once from one snapshot."""

    points: int
    xp: int
    days: frozenset[date]
    badges: tuple[str, ...]
    rank: int | None


def _profile_rows(conn: sqlite3.Connection, chat_id: int, user_id: int) -> ProfileRows:
    wallet = conn.execute("SELECT points, xp FROM wallets WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)).fetchone()
    days = frozenset(date.fromisoformat(r[0]) for r in conn.execute(
        "SELECT day FROM checkins WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)))
    badges = tuple(r[0] for r in conn.execute(
        "SELECT badge FROM badges WHERE chat_id = ? AND user_id = ? ORDER BY at, badge", (chat_id, user_id)))
    points, xp = (wallet[0], wallet[1]) if wallet else (0, 0)
    return ProfileRows(points, xp, days, badges, season_rank_in(conn, chat_id, user_id, "points"))


def last_checkin_in(conn: sqlite3.Connection, chat_id: int, user_id: int) -> CheckinRow | None:
    row = conn.execute(
        "SELECT * FROM checkins WHERE chat_id = ? AND user_id = ? ORDER BY day DESC LIMIT 1", (chat_id, user_id)
    ).fetchone()
    return None if row is None else _checkin(row)


def insert_checkin_in(
    conn: sqlite3.Connection, chat_id: int, user_id: int, day: date, at: datetime, streak: int, points: int, xp: int,
    base: int = 0, streak_bonus: int = 0, random_bonus: int = 0, multiplier: str = "1", makeup: bool = False,
) -> bool:
    """The PRIMARY KEY (chat, user, day) makes 'once per day' true in the database. False if that day exists."""
    cur = conn.execute(
        "INSERT INTO checkins(chat_id, user_id, day, at, streak, points, xp, base, streak_bonus, random_bonus, multiplier, makeup)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (chat_id, user_id, day.isoformat(), iso(at), streak, points, xp, base, streak_bonus, random_bonus, multiplier, int(makeup)),
    )
    return cur.rowcount == 1


def checkin_record_in(conn: sqlite3.Connection, chat_id: int, user_id: int) -> tuple[int, int]:
    """(check-ins in all, best streak): what badges are judged on."""
    total, best = conn.execute(
        "SELECT COUNT(*), MAX(streak) FROM checkins WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
    ).fetchone()
    return total or 0, best or 0


def rank_on_day_in(conn: sqlite3.Connection, chat_id: int, day: date, at: datetime) -> int:
    return conn.execute(
        "SELECT COUNT(*) FROM checkins WHERE chat_id = ? AND day = ? AND makeup = 0 AND at <= ?", (chat_id, day.isoformat(), iso(at))
    ).fetchone()[0]


def badges_in(conn: sqlite3.Connection, chat_id: int, user_id: int) -> set[str]:
    return {r[0] for r in conn.execute("SELECT badge FROM badges WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))}


def award_badge_in(conn: sqlite3.Connection, chat_id: int, user_id: int, badge: str, now: datetime) -> bool:
    cur = conn.execute(
        "INSERT INTO badges(chat_id, user_id, badge, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (chat_id, user_id, badge, iso(now)),
    )
    return cur.rowcount == 1


class PointsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def last_checkin(self, chat_id: int, user_id: int) -> CheckinRow | None:
        return await self.db.read(last_checkin_in, chat_id, user_id)

    async def profile(self, chat_id: int, user_id: int) -> ProfileRows:
        return await self.db.read(_profile_rows, chat_id, user_id)

    async def checkin_days(self, chat_id: int, user_id: int) -> set[date]:
        rows = await self.db.fetchall("SELECT day FROM checkins WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
        return {date.fromisoformat(r["day"]) for r in rows}

    async def makeup_days(self, chat_id: int, user_id: int) -> set[date]:
        rows = await self.db.fetchall("SELECT day FROM checkins WHERE chat_id = ? AND user_id = ? AND makeup = 1", (chat_id, user_id))
        return {date.fromisoformat(r["day"]) for r in rows}

    async def checkins_total(self, chat_id: int, user_id: int) -> int:
        return await self.db.fetchval("SELECT COUNT(*) FROM checkins WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))

    async def rank_on_day(self, chat_id: int, day: date, at: datetime) -> int:
        return await self.db.read(rank_on_day_in, chat_id, day, at)

    @staticmethod
    async def insert_checkin(tx: aiosqlite.Connection, *args, **kwargs) -> bool:
        """insert_checkin_in inside the caller's transaction()."""
        return await tx._execute(insert_checkin_in, tx._conn, *args, **kwargs)

    @staticmethod
    async def award_badge(tx: aiosqlite.Connection, chat_id: int, user_id: int, badge: str, now: datetime) -> bool:
        """award_badge_in inside the caller's transaction()."""
        return await tx._execute(award_badge_in, tx._conn, chat_id, user_id, badge, now)

    @staticmethod
    async def set_streak(tx: aiosqlite.Connection, chat_id: int, user_id: int, day: date, streak: int) -> None:
        await tx.execute(
            "UPDATE checkins SET streak = ? WHERE chat_id = ? AND user_id = ? AND day = ?", (streak, chat_id, user_id, day.isoformat())
        )

    async def badges(self, chat_id: int, user_id: int) -> list[tuple[str, datetime]]:
        rows = await self.db.fetchall(
            "SELECT badge, at FROM badges WHERE chat_id = ? AND user_id = ? ORDER BY at, badge", (chat_id, user_id)
        )
        return [(r["badge"], from_iso(r["at"])) for r in rows]

    @staticmethod
    async def record_weekly_top(tx: aiosqlite.Connection, chat_id: int, week: date, user_id: int, points: int, now: datetime) -> int | None:
        """The week's top earner, once per group and week. Returns how many weeks they have now topped, or None
        if this week was already recorded."""
        cur = await tx.execute(
            "INSERT INTO weekly_tops(chat_id, week, user_id, points, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (chat_id, week.isoformat(), user_id, points, iso(now)),
        )
        if cur.rowcount != 1:
            return None
        async with tx.execute("SELECT COUNT(*) FROM weekly_tops WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)) as cur:
            return (await cur.fetchone())[0]

    async def checkin_counts(self, chat_id: int, since: date | None, limit: int) -> list[tuple[int, int]]:
        rows = await self.db.fetchall(
            "SELECT user_id, COUNT(*) AS n FROM checkins WHERE chat_id = ? AND day >= ? GROUP BY user_id"
            " ORDER BY n DESC, user_id LIMIT ?",
            (chat_id, since.isoformat() if since else "", limit),
        )
        return [(r["user_id"], r["n"]) for r in rows]

    async def current_streaks(self, chat_id: int, alive_since: date, limit: int) -> list[tuple[int, int]]:
        """Streaks still alive: the member's latest check-in is on or after `alive_since` (yesterday)."""
        rows = await self.db.fetchall(
            "SELECT c.user_id, c.streak FROM checkins c JOIN (SELECT user_id, MAX(day) AS d FROM checkins WHERE chat_id = ?"
            " GROUP BY user_id) last ON last.user_id = c.user_id AND last.d = c.day WHERE c.chat_id = ? AND c.day >= ?"
            " ORDER BY c.streak DESC, c.user_id LIMIT ?",
            (chat_id, chat_id, alive_since.isoformat(), limit),
        )
        return [(r["user_id"], r["streak"]) for r in rows]

    # Opt-outs are per person, across groups: someone who asks for quiet means it everywhere.
    async def optouts(self, user_id: int) -> set[str]:
        rows = await self.db.fetchall("SELECT kind FROM optouts WHERE user_id = ?", (user_id,))
        return {r["kind"] for r in rows}

    async def set_optout(self, user_id: int, kinds: list[str], out: bool, now: datetime) -> None:
        async with self.db.transaction() as tx:
            for kind in kinds:
                if out:
                    await tx.execute("INSERT INTO optouts(user_id, kind, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (user_id, kind, iso(now)))
                else:
                    await tx.execute("DELETE FROM optouts WHERE user_id = ? AND kind = ?", (user_id, kind))

    async def season(self, chat_id: int) -> tuple[int, int, datetime] | None:
        """The open season: (id, number, started_at)."""
        row = await self.db.fetchone(
            "SELECT id, number, started_at FROM seasons WHERE chat_id = ? AND ended_at IS NULL ORDER BY number DESC LIMIT 1", (chat_id,)
        )
        return None if row is None else (row["id"], row["number"], from_iso(row["started_at"]))

    async def close_season(self, chat_id: int, standings: list[tuple[int, int, int]], expected_number: int, now: datetime) -> int | None:
        """Archive standings (user, points, xp) and open season expected_number + 1. None if someone else already did."""
        async with self.db.transaction() as tx:
            async with tx.execute(
                "SELECT id, number FROM seasons WHERE chat_id = ? AND ended_at IS NULL ORDER BY number DESC LIMIT 1", (chat_id,)
            ) as cur:
                row = await cur.fetchone()
            current = (row["id"], row["number"]) if row else None
            if (current[1] if current else 0) != expected_number:
                return None
            if current is None:
                first = await tx.execute("INSERT INTO seasons(chat_id, number, started_at) VALUES (?, 1, '')", (chat_id,))
                current = (first.lastrowid, 1)
            await tx.execute("UPDATE seasons SET ended_at = ? WHERE id = ?", (iso(now), current[0]))
            await tx.executemany(
                "INSERT INTO season_standings(season_id, user_id, rank, points, xp) VALUES (?, ?, ?, ?, ?)",
                [(current[0], user, rank, points, xp) for rank, (user, points, xp) in enumerate(standings, 1)],
            )
            await tx.execute("INSERT INTO seasons(chat_id, number, started_at) VALUES (?, ?, ?)", (chat_id, current[1] + 1, iso(now)))
            return current[1] + 1

    @staticmethod
    async def use_makeup_card(tx: aiosqlite.Connection, chat_id: int, user_id: int, day: date, now: datetime) -> int | None:
        """Spend the member's oldest unused make-up card (a fulfilled shop order); the order id, or None if they have none."""
        async with tx.execute(
            "SELECT o.id FROM orders o JOIN shop_items i ON i.id = o.item_id WHERE o.chat_id = ? AND o.user_id = ?"
            " AND o.status = 'fulfilled' AND i.grants = 'makeup_card'"
            " AND NOT EXISTS (SELECT 1 FROM makeup_card_uses u WHERE u.order_id = o.id) ORDER BY o.id LIMIT 1",
            (chat_id, user_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        await tx.execute(
            "INSERT INTO makeup_card_uses(order_id, chat_id, user_id, day, at) VALUES (?, ?, ?, ?, ?)",
            (row[0], chat_id, user_id, day.isoformat(), iso(now)),
        )
        return row[0]

    async def makeup_cards(self, chat_id: int, user_id: int) -> int:
        return await self.db.fetchval(
            "SELECT COUNT(*) FROM orders o JOIN shop_items i ON i.id = o.item_id WHERE o.chat_id = ? AND o.user_id = ?"
            " AND o.status = 'fulfilled' AND i.grants = 'makeup_card'"
            " AND NOT EXISTS (SELECT 1 FROM makeup_card_uses u WHERE u.order_id = o.id)",
            (chat_id, user_id),
        )

    async def warned(self, tx: aiosqlite.Connection, chat_id: int, user_id: int, today: date, amount: int, quiet_days: int) -> bool:
        """Record an expiry warning sent today; False (nothing recorded) if this member already had one in the
        last quiet_days days, so that someone who earns every day hears about expiry once a week, not daily."""
        cur = await tx.execute(
            # day <= today: rows written before notices were weekly hold the (future) expiry day instead.
            "SELECT 1 FROM expiry_warnings WHERE chat_id = ? AND user_id = ? AND day > ? AND day <= ?",
            (chat_id, user_id, (today - timedelta(days=quiet_days)).isoformat(), today.isoformat()),
        )
        if await cur.fetchone() is not None:
            return False
        cur = await tx.execute(
            "INSERT INTO expiry_warnings(chat_id, user_id, day, amount) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (chat_id, user_id, today.isoformat(), amount),
        )
        return cur.rowcount == 1
