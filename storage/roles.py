"""Community roles (activator, spreader) and the audit trail of every role change."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_iso, iso


@dataclass(frozen=True)
class RoleChange:
    chat_id: int
    actor_id: int | None
    target_id: int
    change: str  # set | unset | promoted | demoted
    role: str
    reason: str | None
    at: datetime


def tg_change(old_tg: str | None, new_tg: str | None) -> tuple[str, str] | None:
    """How a Telegram status change reads in the audit trail: ('promoted' | 'demoted', role), None if no change."""
    if old_tg == new_tg:
        return None
    change = "promoted" if new_tg and (old_tg is None or new_tg == "owner") else "demoted"
    return change, new_tg or old_tg or "admin"


async def insert_audit(
    tx, chat_id: int, change: str, role: str, actor_id: int | None, target_id: int, reason: str | None, now: datetime,
) -> None:
    await tx.execute(
        "INSERT INTO role_audit(chat_id, actor_id, target_id, change, role, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (chat_id, actor_id, target_id, change, role, reason, iso(now)),
    )


async def set_community_role_in(
    tx, chat_id: int, user_id: int, role: str | None, change: str, audit_role: str, actor_id: int | None,
    reason: str | None, now: datetime, only_if: str | None = None,
) -> bool:
    """Inside the caller's transaction: set or clear the role and audit it. `only_if`: change it only from this role
    (a rule takes away the role it names, never another). False if nothing changed."""
    sql = "UPDATE members SET community_role = ? WHERE chat_id = ? AND user_id = ? AND community_role IS NOT ?"
    params: tuple = (role, chat_id, user_id, role)
    if only_if is not None:
        sql, params = sql + " AND community_role = ?", params + (only_if,)
    cur = await tx.execute(sql, params)
    if cur.rowcount == 0:
        return False
    await insert_audit(tx, chat_id, change, audit_role, actor_id, user_id, reason, now)
    return True


class RoleRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def set_community_role(
        self, chat_id: int, user_id: int, role: str | None, change: str, audit_role: str,
        actor_id: int | None, reason: str | None, now: datetime,
    ) -> bool:
        """Set or clear the role and write the audit row in one transaction. False if nothing changed."""
        async with self.db.transaction() as tx:
            return await set_community_role_in(tx, chat_id, user_id, role, change, audit_role, actor_id, reason, now)

    async def audit(self, chat_id: int, tx_change: str, role: str, actor_id: int | None, target_id: int, reason: str | None, now: datetime) -> None:
        """Record a change Telegram made (promotion/demotion) so the trail is complete."""
        async with self.db.transaction() as tx:
            await insert_audit(tx, chat_id, tx_change, role, actor_id, target_id, reason, now)

    async def history(self, chat_id: int, limit: int = 50) -> list[RoleChange]:
        rows = await self.db.fetchall(
            "SELECT * FROM role_audit WHERE chat_id = ? ORDER BY id DESC LIMIT ?", (chat_id, limit)
        )
        return [
            RoleChange(r["chat_id"], r["actor_id"], r["target_id"], r["change"], r["role"], r["reason"], from_iso(r["at"]))
            for r in rows
        ]
