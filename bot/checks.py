"""`python -m bot check`: verify what must always hold in the database; each problem is one line."""
from __future__ import annotations

from pathlib import Path

from bot.config import Config
from storage.db import Database


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


# Features add their invariants here (the points ledger adds "balance = sum of ledger").
CHECKS: list = []
