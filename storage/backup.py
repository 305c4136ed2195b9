"""Online backup with SQLite's backup API: consistent even while the bot is writing."""
from __future__ import annotations

import sqlite3
from pathlib import Path


# The files SQLite keeps beside a database while it is open: a backup written onto one of them overwrites the live
# write-ahead log (or journal) of the running bot.
COMPANIONS = ("", "-wal", "-shm", "-journal")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # one does not exist yet
        return a.resolve() == b.resolve()


def same_file(a: str | Path, b: str | Path) -> bool:
    """Does path b name database a itself, or one of the files SQLite keeps beside it (-wal, -shm, -journal), after
    ., .., symlinks and hard links?"""
    a, b = Path(a), Path(b)
    return any(_same(a.with_name(a.name + suffix), b) for suffix in COMPANIONS)


def backup(source: str | Path, target: str | Path) -> int:
    source, target = Path(source), Path(target)
    if not source.exists():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
        return dst.execute("PRAGMA page_count").fetchone()[0]
    finally:
        src.close()
        dst.close()
