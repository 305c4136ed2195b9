"""The points shop in SQLite: items, their digital codes and members' orders.

Reads go through the read connection; every write is a static function that runs inside the
caller's transaction, so a purchase (stock, order, code, ledger) commits or rolls back as one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database, from_iso, iso


@dataclass(frozen=True)
class ShopItem:
    id: int
    chat_id: int
    name: str
    cost: int
    stock: int | None  # None: unlimited; for a code item, the number of unused codes
    per_member_limit: int | None
    min_tier: str | None
    description: str
    active: bool
    created_at: datetime
    has_codes: bool  # a code item: each purchase takes one code, delivered privately
    grants: str | None = None  # 'makeup_card': each unit repairs one missed check-in day (/makeup)


@dataclass(frozen=True)
class Order:
    id: int
    chat_id: int
    user_id: int
    item_id: int
    item_name: str
    cost: int
    status: str  # pending | fulfilled | rejected
    request_key: str
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    note: str | None
    buyer_name: str
    buyer_language: str | None
    no_private: bool  # the buyer opted out of private messages (status notices are skipped)
    sends: int = 0  # private sends of its code begun: after one, the buyer may have seen the code
    sending_since: datetime | None = None  # a send under way, or cut off by a crash (delivering)


# Item fields /edititem may change, and their columns.
COLUMNS = {
    "name": "name", "cost": "cost", "stock": "stock", "limit": "per_member_limit", "tier": "min_tier",
    "description": "description", "active": "active",
}

_ITEM_SELECT = (
    "SELECT i.*, EXISTS(SELECT 1 FROM shop_codes c WHERE c.item_id = i.id) AS has_codes FROM shop_items i"
)
_ORDER_SELECT = (
    "SELECT o.*, i.name AS item_name, u.first_name, u.last_name, COALESCE(u.language, u.language_code) AS language_code,"
    " EXISTS(SELECT 1 FROM optouts x WHERE x.user_id = o.user_id AND x.kind = 'private') AS no_private"
    " FROM orders o JOIN shop_items i ON i.id = o.item_id LEFT JOIN users u ON u.user_id = o.user_id"
)
# Orders that hold stock and count against a member's limit; a rejected one gave everything back.
STANDING = "('pending', 'fulfilled')"


def _item(row) -> ShopItem:
    return ShopItem(
        id=row["id"], chat_id=row["chat_id"], name=row["name"], cost=row["cost"], stock=row["stock"],
        per_member_limit=row["per_member_limit"], min_tier=row["min_tier"], description=row["description"],
        active=bool(row["active"]), created_at=from_iso(row["created_at"]), has_codes=bool(row["has_codes"]),
        grants=row["grants"],
    )


def _order(row) -> Order:
    first, last = row["first_name"], row["last_name"]
    buyer = (f"{first} {last}" if last else first) if first else str(row["user_id"])
    return Order(
        id=row["id"], chat_id=row["chat_id"], user_id=row["user_id"], item_id=row["item_id"], item_name=row["item_name"],
        cost=row["cost"], status=row["status"], request_key=row["request_key"], created_at=from_iso(row["created_at"]),
        decided_by=row["decided_by"], decided_at=from_iso(row["decided_at"]), note=row["note"],
        buyer_name=buyer, buyer_language=row["language_code"], no_private=bool(row["no_private"]),
        sends=row["sends"], sending_since=from_iso(row["sending_since"]),
    )


async def _one(tx: aiosqlite.Connection, sql: str, params: Sequence = ()):
    async with tx.execute(sql, tuple(params)) as cur:
        return await cur.fetchone()


class ShopRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reads (committed data) ---------------------------------------------------------------

    async def item(self, item_id: int) -> ShopItem | None:
        row = await self.db.fetchone(_ITEM_SELECT + " WHERE i.id = ?", (item_id,))
        return None if row is None else _item(row)

    async def items(self, chat_id: int, *, active_only: bool = True) -> list[ShopItem]:
        where = " WHERE i.chat_id = ?" + (" AND i.active = 1" if active_only else "")
        return [_item(r) for r in await self.db.fetchall(_ITEM_SELECT + where + " ORDER BY i.id", (chat_id,))]

    async def order(self, order_id: int) -> Order | None:
        row = await self.db.fetchone(_ORDER_SELECT + " WHERE o.id = ?", (order_id,))
        return None if row is None else _order(row)

    async def orders_of(self, chat_id: int, user_id: int, limit: int = 15) -> list[Order]:
        rows = await self.db.fetchall(
            _ORDER_SELECT + " WHERE o.chat_id = ? AND o.user_id = ? ORDER BY o.id DESC LIMIT ?", (chat_id, user_id, limit)
        )
        return [_order(r) for r in rows]

    async def pending(self, chat_id: int, limit: int = 30) -> tuple[list[Order], int]:
        """The oldest pending orders first (they have waited longest), and how many there are in all."""
        rows = await self.db.fetchall(
            _ORDER_SELECT + " WHERE o.chat_id = ? AND o.status = 'pending' ORDER BY o.id LIMIT ?", (chat_id, limit)
        )
        total = await self.db.fetchval("SELECT COUNT(*) FROM orders WHERE chat_id = ? AND status = 'pending'", (chat_id,))
        return [_order(r) for r in rows], total

    async def balance(self, chat_id: int, user_id: int) -> int:
        value = await self.db.fetchval("SELECT points FROM wallets WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
        return value or 0

    async def bought(self, chat_id: int, user_id: int, item_id: int) -> int:
        return await self.db.fetchval(
            f"SELECT COUNT(*) FROM orders WHERE chat_id = ? AND user_id = ? AND item_id = ? AND status IN {STANDING}",
            (chat_id, user_id, item_id),
        )

    async def order_by_key(self, chat_id: int, request_key: str) -> int | None:
        return await self.db.fetchval("SELECT id FROM orders WHERE chat_id = ? AND request_key = ?", (chat_id, request_key))

    async def unused_codes(self, item_id: int) -> int:
        return await self.db.fetchval("SELECT COUNT(*) FROM shop_codes WHERE item_id = ? AND order_id IS NULL", (item_id,))

    # --- inside the caller's transaction ----------------------------------------------------------

    @staticmethod
    async def item_in(tx: aiosqlite.Connection, item_id: int) -> ShopItem | None:
        row = await _one(tx, _ITEM_SELECT + " WHERE i.id = ?", (item_id,))
        return None if row is None else _item(row)

    @staticmethod
    async def count_active_in(tx: aiosqlite.Connection, chat_id: int) -> int:
        return (await _one(tx, "SELECT COUNT(*) FROM shop_items WHERE chat_id = ? AND active = 1", (chat_id,)))[0]

    @staticmethod
    async def active_named_in(tx: aiosqlite.Connection, chat_id: int, name: str, other_than: int | None = None) -> int | None:
        """The id of another active item with this name (case-insensitive), if any."""
        row = await _one(
            tx, "SELECT id FROM shop_items WHERE chat_id = ? AND active = 1 AND name = ? COLLATE NOCASE AND id != ?",
            (chat_id, name, other_than or 0),
        )
        return None if row is None else row[0]

    @staticmethod
    async def insert_item(
        tx: aiosqlite.Connection, chat_id: int, name: str, cost: int, stock: int | None, limit: int | None,
        tier: str | None, description: str, now: datetime, grants: str | None = None,
    ) -> int:
        cur = await tx.execute(
            "INSERT INTO shop_items(chat_id, name, cost, stock, per_member_limit, min_tier, description, active, created_at, grants)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            (chat_id, name, cost, stock, limit, tier, description, iso(now), grants),
        )
        return cur.lastrowid

    @staticmethod
    async def update_item(tx: aiosqlite.Connection, item_id: int, field: str, value: object) -> bool:
        column = COLUMNS[field]  # a fixed whitelist: the column name is never user text
        if isinstance(value, bool):
            value = int(value)
        cur = await tx.execute(f"UPDATE shop_items SET {column} = ? WHERE id = ?", (value, item_id))
        return cur.rowcount == 1

    @staticmethod
    async def order_by_key_in(tx: aiosqlite.Connection, chat_id: int, request_key: str) -> int | None:
        row = await _one(tx, "SELECT id FROM orders WHERE chat_id = ? AND request_key = ?", (chat_id, request_key))
        return None if row is None else row[0]

    @staticmethod
    async def bought_in(tx: aiosqlite.Connection, chat_id: int, user_id: int, item_id: int) -> int:
        row = await _one(
            tx, f"SELECT COUNT(*) FROM orders WHERE chat_id = ? AND user_id = ? AND item_id = ? AND status IN {STANDING}",
            (chat_id, user_id, item_id),
        )
        return row[0]

    @staticmethod
    async def balance_in(tx: aiosqlite.Connection, chat_id: int, user_id: int) -> int:
        row = await _one(tx, "SELECT points FROM wallets WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
        return 0 if row is None else row[0]

    @staticmethod
    async def take_stock(tx: aiosqlite.Connection, item_id: int) -> bool:
        """One unit, only if there is one: the database, not a Python read, decides who gets the last."""
        cur = await tx.execute(
            "UPDATE shop_items SET stock = stock - 1 WHERE id = ? AND active = 1 AND (stock IS NULL OR stock > 0)",
            (item_id,),
        )
        return cur.rowcount == 1

    @staticmethod
    async def restore_stock(tx: aiosqlite.Connection, item_id: int) -> None:
        await tx.execute("UPDATE shop_items SET stock = stock + 1 WHERE id = ? AND stock IS NOT NULL", (item_id,))

    @staticmethod
    async def insert_order(
        tx: aiosqlite.Connection, chat_id: int, user_id: int, item_id: int, cost: int, status: str, request_key: str,
        now: datetime,
    ) -> int | None:
        """The new order's id, or None when this request key already has one (UNIQUE(chat_id, request_key))."""
        cur = await tx.execute(
            "INSERT INTO orders(chat_id, user_id, item_id, cost, status, request_key, created_at, decided_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id, request_key) DO NOTHING",
            (chat_id, user_id, item_id, cost, status, request_key, iso(now), iso(now) if status != "pending" else None),
        )
        return cur.lastrowid if cur.rowcount == 1 else None

    @staticmethod
    async def assign_code(tx: aiosqlite.Connection, item_id: int, order_id: int) -> str | None:
        """Give the oldest unused code of the item to the order; None if none is left."""
        row = await _one(tx, "SELECT id, code FROM shop_codes WHERE item_id = ? AND order_id IS NULL ORDER BY id LIMIT 1", (item_id,))
        if row is None:
            return None
        cur = await tx.execute("UPDATE shop_codes SET order_id = ? WHERE id = ? AND order_id IS NULL", (order_id, row["id"]))
        return row["code"] if cur.rowcount == 1 else None

    async def code_of(self, order_id: int) -> str | None:
        """The code an order holds (assigned at purchase, delivered or not yet); None for an order without one."""
        return await self.db.fetchval("SELECT code FROM shop_codes WHERE order_id = ?", (order_id,))

    @staticmethod
    async def begin_send(tx: aiosqlite.Connection, order_id: int, now: datetime) -> None:
        """Delivering: the code's private send is about to start (recorded before it, in the caller's transaction)."""
        await tx.execute("UPDATE orders SET sending_since = ?, sends = sends + 1 WHERE id = ?", (iso(now), order_id))

    @staticmethod
    async def claim_send(tx: aiosqlite.Connection, order_id: int, now: datetime, under_way_since: datetime) -> bool:
        """Begin the send of a pending order's code unless one begun at or after `under_way_since` is under way."""
        cur = await tx.execute(
            "UPDATE orders SET sending_since = ?, sends = sends + 1"
            " WHERE id = ? AND status = 'pending' AND (sending_since IS NULL OR sending_since < ?)",
            (iso(now), order_id, iso(under_way_since)),
        )
        return cur.rowcount == 1

    @staticmethod
    async def claim_resend(tx: aiosqlite.Connection, order_id: int, seen_sends: int, now: datetime) -> bool:
        """Begin the send again of an order left delivering, only if nobody did since it was read (sends unchanged)."""
        cur = await tx.execute(
            "UPDATE orders SET sending_since = ?, sends = sends + 1"
            " WHERE id = ? AND status = 'pending' AND sending_since IS NOT NULL AND sends = ?", (iso(now), order_id, seen_sends),
        )
        return cur.rowcount == 1

    @staticmethod
    async def end_send(tx: aiosqlite.Connection, order_id: int, not_sent: bool = False) -> None:
        """The send got its answer: no longer under way. not_sent: Telegram said it did not send it (a refusal, a flood
        wait), so this send does not count among those that may have reached the buyer."""
        await tx.execute(
            "UPDATE orders SET sending_since = NULL, sends = CASE WHEN ? AND sends > 0 THEN sends - 1 ELSE sends END"
            " WHERE id = ? AND sending_since IS NOT NULL", (not_sent, order_id),
        )

    async def cut_off_sends(self, before: datetime) -> list[Order]:
        """Pending orders whose code send began by `before` (this process's start, to the second: one begun by this
        process in that second is sent again too — the same code, harmless) and never got an answer."""
        rows = await self.db.fetchall(
            _ORDER_SELECT + " WHERE o.sending_since IS NOT NULL AND o.sending_since <= ? AND o.status = 'pending' ORDER BY o.id",
            (iso(before),),
        )
        return [_order(r) for r in rows]

    @staticmethod
    async def code_in(tx: aiosqlite.Connection, order_id: int) -> str | None:
        row = await _one(tx, "SELECT code FROM shop_codes WHERE order_id = ?", (order_id,))
        return None if row is None else row[0]

    @staticmethod
    async def release_code(tx: aiosqlite.Connection, order_id: int) -> bool:
        cur = await tx.execute("UPDATE shop_codes SET order_id = NULL WHERE order_id = ?", (order_id,))
        return cur.rowcount > 0

    @staticmethod
    async def add_codes(tx: aiosqlite.Connection, item_id: int, codes: Sequence[str]) -> int:
        """Store new codes (ones the item already has are skipped); returns how many were new."""
        added = 0
        for code in codes:
            cur = await tx.execute(
                "INSERT INTO shop_codes(item_id, code) VALUES (?, ?) ON CONFLICT(item_id, code) DO NOTHING", (item_id, code)
            )
            added += cur.rowcount
        return added

    @staticmethod
    async def sync_code_stock(tx: aiosqlite.Connection, item_id: int) -> int:
        """A code item's stock is its unused codes; set it so and return it."""
        await tx.execute(
            "UPDATE shop_items SET stock = (SELECT COUNT(*) FROM shop_codes WHERE item_id = ? AND order_id IS NULL) WHERE id = ?",
            (item_id, item_id),
        )
        return (await _one(tx, "SELECT stock FROM shop_items WHERE id = ?", (item_id,)))[0]

    @staticmethod
    async def order_in(tx: aiosqlite.Connection, order_id: int) -> Order | None:
        row = await _one(tx, _ORDER_SELECT + " WHERE o.id = ?", (order_id,))
        return None if row is None else _order(row)

    @staticmethod
    async def decide(
        tx: aiosqlite.Connection, order_id: int, from_status: str, to_status: str, actor_id: int | None, now: datetime,
        note: str | None = None,
    ) -> bool:
        """Move an order on, only from the status the caller saw: a second /reject finds nothing to change."""
        cur = await tx.execute(
            "UPDATE orders SET status = ?, decided_by = ?, decided_at = ?, note = COALESCE(?, note) WHERE id = ? AND status = ?",
            (to_status, actor_id, iso(now), note, order_id, from_status),
        )
        return cur.rowcount == 1
