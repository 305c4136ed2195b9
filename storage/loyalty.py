"""What the loyalty model reads per member (in SQL, grouped, one row per member) and the segment state it keeps:
the segment shown, a pending downgrade, and one snapshot per group week for 'who moved'."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.loyalty import Signals, State
from storage.db import Database
from storage.stats import _ACTIVE, _NOT_BOT, utc_bounds


class LoyaltyRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def signals(self, chat_id: int, start: date, end: date, tz: str) -> dict[int, Signals]:
        """Present human members who are not admins, with their numbers for the local days start..end — as they stood
        when `end` was over: a member who joined after it is left out, and referrals, feedback and NPS answers count
        up to its end (so the week-start snapshot, taken at the week's first look, is the same whenever that is)."""
        s, e = start.isoformat(), end.isoformat()
        lo, hi = utc_bounds(start, end, tz)
        zone = ZoneInfo(tz)
        people = await self.db.fetchall(
            "SELECT m.user_id, COALESCE((SELECT MAX(at) FROM member_events ev WHERE ev.chat_id = m.chat_id"
            " AND ev.user_id = m.user_id AND ev.event = 'join'), m.first_seen_at) AS since FROM members m"
            " WHERE m.chat_id = ? AND m.status IN ('member', 'restricted') AND m.tg_role IS NULL AND "
            + _NOT_BOT.format(col="m.user_id"), (chat_id,))

        def per_user(rows) -> dict[int, tuple]:
            return {r[0]: tuple(r[1:]) for r in rows}

        active = per_user(await self.db.fetchall(
            f"SELECT user_id, COUNT(DISTINCT day) FROM ({_ACTIVE}) GROUP BY user_id", (chat_id, s, e, chat_id, s, e)))
        # A day with a message is one with more than its check-in: /checkin (or the check-in word) is itself a
        # message, and a member who only ever checks in is the reward-driven archetype, not half of one.
        talk = per_user(await self.db.fetchall(
            "SELECT a.user_id, SUM(a.messages > (SELECT COUNT(*) FROM checkins c WHERE c.chat_id = a.chat_id"
            " AND c.user_id = a.user_id AND c.day = a.day AND c.makeup = 0)), SUM(a.replies) FROM activity_daily a"
            " WHERE a.chat_id = ? AND a.day BETWEEN ? AND ? GROUP BY a.user_id", (chat_id, s, e)))
        checkins = per_user(await self.db.fetchall(
            "SELECT user_id, COUNT(*) FROM checkins WHERE chat_id = ? AND day BETWEEN ? AND ? AND makeup = 0 GROUP BY user_id",
            (chat_id, s, e)))
        orders = per_user(await self.db.fetchall(
            "SELECT user_id, COUNT(*) FROM orders WHERE chat_id = ? AND created_at >= ? AND created_at < ?"
            " AND status != 'rejected' GROUP BY user_id", (chat_id, lo, hi)))
        referrals = per_user(await self.db.fetchall(
            "SELECT inviter_id, COUNT(*) FROM referrals WHERE chat_id = ? AND status = 'confirmed' AND confirmed_at < ?"
            " GROUP BY inviter_id", (chat_id, hi)))
        feedback = per_user(await self.db.fetchall(
            "SELECT user_id, COUNT(*) FROM ledger WHERE chat_id = ? AND reason = 'feedback' AND amount > 0"
            " AND currency = 'points' AND at < ? GROUP BY user_id", (chat_id, hi)))
        nps = per_user(await self.db.fetchall(
            "SELECT a.user_id, a.score FROM nps_answers a JOIN nps_surveys v ON v.id = a.survey_id WHERE v.chat_id = ?"
            " AND a.at < ? ORDER BY a.at", (chat_id, hi)))
        out = {}
        for user_id, since in people:
            joined = datetime.fromisoformat(since).astimezone(zone).date()
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

    async def states(self, chat_id: int) -> dict[int, State]:
        rows = await self.db.fetchall("SELECT * FROM loyalty_state WHERE chat_id = ?", (chat_id,))
        return {r["user_id"]: State(r["segment"], date.fromisoformat(r["since"]), r["pending"],
                                    date.fromisoformat(r["pending_since"]) if r["pending_since"] else None) for r in rows}

    async def snapshot(self, chat_id: int, week: date) -> dict[int, str] | None:
        """The segments as they stood when `week` began; None if that week was never snapshotted."""
        if not await self.db.fetchval("SELECT 1 FROM loyalty_weeks WHERE chat_id = ? AND week = ?", (chat_id, week.isoformat())):
            return None
        rows = await self.db.fetchall(
            "SELECT user_id, segment FROM loyalty_snapshots WHERE chat_id = ? AND week = ?", (chat_id, week.isoformat()))
        return {u: s for u, s in rows}

    async def save(self, chat_id: int, states: dict[int, State], gone: list[int], week: date,
                   snapshot: dict[int, str] | None) -> None:
        """Write every member's state in one transaction; with `snapshot`, also record the week's starting point."""
        async with self.db.transaction() as tx:
            if snapshot is not None:
                cur = await tx.execute(
                    "INSERT INTO loyalty_weeks(chat_id, week) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING week",
                    (chat_id, week.isoformat()))
                if await cur.fetchone():
                    await tx.executemany(
                        "INSERT INTO loyalty_snapshots(chat_id, week, user_id, segment) VALUES (?, ?, ?, ?)",
                        [(chat_id, week.isoformat(), u, s) for u, s in snapshot.items()])
            await tx.executemany(
                "INSERT INTO loyalty_state(chat_id, user_id, segment, since, pending, pending_since) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(chat_id, user_id) DO UPDATE SET segment = excluded.segment, since = excluded.since,"
                " pending = excluded.pending, pending_since = excluded.pending_since",
                [(chat_id, u, st.segment, st.since.isoformat(), st.pending,
                  st.pending_since.isoformat() if st.pending_since else None) for u, st in states.items()])
            await tx.executemany("DELETE FROM loyalty_state WHERE chat_id = ? AND user_id = ?", [(chat_id, u) for u in gone])
