"""The points ledger: append-only rows plus the cached wallet, always changed together in one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite3

import aiosqlite

from storage.db import Database, execute_values, from_iso, iso

# Members per statement when reading balances by (chat, user) pairs: two parameters each, far under SQLite's limit.
_PAIRS_PER_READ = 400


# The rows a board counts as earned: gains other than a shop refund, and what was taken back (a referral's
# clawback, an admin's /take) — spending never pushes anyone down.
EARNED = "((amount > 0 AND reason != 'shop_refund') OR reason IN ('referral_clawback', 'admin_take'))"


def earned(amount: int, reason: str) -> bool:
    """EARNED, for one row about to be written (the season totals follow it)."""
    return (amount > 0 and reason != "shop_refund") or reason in ("referral_clawback", "admin_take")


# The season a row counts toward: the group's open season (season 1 before any was closed).
_OPEN_SEASON = "COALESCE((SELECT number FROM seasons WHERE chat_id = ? AND ended_at IS NULL ORDER BY number DESC LIMIT 1), 1)"
_SEASON_HEAD = "INSERT INTO season_totals(chat_id, season, currency, user_id, earned)"
_SEASON_ROW = f"(?, {_OPEN_SEASON}, ?, ?, ?)"
_SEASON_TAIL = "ON CONFLICT(chat_id, season, currency, user_id) DO UPDATE SET earned = season_totals.earned + excluded.earned"
_ADD_TO_SEASON = f"{_SEASON_HEAD} VALUES {_SEASON_ROW} {_SEASON_TAIL}"


@dataclass(frozen=True)
class Entry:
    id: int
    chat_id: int
    user_id: int
    amount: int
    currency: str
    reason: str
    ref: str
    actor_id: int | None
    note: str | None
    at: datetime


@dataclass(frozen=True)
class Wallet:
    points: int = 0
    xp: int = 0


class InsufficientBalance(Exception):
    """The conditional update found less than needed; the transaction is rolled back by the caller's exit."""

    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(f"balance {balance} < {needed}")
        self.balance = balance
        self.needed = needed


async def post(
    tx: aiosqlite.Connection, chat_id: int, user_id: int, amount: int, currency: str, reason: str, ref: str,
    now: datetime, *, actor_id: int | None = None, note: str | None = None,
) -> bool:
    """post_in inside the caller's transaction(), in one hop to the writer's thread (not one per statement)."""
    return await tx._execute(post_in, tx._conn, chat_id, user_id, amount, currency, reason, ref, now, actor_id=actor_id, note=note)


def post_in(
    conn: sqlite3.Connection, chat_id: int, user_id: int, amount: int, currency: str, reason: str, ref: str,
    now: datetime, *, actor_id: int | None = None, note: str | None = None,
) -> bool:
    """Write one ledger row and move the wallet by the same amount, inside the caller's transaction (on the
    writer's thread).

    Returns False (and changes nothing) when a row with this ref already exists: the same event is
    never counted twice. A debit larger than the balance raises InsufficientBalance.
    """
    cur = conn.execute(
        "INSERT INTO ledger(chat_id, user_id, amount, currency, reason, ref, actor_id, note, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id, user_id, currency, ref) DO NOTHING",
        (chat_id, user_id, amount, currency, reason, ref, actor_id, note, iso(now)),
    )
    if cur.rowcount == 0:
        return False
    conn.execute("INSERT INTO wallets(chat_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", (chat_id, user_id))
    column = "points" if currency == "points" else "xp"
    cur = conn.execute(
        f"UPDATE wallets SET {column} = {column} + ? WHERE chat_id = ? AND user_id = ? AND {column} + ? >= 0",
        (amount, chat_id, user_id, amount),
    )
    if cur.rowcount == 0:
        balance = conn.execute(f"SELECT {column} FROM wallets WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)).fetchone()[0]
        raise InsufficientBalance(balance, -amount)
    if earned(amount, reason):
        conn.execute(_ADD_TO_SEASON, (chat_id, chat_id, currency, user_id, amount))
    return True


async def rule_awards_for(tx: aiosqlite.Connection, chat_id: int, user_id: int, event_key: str) -> list[tuple[int, str, str, int, int]]:
    """What rules awarded one member on one event (ledger refs `rule:<rule id>:<event key>`, reason rule_award; a
    rule pays the member its event is about), inside the caller's transaction: (user, currency, ref, amount awarded,
    what the member still holds of that currency). Reads that member's rows only (the ledger's unique index)."""
    async with tx.execute(
        "SELECT l.user_id, l.currency, l.ref, SUM(l.amount),"
        " COALESCE((SELECT CASE WHEN l.currency = 'points' THEN w.points ELSE w.xp END FROM wallets w"
        "  WHERE w.chat_id = l.chat_id AND w.user_id = l.user_id), 0)"
        " FROM ledger l WHERE l.chat_id = ? AND l.user_id = ? AND l.reason = 'rule_award' AND l.ref LIKE ?"
        " GROUP BY l.user_id, l.currency, l.ref ORDER BY l.ref, l.currency",
        (chat_id, user_id, "rule:%:" + event_key),
    ) as cur:
        rows = await cur.fetchall()
    # LIKE's `_` matches any one character: keep exactly the rule refs of this event (rule:<digits>:<key>).
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows
            if r[2].startswith("rule:") and r[2][5:].partition(":")[0].isdigit() and r[2][5:].partition(":")[2] == event_key]


