"""How long a short write transaction holds SQLite's writer while another thread keeps the interpreter busy, at
Python's default switch interval and at Sticky's (bot.app.SWITCH_INTERVAL): `python -m bench.gil`. Each interval in
a process of its own, twice, alternated; prints p50 / p99 / max of 300 transactions of six statements each."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bot.app import SWITCH_INTERVAL

TRANSACTIONS, DEFAULT = 300, 0.005


def one(interval: float, path: str) -> str:
    sys.setswitchinterval(interval)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (a INTEGER PRIMARY KEY, b TEXT)")
    stop = threading.Event()

    def busy() -> None:  # the event loop's thread, handling updates
        x = 0
        while not stop.is_set():
            for i in range(1000):
                x += i

    holds: list[float] = []

    def writer() -> None:  # the writer's thread: BEGIN, four statements, COMMIT
        for n in range(TRANSACTIONS):
            start = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            for k in range(4):
                conn.execute("INSERT OR REPLACE INTO t VALUES (?, ?)", (n * 10 + k, "x"))
            conn.execute("COMMIT")
            holds.append((time.perf_counter() - start) * 1000)
            time.sleep(0.002)

    loop = threading.Thread(target=busy)
    loop.start()
    try:
        writer()
    finally:
        stop.set()
        loop.join()
    holds.sort()
    return (f"switch interval {interval * 1000:g} ms: hold p50 {holds[len(holds) // 2]:.2f} / "
            f"p99 {holds[int(len(holds) * 0.99)]:.2f} / max {holds[-1]:.2f} ms")


def main() -> int:
    if len(sys.argv) == 3:
        print(one(float(sys.argv[1]), sys.argv[2]))
        return 0
    with tempfile.TemporaryDirectory(prefix="sticky-gil-") as tmp:
        for _ in range(2):
            for interval in (DEFAULT, SWITCH_INTERVAL):
                subprocess.run([sys.executable, "-m", "bench.gil", str(interval), str(Path(tmp) / "t.db")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
