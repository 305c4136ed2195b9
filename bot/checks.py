"""`python -m bot check`: verify what must always hold in the database; each problem is one line."""
from __future__ import annotations

from pathlib import Path

from bot.config import Config
from storage.db import Database
from storage.ledger import LedgerRepo


async def run_checks(config: Config) -> list[str]:
    path = Path(config.database.path)
    if not path.exists():
        return [f"{path}: no database"]
    db = Database(path, config.database.busy_timeout_ms)
    await db.open()
    try:
        problems = []
        integrity = await db.fetchval("PRAGMA integrity_check")
        if integrity != "ok":
            problems.append(f"{path}: integrity: {integrity}")
        for check in CHECKS:
            problems.extend(await check(db))
        return problems
    finally:
        await db.close()


async def ledger_matches_wallets(db: Database) -> list[str]:
    """The cached balance and XP of every member equal the sum of their ledger rows."""
    return [
        f"group {chat} member {user}: cached {currency} {cached} != ledger sum {total}"
        for chat, user, currency, cached, total in await LedgerRepo(db).mismatches()
    ]


CHECKS = [ledger_matches_wallets]