def wallet_in(conn: sqlite3.Connection, chat_id: int, user_id: int) -> Wallet:
    row = conn.execute("SELECT points, xp FROM wallets WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)).fetchone()
    return Wallet() if row is None else Wallet(row[0], row[1])


def _credit_many(
    conn: sqlite3.Connection, credits: list[tuple[int, int, int, str]], currency: str, reason: str, at: str,
    xp_at: dict[tuple[int, int], str] | None = None,
) -> dict[tuple[int, int], int]:
    """On the writer's thread, inside the caller's transaction: the balances before, then every ledger row and
    every wallet move as one multi-row statement each. A ref already in the ledger aborts it all (the caller rolls back):
    a batch is written whole or not at all, never half counted. `xp_at` (chat XP): each member's last award in
    this batch, kept as wallets.chat_xp_at by the same upsert (the later of it and what is there)."""
    column = "points" if currency == "points" else "xp"
    before: dict[tuple[int, int], int] = {}
    for start in range(0, len(credits), _PAIRS_PER_READ):
        part = credits[start : start + _PAIRS_PER_READ]
        pairs = ",".join("(?, ?)" for _ in part)
        params = [v for chat_id, user_id, _, _ in part for v in (chat_id, user_id)]
        # The pairs drive the join, each a primary-key look-up: `(chat_id, user_id) IN (VALUES …)` made SQLite scan
        # every wallet once per chunk (a flush of n members cost n² / 400 rows read).
        for chat_id, user_id, balance in conn.execute(
            f"SELECT w.chat_id, w.user_id, w.{column} FROM (VALUES {pairs}) AS v"
            " JOIN wallets w ON w.chat_id = v.column1 AND w.user_id = v.column2", params
        ):
            before[(chat_id, user_id)] = balance
    changes = conn.total_changes
    execute_values(conn, "INSERT INTO ledger(chat_id, user_id, amount, currency, reason, ref, at)", "(?, ?, ?, ?, ?, ?, ?)",
                   [(chat_id, user_id, amount, currency, reason, ref, at) for chat_id, user_id, amount, ref in credits],
                   "ON CONFLICT(chat_id, user_id, currency, ref) DO NOTHING")
    if conn.total_changes - changes != len(credits):
        raise RuntimeError(f"{reason} batch: a ref is already in the ledger; nothing of this batch is written")
    # One upsert with or without `xp_at`: a member without an award time brings NULL, which leaves what is there (scalar
    # MAX is NULL if either is: the COALESCEs keep whichever one there is; a new wallet's chat_xp_at is NULL anyway).
    stamps = xp_at or {}
    execute_values(conn, f"INSERT INTO wallets(chat_id, user_id, {column}, chat_xp_at)", "(?, ?, ?, ?)",
                   [(chat_id, user_id, amount, stamps.get((chat_id, user_id))) for chat_id, user_id, amount, _ in credits],
                   f"ON CONFLICT(chat_id, user_id) DO UPDATE SET {column} = wallets.{column} + excluded.{column},"
                   " chat_xp_at = COALESCE(MAX(wallets.chat_xp_at, excluded.chat_xp_at), wallets.chat_xp_at, excluded.chat_xp_at)")
    if earned(1, reason):
        execute_values(conn, _SEASON_HEAD, _SEASON_ROW, [(chat_id, chat_id, currency, user_id, amount) for chat_id, user_id, amount, _ in credits],
                       _SEASON_TAIL)
    return {(chat_id, user_id): before.get((chat_id, user_id), 0) for chat_id, user_id, _, _ in credits}


def credit_new_in(
    conn: sqlite3.Connection, credits: list[tuple[int, int, int, str]], currency: str, reason: str, at: str,
    xp_at: dict[tuple[int, int], str] | None = None,
) -> dict[tuple[int, int], int]:
    """credit_many inside a transaction someone else commits (chat XP riding with the inbox's handled marks): a ref
    already in the ledger is left out instead of failing the whole commit (and the marks with it). Returns the
    balances before of what it booked."""
    booked: set[tuple[int, int, str]] = set()
    for start in range(0, len(credits), _PAIRS_PER_READ):
        part = credits[start : start + _PAIRS_PER_READ]
        values = ",".join("(?, ?, ?)" for _ in part)
        params = [v for chat_id, user_id, _, ref in part for v in (chat_id, user_id, ref)]
        booked.update(conn.execute(
            f"SELECT l.chat_id, l.user_id, l.ref FROM (VALUES {values}) AS v JOIN ledger l ON l.chat_id = v.column1"
            " AND l.user_id = v.column2 AND l.currency = ? AND l.ref = v.column3", [*params, currency]))
    fresh = [c for c in credits if (c[0], c[1], c[3]) not in booked]
    return _credit_many(conn, fresh, currency, reason, at, xp_at) if fresh else {}


def season_rank_in(conn: sqlite3.Connection, chat_id: int, user_id: int, currency: str) -> int | None:
    row = conn.execute(
        f"SELECT season, earned FROM season_totals WHERE chat_id = ? AND season = {_OPEN_SEASON} AND currency = ? AND user_id = ?",
        (chat_id, chat_id, currency, user_id),
    ).fetchone()
    if row is None or row[1] <= 0:
        return None
    season, mine = row[0], row[1]
    above = conn.execute(
        "SELECT COUNT(*) FROM season_totals WHERE chat_id = ? AND season = ? AND currency = ? AND earned > ?",
        (chat_id, season, currency, mine),
    ).fetchone()[0]
    tied_before = conn.execute(
        "SELECT COUNT(*) FROM season_totals WHERE chat_id = ? AND season = ? AND currency = ? AND earned = ? AND user_id < ?",
        (chat_id, season, currency, mine, user_id),
    ).fetchone()[0]
    return 1 + above + tied_before


def _entry(row) -> Entry:
    return Entry(row["id"], row["chat_id"], row["user_id"], row["amount"], row["currency"], row["reason"], row["ref"],
                 row["actor_id"], row["note"], from_iso(row["at"]))


class LedgerRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def credit_many(
        self, credits: list[tuple[int, int, int, str]], currency: str, reason: str, now: datetime,
        xp_at: dict[tuple[int, int], str] | None = None,
    ) -> dict[tuple[int, int], int]:
        """Many credits (chat, user, amount > 0, ref) as one transaction of their own, in one hop to the writer's
        thread: what `post` does for each, as a batch. Returns each member's balance before."""
        if any(amount <= 0 for _, _, amount, _ in credits):
            raise ValueError("credit_many books credits only")
        return await self.db.write(_credit_many, credits, currency, reason, iso(now), xp_at)

    async def chat_xp_since(self, since: datetime) -> list[tuple[int, int, datetime]]:
        """(chat, user, last chat-XP award) of members whose last award is at or after `since`: the cooldowns still
        in force, read once at start (a scan of wallets, no index to keep up on the hot upsert)."""
        rows = await self.db.fetchall("SELECT chat_id, user_id, chat_xp_at FROM wallets WHERE chat_xp_at >= ?", (iso(since),))
        return [(r[0], r[1], from_iso(r[2])) for r in rows]

    async def wallet(self, chat_id: int, user_id: int) -> Wallet:
        return await self.db.read(wallet_in, chat_id, user_id)

    async def history(self, chat_id: int, user_id: int, limit: int = 20) -> list[Entry]:
        rows = await self.db.fetchall(
            "SELECT * FROM ledger WHERE chat_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?", (chat_id, user_id, limit)
        )
        return [_entry(r) for r in rows]

    async def points_rows(self, chat_id: int, user_id: int) -> list[Entry]:
        rows = await self.db.fetchall(
            "SELECT * FROM ledger WHERE chat_id = ? AND user_id = ? AND currency = 'points' ORDER BY at, id", (chat_id, user_id)
        )
        return [_entry(r) for r in rows]

    async def points_before(self, chat_id: int, user_id: int, moment: datetime) -> int:
        """The member's points balance just before `moment`, from the ledger."""
        return await self.db.fetchval(
            "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE chat_id = ? AND user_id = ? AND currency = 'points' AND at < ?",
            (chat_id, user_id, iso(moment)),
        )

    async def holders(self, chat_id: int) -> list[int]:
        rows = await self.db.fetchall("SELECT user_id FROM wallets WHERE chat_id = ? AND points > 0", (chat_id,))
        return [r["user_id"] for r in rows]

    async def rebuild_wallets(self) -> int:
        """Set every cached balance and XP to its ledger's sum (the ledger is the record). Returns how many
        wallets changed."""
        wrong = {(chat, user) for chat, user, *_ in await self.mismatches()}
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO wallets (chat_id, user_id, points, xp)"
                " SELECT chat_id, user_id, SUM(CASE WHEN currency = 'points' THEN amount ELSE 0 END),"
                " SUM(CASE WHEN currency = 'xp' THEN amount ELSE 0 END) FROM ledger WHERE true GROUP BY chat_id, user_id"
                " ON CONFLICT (chat_id, user_id) DO UPDATE SET points = excluded.points, xp = excluded.xp"
            )
            await tx.execute(
                "UPDATE wallets SET points = 0, xp = 0 WHERE NOT EXISTS"
                " (SELECT 1 FROM ledger l WHERE l.chat_id = wallets.chat_id AND l.user_id = wallets.user_id)"
            )
        return len(wrong)

    async def mismatches(self) -> list[tuple[int, int, str, int, int]]:
        """(chat, user, currency, cached, ledger sum) wherever the wallet differs from its ledger."""
        rows = await self.db.fetchall(
            """
            WITH sums AS (
                SELECT chat_id, user_id,
                       SUM(CASE WHEN currency = 'points' THEN amount ELSE 0 END) AS points,
                       SUM(CASE WHEN currency = 'xp' THEN amount ELSE 0 END) AS xp
                FROM ledger GROUP BY chat_id, user_id
            ),
            pairs AS (
                SELECT w.chat_id, w.user_id, w.points AS wp, w.xp AS wx, COALESCE(s.points, 0) AS lp, COALESCE(s.xp, 0) AS lx
                FROM wallets w LEFT JOIN sums s USING (chat_id, user_id)
                UNION ALL
                SELECT s.chat_id, s.user_id, 0, 0, s.points, s.xp
                FROM sums s LEFT JOIN wallets w USING (chat_id, user_id) WHERE w.user_id IS NULL
            )
            SELECT * FROM pairs WHERE wp != lp OR wx != lx
            """
        )
        out = []
        for r in rows:
            if r["wp"] != r["lp"]:
                out.append((r["chat_id"], r["user_id"], "points", r["wp"], r["lp"]))
            if r["wx"] != r["lx"]:
                out.append((r["chat_id"], r["user_id"], "xp", r["wx"], r["lx"]))
        return out

    async def reached_at(self, chat_id: int, user_ids: list[int], since: datetime, until: datetime) -> dict[int, datetime]:
        """When each member's last row counted on the points board in the window was booked: the moment they
        reached their total (ties on a board go to who got there first)."""
        marks = ",".join("?" * len(user_ids))
        rows = await self.db.fetchall(
            f"SELECT user_id, MAX(at) AS at FROM ledger WHERE chat_id = ? AND currency = 'points' AND user_id IN ({marks})"
            f" AND {EARNED} AND at >= ? AND at < ? GROUP BY user_id",
            (chat_id, *user_ids, iso(since), iso(until)),
        )
        return {r["user_id"]: datetime.fromisoformat(r["at"]) for r in rows}

    async def season_board(self, chat_id: int, currency: str, limit: int | None = 10) -> list[tuple[int, int]]:
        """(user, earned) this season, from the totals kept beside the ledger: an index walk, not a sum of rows."""
        rows = await self.db.fetchall(
            f"SELECT user_id, earned FROM season_totals WHERE chat_id = ? AND season = {_OPEN_SEASON} AND currency = ?"
            " AND earned > 0 ORDER BY earned DESC, user_id LIMIT ?",
            (chat_id, chat_id, currency, -1 if limit is None else limit),
        )
        return [(r["user_id"], r["earned"]) for r in rows]

    async def season_rank(self, chat_id: int, user_id: int, currency: str = "points") -> int | None:
        """The member's place on season_board (1 = top), counting only those above them; None when not on it."""
        return await self.db.read(season_rank_in, chat_id, user_id, currency)

    async def leaderboard(
        self, chat_id: int, currency: str, since: datetime | None, limit: int | None = 10, until: datetime | None = None,
    ) -> list[tuple[int, int]]:
        """(user, total) by what was *earned* in the window: (limit None: everyone) spending does not push anyone down, a refund of
        spent points is not earning, and a referral reward or admin's gift taken back (clawback, /take) is no longer earned."""
        if since is None and until is None and currency == "xp":
            rows = await self.db.fetchall(
                "SELECT user_id, xp AS total FROM wallets WHERE chat_id = ? AND xp > 0 ORDER BY xp DESC, user_id LIMIT ?",
                (chat_id, -1 if limit is None else limit),
            )
        else:
            rows = await self.db.fetchall(
                "SELECT user_id, SUM(amount) AS total FROM ledger WHERE chat_id = ? AND currency = ?"
                f" AND {EARNED} AND at >= ? AND at < ? GROUP BY user_id HAVING total > 0 ORDER BY total DESC, user_id LIMIT ?",
                (chat_id, currency, iso(since) if since else "",
                 iso(until) if until else "9999", -1 if limit is None else limit),
            )
        return [(r["user_id"], r["total"]) for r in rows]
