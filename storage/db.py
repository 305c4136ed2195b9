"""The SQLite database: one write connection (serialised, BEGIN IMMEDIATE) and one read connection that sees only committed data."""
from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from functools import partial
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from contextvars import ContextVar
from typing import Any, Protocol

import aiosqlite

from storage.migrations import MIGRATIONS


def iso(moment: datetime) -> str:
    """Times are stored as UTC ISO-8601 text with a fixed shape, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# Set while this task is inside transaction(): what runs there must not open another (the write lock is not reentrant).
_IN_TRANSACTION: ContextVar[bool] = ContextVar("sticky_in_transaction", default=False)


@dataclass(frozen=True)
class CommitRows:
    """What a commit hook writes with a transaction: `rows` as one multi-row statement, `head VALUES row, row, …
    tail` (execute_values); `token` is the hook's own note of what they stand for, handed back to it in
    after_commit."""

    head: str
    row: str
    rows: list[tuple]
    tail: str = ""
    token: Any = None
    more: tuple["CommitRows", ...] = ()  # statements that go with these rows (what rides with the inbox's marks)
    # Instead of the rows: a write that must read first (a ledger credit reads the balances before it),
    # call(sqlite3 connection) on the writer's thread, in the same place in the transaction.
    call: Callable[[sqlite3.Connection], None] | None = None


class CommitHook(Protocol):
    """Something that rides along on every write transaction (the inbox's "handled" marks): asked on the event loop,
    just before the transaction commits, for the rows to write with it; told afterwards whether they were committed."""

    def before_commit(self) -> CommitRows | None:
        """The rows to write inside the transaction, just before COMMIT (None: nothing)."""

    def after_commit(self, written: CommitRows, committed: bool) -> None:
        """Whether what before_commit gave was committed."""


class HoldStats:
    """Write-connection holds since the last reset: how many, the longest (and whose), the total (seconds); and per
    kind of transaction (who opened it) the same three, so one slow kind is not hidden behind the overall longest."""

    __slots__ = ("count", "longest", "longest_by", "total", "by_kind")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count, self.longest, self.total, self.longest_by = 0, 0.0, 0.0, ""
        self.by_kind: dict[str, list] = {}  # by -> [count, longest, total]

    def add(self, seconds: float, by: str = "") -> None:
        self.count += 1
        self.total += seconds
        if seconds > self.longest:
            self.longest, self.longest_by = seconds, by
        kind = self.by_kind.get(by)
        if kind is None:
            self.by_kind[by] = [1, seconds, seconds]
        else:
            kind[0] += 1
            kind[2] += seconds
            if seconds > kind[1]:
                kind[1] = seconds

    def kinds(self) -> dict[str, dict[str, float]]:
        """Per kind, longest first: {"count", "longest_ms", "total_ms"}."""
        ordered = sorted(self.by_kind.items(), key=lambda kv: -kv[1][1])
        return {by: {"count": n, "longest_ms": 1e3 * longest, "total_ms": 1e3 * total} for by, (n, longest, total) in ordered}


class Database:
    def __init__(self, path: str | Path, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._changes_checkpointed = -1  # the writer's total_changes when the last checkpoint began
        # aiosqlite runs each connection in its own thread; the lock keeps our coroutines from
        # interleaving statements of two transactions on the one write connection.
        self._write_lock = asyncio.Lock()
        self._hooks: list[CommitHook] = []
        # How long transactions held the one write connection (lock taken → released): what everyone else waits on.
        self.holds = HoldStats()

    def add_commit_hook(self, hook: CommitHook) -> None:
        self._hooks.append(hook)

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        try:
            await self._writer.execute("PRAGMA journal_mode=WAL")
            # No checkpoint inside whichever commit crosses the threshold (it made that one update wait ~40 ms):
            # checkpoint() runs them from a job, on a connection of their own, beside the writer.
            await self._writer.execute("PRAGMA wal_autocheckpoint=0")
            await self.migrate()
            # A separate reader so that a read never sees another coroutine's uncommitted writes.
            self._reader = await self._connect()
            await self._reader.execute("PRAGMA query_only=ON")
        except BaseException:
            # Each aiosqlite connection is a live thread: one left open keeps the process from ever exiting.
            await self.close()
            raise

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            await conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:  # e.g. "file is not a database": don't leave the connection's thread behind
            await conn.close()
            raise
        return conn

    async def checkpoint(self) -> tuple[int, int, int]:
        """Copy committed pages from the WAL into the database without waiting for anyone (PASSIVE), on a
        connection of its own so that neither writes nor reads queue behind it. (busy, WAL frames, copied)."""
        assert self._writer is not None, "database is not open"
        if self._checkpointer is None:
            self._checkpointer = await self._connect()
        self._changes_checkpointed = self._writer.total_changes
        async with self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)") as cur:
            busy, frames, copied = await cur.fetchone()
        return busy, frames, copied

    @property
    def written_since_checkpoint(self) -> bool:
        """Rows were written since the last checkpoint began (before it, nothing is left for one to copy)."""
        return self._writer is not None and self._writer.total_changes != self._changes_checkpointed

    async def close(self) -> None:
        for conn in (self._checkpointer, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._checkpointer = self._reader = self._writer = None

    @property
    def in_transaction(self) -> bool:
        """This task is inside transaction() (its commit will carry what a hook has to write)."""
        return _IN_TRANSACTION.get()

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """All-or-nothing: BEGIN IMMEDIATE … COMMIT, ROLLBACK on any exception. One writer at a time. Each statement
        in it is a hop to the writer's thread and back (every other writer waits meanwhile): a use-case on the hot
        path writes with write() instead, one hop for the whole transaction."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        by = sys._getframe(2).f_code.co_qualname  # who opened it (the frame above contextlib's __aenter__)
        async with self._write_lock:
            taken = time.perf_counter()
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                written: list[tuple[CommitHook, CommitRows]] = []
                inside = _IN_TRANSACTION.set(True)
                commit: asyncio.Future | None = None
                try:
                    yield self._writer
                    written = self._before_commit()
                    # The hooks' rows and the COMMIT in one hop; its outcome is awaited even if we are cancelled.
                    commit = _submit(self._writer, _commit, [rows for _, rows in written])
                    await _outcome(commit)
                except BaseException:
                    committed = commit is not None and _succeeded(commit)
                    if not committed:
                        await _outcome(_submit(self._writer, _rollback))
                    self._after_commit(written, committed)
                    raise
                finally:
                    _IN_TRANSACTION.reset(inside)
                self._after_commit(written, True)
            finally:
                self.holds.add(time.perf_counter() - taken, by)

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any:
        """One whole transaction in one hop: fn(sqlite3 connection, *args) runs on the writer's thread between
        BEGIN IMMEDIATE and COMMIT (with the commit hooks' rows), ROLLBACK if it raises; returns what fn returns.
        Read once, decide, write once: reads inside fn see the database as it is while nobody else can write.
        The writer is held for as long as fn runs, not for the event loop's round trips between statements."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        if _IN_TRANSACTION.get():
            raise RuntimeError("write() inside transaction(): the write lock is not reentrant")
        while self._write_lock.locked():  # a transaction() is open: it goes first
            async with self._write_lock:
                pass
        # From here to the submit nothing awaits: no transaction() can begin in between, and the writer's thread
        # runs what it is handed in order, so fn never lands inside someone else's transaction.
        written = self._before_commit()
        held = [0.0]
        future = _submit(self._writer, _whole_transaction, fn, args, [rows for _, rows in written], held)
        try:
            result = await _outcome(future)
        except BaseException:
            self._after_commit(written, _succeeded(future))
            self.holds.add(held[0], getattr(fn, "__qualname__", "write"))
            raise
        self._after_commit(written, True)
        self.holds.add(held[0], getattr(fn, "__qualname__", "write"))
        return result

    def _before_commit(self) -> list[tuple[CommitHook, CommitRows]]:
        written = []
        try:
            for hook in self._hooks:
                rows = hook.before_commit()
                if rows is not None:
                    written.append((hook, rows))
        except BaseException:
            self._after_commit(written, False)
            raise
        return written

    @staticmethod
    def _after_commit(written: list[tuple[CommitHook, CommitRows]], committed: bool) -> None:
        for hook, rows in written:
            hook.after_commit(rows, committed)

    async def call(self, tx: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn(sqlite3 connection, *args) on the writer's thread inside an open transaction: several
        statements for one thread hop."""
        assert tx is self._writer and self._write_lock.locked(), "call() belongs inside transaction()"
        return await tx._execute(fn, tx._conn, *args)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        return await self._read(fetchone_in, sql, params)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return await self._read(fetchall_in, sql, params)

    async def _read(self, fn: Callable[[sqlite3.Connection, str, tuple], Any], sql: str, params: Iterable[Any]) -> Any:
        """One read is one call on the reader's thread: execute, fetch and close together. A statement left open
        between awaits (aiosqlite's execute-then-fetch) keeps the connection's read snapshot open, and every other
        coroutine's read on it would miss rows committed since."""
        assert self._reader is not None, "database is not open"
        return await self._reader._execute(fn, self._reader._conn, sql, tuple(params))

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Read once: fn(sqlite3 connection, *args) runs on the reader's thread, several statements for one hop,
        all from one snapshot."""
        assert self._reader is not None, "database is not open"
        return await self._reader._execute(_in_one_snapshot, self._reader._conn, fn, args)

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def migrate(self) -> list[int]:
        """Apply the migrations not yet recorded, each in its own transaction. Returns the versions applied."""
        assert self._writer is not None
        await self._writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with self._writer.execute("SELECT version FROM schema_migrations") as cur:
            done = {row[0] for row in await cur.fetchall()}
        known = {m.version for m in MIGRATIONS}
        unknown = done - known
        if unknown:
            raise RuntimeError(
                f"database {self.path} has migrations {sorted(unknown)} this Sticky does not know: it is newer than the code"
            )
        hooks, self._hooks = self._hooks, []  # the tables hooks write to may not exist yet
        try:
            applied = await self._apply(MIGRATIONS, done)
        finally:
            self._hooks = hooks
        return applied

    async def _apply(self, migrations: list, done: set[int]) -> list[int]:
        applied = []
        for migration in migrations:
            if migration.version in done:
                continue
            async with self.transaction() as tx:
                for statement in migration.statements():
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, iso(datetime.now(timezone.utc))),
                )
            applied.append(migration.version)
        return applied


class GroupCommit:
    """Small writes of one kind that arrive together share one transaction (a group commit): each caller still
    returns only once its own row is committed, so nothing reads differently afterwards, but N members' first
    messages cost one BEGIN … COMMIT instead of N. `write(conn, items)` runs on the writer's thread (one hop)."""

    def __init__(self, db: Database, write: Callable[[sqlite3.Connection, list[Any]], None], limit: int = 500) -> None:
        self.db, self._write, self._limit = db, write, limit
        self._queue: list[tuple[Any, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    async def submit(self, item: Any) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((item, future))
        if self._task is None or self._task.done():
            # Its own context: the batch is nobody's update (the inbox marks what each caller handles itself).
            self._task = loop.create_task(self._drain(), context=contextvars.Context())
        await asyncio.shield(future)  # a caller that gives up does not take the others' write with it

    async def _drain(self) -> None:
        while self._queue:
            while self.db._write_lock.locked():  # wait for the writer here, collecting whoever comes meanwhile
                async with self.db._write_lock:
                    pass
            batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
            try:
                await self.db.write(self._write, [item for item, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)


def _submit(conn: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
    """Hand fn(sqlite3 connection, *args) to the connection's thread now (what aiosqlite's _execute does before it
    awaits): the thread runs what it is handed in order, and the caller gets the future without yielding first."""
    if not conn._running or conn._connection is None:
        raise ValueError("Connection closed")
    future = asyncio.get_running_loop().create_future()
    conn._tx.put_nowait((future, partial(fn, conn._conn, *args)))
    return future


async def _outcome(future: asyncio.Future) -> Any:
    """Await what a connection's thread was handed. Cancelling the caller cannot stop the thread, so its outcome
    is still waited for (a commit hook must hear whether the commit happened), then the cancellation goes on."""
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if future.done():
            raise
        while not future.done():
            try:
                await asyncio.wait((future,))
            except asyncio.CancelledError:
                pass
        raise


def _succeeded(future: asyncio.Future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def _whole_transaction(conn: sqlite3.Connection, fn: Callable[..., Any], args: tuple, hooks: list[CommitRows], held: list[float]) -> Any:
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args)
        _commit(conn, hooks)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        held[0] = time.perf_counter() - start
    return result


def _commit(conn: sqlite3.Connection, hooks: list[CommitRows]) -> None:
    for rows in hooks:
        for part in (rows, *rows.more):
            if part.call is not None:
                part.call(conn)
            else:
                execute_values(conn, part.head, part.row, part.rows, part.tail)
    conn.execute("COMMIT")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _in_one_snapshot(conn: sqlite3.Connection, fn: Callable[..., Any], args: tuple) -> Any:
    conn.execute("BEGIN")
    try:
        return fn(conn, *args)
    finally:
        conn.execute("COMMIT")


# Parameters per multi-row statement: under SQLite's default limit of 32,766.
_PARAMS_PER_STATEMENT = 30_000


def execute_values(conn: sqlite3.Connection, head: str, row: str, rows: list[tuple], tail: str = "") -> None:
    """`head VALUES row, row, … tail` as one statement per 30,000 parameters: one step on the writer's thread where
    executemany takes one per row — and each step gives the GIL back, to get it again only when the busy event loop
    lets go (up to the 5 ms switch interval each). Multi-row VALUES is standard SQL (PostgreSQL takes it too)."""
    if not rows:
        return
    per = max(1, _PARAMS_PER_STATEMENT // len(rows[0]))
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        conn.execute(f"{head} VALUES {','.join([row] * len(part))} {tail}", [v for r in part for v in r])


def fetchone_in(conn: sqlite3.Connection, sql: str, params: tuple) -> Any:
    """One statement's first row, the statement closed (inside a write: RETURNING's changes are all made by then)."""
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchone()
    finally:
        cursor.close()


def fetchall_in(conn: sqlite3.Connection, sql: str, params: tuple) -> list:
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()
