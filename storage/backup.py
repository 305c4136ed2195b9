"""Online backup with SQLite's backup API: consistent even while the bot is writing."""
from __future__ import annotations

import sqlite3
from pathlib import Path


def same_file(a: str | Path, b: str | Path) -> bool:
    """Do two paths name one file (after ., .., symlinks and hard links)?"""
    a, b = Path(a), Path(b)
    try:
        return a.samefile(b)
    except OSError:  # one does not exist yet
        return a.resolve() == b.resolve()


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
