"""`python -m bot check`: verify what must always hold in the database; each problem is one line."""
from __future__ import annotations

from pathlib import Path

from bot.config import Config
from storage.db import Database
from storage.groups import GroupRepo
from storage.ledger import LedgerRepo
from storage.members import MemberRepo


NEXT_STEP_REPAIR = ("Next step: back up (python -m bot backup PATH), then run `python -m bot check --repair` to rebuild the"
                    " cached balances from the ledger, which is the record.")
NEXT_STEP_NO_DATABASE = ("Next step: check database.path in the config file (--config PATH); the bot creates its database"
                         " at its first start (python -m bot run).")
NEXT_STEP_INTEGRITY = "Next step: stop the bot and restore the latest backup (python -m bot backup makes one)."


async def run_checks(config: Config, repair: bool = False) -> tuple[list[str], list[str]]:
    """(problems, what to do next) — a repair, when asked for, is the next step taken."""
    path = Path(config.database.path)
    if not path.exists():
        return [f"{path}: no database"], [NEXT_STEP_NO_DATABASE]
    db = Database(path, config.database.busy_timeout_ms)
    await db.open()
    try:
        problems, steps = [], []
        integrity = await db.fetchval("PRAGMA integrity_check")
        if integrity != "ok":
            problems.append(f"{path}: integrity: {integrity}")
            steps.append(NEXT_STEP_INTEGRITY)
        wallets = await ledger_matches_wallets(db)
        problems += wallets
        if wallets and repair:
            steps.append(f"Repaired: {_count(await LedgerRepo(db).rebuild_wallets(), 'cached balance')} rebuilt from the ledger.")
        elif wallets:
            steps.append(NEXT_STEP_REPAIR)
        return problems, steps
    finally:
        await db.close()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


async def ledger_matches_wallets(db: Database) -> list[str]:
    """The cached balance and XP of every member equal the sum of their ledger rows; named by group title and
    member name (ids too, for SQL)."""
    groups, members = GroupRepo(db), MemberRepo(db)
    out = []
    for chat, user_id, currency, cached, total in await LedgerRepo(db).mismatches():
        group, user = await groups.get(chat), await members.user(user_id)
        where = f"{group.title} (group {chat})" if group else f"group {chat}"
        who = f"{user.display} ({'@' + user.username + ', ' if user.username else ''}id {user_id})" if user else f"member {user_id}"
        out.append(f"{where} · {who}: cached {currency} {cached}, but the ledger adds up to {total}")
    return out

