"""The database on a real SQLite file: migrations from zero, all-or-nothing transactions, one writer, backup."""
from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timezone

import pytest

from storage.backup import backup
from storage.db import Database
from storage.groups import GroupRepo
from storage.migrations import MIGRATIONS, Migration

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


async def test_migrations_from_zero_are_recorded_and_not_repeated(tmp_path):
    db = Database(tmp_path / "a.db")
    await db.open()
    versions = [r["version"] for r in await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in MIGRATIONS]
    assert await db.migrate() == []  # second run applies nothing
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    await db.close()


def test_migrations_are_numbered_without_gaps():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


async def test_a_database_from_newer_code_is_refused(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
    conn.commit()
    conn.close()
    db = Database(path)
    with pytest.raises(RuntimeError, match="newer than the code"):
        await db.open()
    await db.close()


async def test_a_failing_migration_leaves_nothing_behind(tmp_path, monkeypatch):
    import storage.db as dbmod

    broken = [*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "broken", "CREATE TABLE half_done (x INTEGER); INSERT INTO nowhere VALUES (1)")]
    monkeypatch.setattr(dbmod, "MIGRATIONS", broken)
    db = Database(tmp_path / "b.db")
    with pytest.raises(sqlite3.OperationalError):
        await db.open()
    await db.close()
    conn = sqlite3.connect(tmp_path / "b.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables
    assert conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)
    conn.close()


async def test_rollback_on_error_leaves_nothing(db):
    with pytest.raises(ZeroDivisionError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (-1, 'x', 'supergroup', 'now')")
            1 / 0
    assert await db.fetchval("SELECT COUNT(*) FROM groups") == 0


async def test_readers_never_see_uncommitted_writes(db):
    entered, release = asyncio.Event(), asyncio.Event()

    async def writer():
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (-1, 'x', 'supergroup', 'now')")
            entered.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await entered.wait()
    assert await db.fetchval("SELECT COUNT(*) FROM groups") == 0
    release.set()
    await task
    assert await db.fetchval("SELECT COUNT(*) FROM groups") == 1


async def test_concurrent_transactions_are_serialised_and_none_lost(db):
    await GroupRepo(db).register(-1, "g", "supergroup", None, NOW)

    async def bump(i):
        async with db.transaction() as tx:
            cur = await tx.execute("SELECT COUNT(*) FROM group_settings WHERE chat_id = -1")
            n = (await cur.fetchone())[0]
            await asyncio.sleep(0)
            await tx.execute(
                "INSERT INTO group_settings(chat_id, key, value, updated_at) VALUES (-1, ?, ?, 'now')", (f"k{n}", str(i))
            )

    await asyncio.gather(*(bump(i) for i in range(30)))
    assert await db.fetchval("SELECT COUNT(*) FROM group_settings") == 30


async def test_online_backup_copies_committed_data(db, tmp_path):
    await GroupRepo(db).register(-5, "Tea", "supergroup", None, NOW)
    target = tmp_path / "copy" / "backup.db"
    assert backup(db.path, target) > 0
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT title FROM groups WHERE chat_id = -5").fetchone()[0] == "Tea"
    conn.close()


def test_backup_of_a_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no database"):
        backup(tmp_path / "nothing.db", tmp_path / "b.db")


@pytest.mark.parametrize("other_readers", [1, 2])
async def test_a_read_sees_every_commit_that_finished_before_it(tmp_path, other_readers):
    """Another coroutine's read in flight must not hold an old snapshot open for this one (it did: /invite then
    failed because the link it had just stored was not there)."""
    db = Database(tmp_path / "fresh.db")
    await db.open()
    await GroupRepo(db).register(-1, "Tea", "supergroup", None, NOW)
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO group_settings(chat_id, key, value, updated_at) VALUES (-1, ?, 'x', ?)",
            [(f"filler{i}", "t") for i in range(200)],
        )
    stop = asyncio.Event()

    async def reader() -> None:
        while not stop.is_set():
            await db.fetchone("SELECT key FROM group_settings WHERE chat_id = -1")
            await db.fetchall("SELECT key FROM group_settings WHERE chat_id = -1 LIMIT 5")

    others = [asyncio.create_task(reader()) for _ in range(other_readers)]
    misses = 0
    try:
        for i in range(300):
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO group_settings(chat_id, key, value, updated_at) VALUES (-1, ?, 'v', 't')", (f"k{i}",),
                )
            if await db.fetchval("SELECT value FROM group_settings WHERE chat_id = -1 AND key = ?", (f"k{i}",)) is None:
                misses += 1
    finally:
        stop.set()
        await asyncio.gather(*others)
        await db.close()
    assert misses == 0


async def test_writes_that_arrive_together_share_one_transaction_and_each_caller_sees_its_own(db):
    """GroupCommit: every caller returns once its row is committed (a read right after sees it); callers that
    came while the writer was busy are written together; a failure reaches every caller of that batch."""
    from storage.db import GroupCommit

    await db.migrate()
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE IF NOT EXISTS seen_rows (n INTEGER PRIMARY KEY)")

    def write(conn, items):
        if any(n < 0 for n in items):
            raise sqlite3.IntegrityError("negative")
        conn.executemany("INSERT INTO seen_rows(n) VALUES (?)", [(n,) for n in items])

    batch = GroupCommit(db, write)

    async def submit_and_read(n):
        await batch.submit(n)
        return await db.fetchval("SELECT COUNT(*) FROM seen_rows WHERE n = ?", (n,))

    db.holds.reset()
    async with db.transaction():  # the writer is busy: the sightings queue up behind it
        tasks = [asyncio.ensure_future(submit_and_read(n)) for n in range(50)]
        await asyncio.sleep(0.01)
    assert await asyncio.gather(*tasks) == [1] * 50
    assert db.holds.count == 2  # the busy one, then all fifty in one
    assert await db.fetchval("SELECT COUNT(*) FROM seen_rows") == 50

    async with db.transaction():
        failing = [asyncio.ensure_future(batch.submit(n)) for n in (100, -1)]
        await asyncio.sleep(0.01)
    results = await asyncio.gather(*failing, return_exceptions=True)
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results)
    assert await db.fetchval("SELECT COUNT(*) FROM seen_rows WHERE n = 100") == 0  # all or nothing

    # A caller that gives up does not cancel the write the others are waiting for.
    async with db.transaction():
        quitter = asyncio.ensure_future(batch.submit(200))
        stayer = asyncio.ensure_future(batch.submit(201))
        await asyncio.sleep(0.01)
        quitter.cancel()
    await stayer
    assert await db.fetchval("SELECT COUNT(*) FROM seen_rows WHERE n IN (200, 201)") == 2


async def test_commits_never_checkpoint_the_wal_and_the_checkpoint_job_does(db):
    """A commit that crossed SQLite's 1000-page threshold used to copy the WAL into the database itself (the
    check-in that paid for it took ~40 ms more). The writer has autocheckpoint off; checkpoint() does it beside."""
    assert await db.fetchval("PRAGMA wal_autocheckpoint") == 1000  # the reader's own setting: it never writes
    wal = db.path.with_name(db.path.name + "-wal")
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE big (n INTEGER PRIMARY KEY, pad TEXT)")
    for start in range(0, 3000, 500):
        async with db.transaction() as tx:
            await tx.executemany("INSERT INTO big(n, pad) VALUES (?, ?)", [(n, "x" * 2000) for n in range(start, start + 500)])
    pages = wal.stat().st_size // 4096
    assert pages > 1000  # no commit checkpointed (and so restarted) the WAL
    busy, frames, copied = await db.checkpoint()
    assert busy == 0 and frames > 1000 and copied == frames
    async with db.transaction() as tx:  # the next commit starts the WAL over from its beginning
        await tx.execute("INSERT INTO big(n, pad) VALUES (-1, 'x')")
    assert (await db.checkpoint())[1] < 10
    assert await db.fetchval("SELECT COUNT(*) FROM big") == 3001


async def test_a_write_is_one_whole_transaction_in_one_hop_and_rolls_back_whole(db):
    """db.write(fn): fn runs on the writer's thread between BEGIN IMMEDIATE and COMMIT — every statement of it is
    committed together (and seen by the next read), or, when it raises, none is."""
    await db.write(lambda conn: conn.execute("CREATE TABLE w (n INTEGER PRIMARY KEY)"))

    def two(conn, a, b):
        conn.execute("INSERT INTO w VALUES (?)", (a,))
        conn.execute("INSERT INTO w VALUES (?)", (b,))
        return conn.execute("SELECT COUNT(*) FROM w").fetchone()[0]

    assert await db.write(two, 1, 2) == 2
    assert await db.fetchval("SELECT COUNT(*) FROM w") == 2
    with pytest.raises(sqlite3.IntegrityError):
        await db.write(two, 3, 1)  # 3 is written, then 1 collides: 3 goes too
    assert [r[0] for r in await db.fetchall("SELECT n FROM w ORDER BY n")] == [1, 2]
    # The writer is free afterwards, for transaction() as for write().
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO w VALUES (4)")
    assert await db.write(two, 5, 6) == 5


async def test_writer_holds_are_kept_per_kind_of_transaction(db):
    """The bench names every kind of transaction with its own longest hold (not only the overall longest), so a
    slow kind is seen even when another one happens to hold the writer longer once."""
    await db.write(lambda conn: conn.execute("CREATE TABLE w (n INTEGER PRIMARY KEY)"))

    def insert_one(conn, n):
        conn.execute("INSERT INTO w VALUES (?)", (n,))

    db.holds.reset()
    for n in range(3):
        await db.write(insert_one, n)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO w VALUES (10)")
    kinds = db.holds.kinds()
    assert set(kinds) == {insert_one.__qualname__, test_writer_holds_are_kept_per_kind_of_transaction.__qualname__}
    assert kinds[insert_one.__qualname__]["count"] == 3
    assert sum(k["count"] for k in kinds.values()) == db.holds.count == 4
    assert max(k["longest_ms"] for k in kinds.values()) == pytest.approx(1e3 * db.holds.longest)
    assert list(kinds) == sorted(kinds, key=lambda by: -kinds[by]["longest_ms"])  # longest first
    db.holds.reset()
    assert db.holds.kinds() == {}


async def test_writes_never_land_inside_an_open_transaction_and_a_rollback_there_keeps_them(db):
    """A write() that comes while a transaction() is open waits for it: the open one's ROLLBACK does not take the
    write with it, and the write does not see the open one's rows."""
    await db.write(lambda conn: conn.execute("CREATE TABLE w (n INTEGER PRIMARY KEY)"))
    started = asyncio.Event()
    seen = []

    async def open_then_fail():
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO w VALUES (1)")
                started.set()
                await asyncio.sleep(0.02)
                raise RuntimeError("changed my mind")

    def count_then_insert(conn):
        seen.append(conn.execute("SELECT COUNT(*) FROM w").fetchone()[0])
        conn.execute("INSERT INTO w VALUES (2)")

    failing = asyncio.ensure_future(open_then_fail())
    await started.wait()
    await db.write(count_then_insert)
    await failing
    assert seen == [0]
    assert [r[0] for r in await db.fetchall("SELECT n FROM w")] == [2]


async def test_a_cancelled_write_tells_the_commit_hooks_what_really_happened(db):
    """Cancelling the caller cannot stop the writer's thread: the hook hears 'committed' when the commit happened
    (the inbox would otherwise write a mark twice, or believe an update unhandled whose effects are committed)."""
    from storage.db import CommitRows

    await db.write(lambda conn: conn.execute("CREATE TABLE w (n INTEGER PRIMARY KEY)"))
    told = []

    class Hook:
        def before_commit(self):
            return CommitRows("INSERT INTO w", "(?)", [(100,)], token="mark")

        def after_commit(self, written, committed):
            told.append((written.token, committed))

    db.add_commit_hook(Hook())
    gate = __import__("threading").Event()

    def slow(conn):
        gate.wait(5)
        conn.execute("INSERT INTO w VALUES (1)")

    task = asyncio.ensure_future(db.write(slow))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.01)
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert told == [("mark", True)]
    assert [r[0] for r in await db.fetchall("SELECT n FROM w ORDER BY n")] == [1, 100]
