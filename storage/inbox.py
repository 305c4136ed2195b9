"""The inbox: every update as Telegram sent it, stored before Telegram is told it arrived, marked once handled.

"Handled" is written in the same transaction as what handling the update changed (a commit hook), so a crash
can never leave an effect committed and its update due again; updates that change nothing are marked in the
next commit that happens anyway (a received batch, a counter flush) or a short timer's — never a commit each.
What an update left in memory to be written later (its message counts, its chat XP) rides with its mark: a rider
gives the rows for the updates being marked, written in the same commit, so after a crash they are either written
and marked, or neither (and the update is handled again). A rider may keep a finished update's mark back for its
own batch (chat XP: one ledger row per member per flush, not per commit), and releases it when it writes.
"""
from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime


from storage.db import CommitRows, Database, execute_values, iso

# The update whose handling is running in this task (set once its preliminaries are written): a transaction
# committed while it is set also marks that update handled.
HANDLING: ContextVar[int | None] = ContextVar("sticky_inbox_handling", default=None)

_MARK_HEAD = "INSERT INTO inbox(update_id, received_at, handled_at)"
_MARK_TAIL = "ON CONFLICT(update_id) DO UPDATE SET handled_at = COALESCE(inbox.handled_at, excluded.handled_at), payload = NULL"


class Rider(Protocol):
    """Rows kept in memory for updates (by update id) that must commit with those updates' handled marks."""

    def ride(self, update_ids: list[int]) -> list[CommitRows]:
        """The rows of these updates, to be written with their marks (on the event loop, just before COMMIT)."""

    def rode(self, update_ids: list[int], committed: bool) -> None:
        """Whether what ride gave for these updates was committed (if not, the rider keeps it for their next one).
        Commits may overlap (write() does not wait for another write()), so each is told apart by its ids."""

    def release(self, update_id: int) -> None:
        """This update's mark was written before its handling ended (by a commit during it): what it still holds
        is written by the rider's own batch."""

    def keeps(self, update_id: int) -> bool:
        """Whether this finished update's mark waits for the rider's batch (InboxRepo.let_go) rather than going with
        the next commit. Not asked of an update whose mark a commit during its handling already wrote."""


class RecentIds:
    """A set of update ids that remembers those within `span` of the newest one added (one bit each: 8 KB for 65,536,
    instead of an ordered dict's 110 B an id), and the last `span // 64` added below that window (an id handed in out
    of order). Telegram's update ids only grow (but for a fresh start after a week with no updates, far below: those
    go in the second part). What either forgot is asked of the database, as for an id never seen here."""

    __slots__ = ("span", "_bits", "_top", "_stray")

    def __init__(self, span: int = 65_536) -> None:
        self.span = max(8, span + (-span) % 8)
        self._bits = bytearray(self.span // 8)
        self._top: int | None = None
        self._stray: OrderedDict[int, None] = OrderedDict()

    def add(self, update_id: int) -> None:
        top = self._top
        if top is None or update_id > top:
            if top is not None:  # the ids that fall out of the window make room (their positions are the new ones')
                if update_id - top >= self.span:
                    self._bits[:] = bytes(len(self._bits))
                else:
                    for i in range(top + 1, update_id + 1):
                        self._bits[(i % self.span) >> 3] &= ~(1 << (i & 7)) & 0xFF
            self._top = top = update_id
        if update_id > top - self.span:
            self._bits[(update_id % self.span) >> 3] |= 1 << (update_id & 7)
        else:
            self._stray[update_id] = None
            if len(self._stray) > self.span // 64:
                self._stray.popitem(last=False)

    def __contains__(self, update_id: int) -> bool:
        top = self._top
        if top is not None and top - self.span < update_id <= top:
            return bool(self._bits[(update_id % self.span) >> 3] & (1 << (update_id & 7)))
        return update_id in self._stray


@dataclass(frozen=True)
class Pending:
    update_id: int
    payload: str


class InboxRepo:
    """The inbox table plus the marks not written yet: those belong to the write transaction, not to any caller."""

    def __init__(self, db: Database, now: Callable[[], datetime], remember: int = 65_536) -> None:
        self.db = db
        self.now = now
        self._unwritten: dict[int, None] = {}  # handled, mark not written yet (insertion order = handling order)
        self._kept: dict[int, None] = {}  # handled, mark kept back by a rider for its own batch (let_go)
        self._marked = RecentIds(remember)  # written in this process (skip writing again)
        self._riders: list[Rider] = []
        db.add_commit_hook(self)

    def add_rider(self, rider: Rider) -> None:
        self._riders.append(rider)

    # ---------------------------------------------------------------- receiving

    async def record(self, updates: list[tuple[int, str]]) -> set[int]:
        """Store a received batch in one transaction; returns the ids that were already in the inbox."""
        if not updates:
            return set()
        at = iso(self.now())
        return await self.db.write(_record, updates, at)

    async def unhandled(self) -> list[Pending]:
        """What was received and never handled, in Telegram's order."""
        rows = await self.db.fetchall("SELECT update_id, payload FROM inbox WHERE handled_at IS NULL ORDER BY update_id")
        return [Pending(r[0], r[1]) for r in rows if r[1] is not None]

    async def handled(self, update_id: int) -> bool:
        if update_id in self._marked or update_id in self._unwritten or update_id in self._kept:
            return True
        return await self.db.fetchval("SELECT handled_at FROM inbox WHERE update_id = ?", (update_id,)) is not None

    # ---------------------------------------------------------------- marking

    def finished(self, update_id: int) -> None:
        """This update was handled: its mark goes with the next commit (and what riders hold for it with the mark)."""
        if update_id not in self._marked:
            if any(rider.keeps(update_id) for rider in self._riders):
                self._kept[update_id] = None
            else:
                self._unwritten[update_id] = None
        else:
            for rider in self._riders:
                rider.release(update_id)

    def is_marked(self, update_id: int) -> bool:
        """Whether this update's handled mark is written (by a commit during its handling, or after)."""
        return update_id in self._marked

    def let_go(self, update_ids: list[int]) -> None:
        """Kept marks go with the next commit (and what riders hold for them, with them)."""
        for i in update_ids:
            if i in self._kept:
                del self._kept[i]
                self._unwritten[i] = None

    @property
    def unwritten(self) -> int:
        return len(self._unwritten)

    @property
    def kept(self) -> int:
        return len(self._kept)

    async def flush(self) -> None:
        """Write the marks now, the update being handled in this task included (the hook does it; the transaction
        itself has nothing else to say)."""
        if (self._unwritten or self._current_unmarked()) and self.db.is_open and not self.db.in_transaction:
            await self.db.write(_nothing)

    async def mark_current(self) -> None:
        """Mark the update being handled in this task now, unless a commit already did (one commit, carrying any
        other marks that wait)."""
        if self._current_unmarked() and self.db.is_open and not self.db.in_transaction:
            await self.db.write(_nothing)

    def _current_unmarked(self) -> bool:
        current = HANDLING.get()
        return current is not None and current not in self._marked

    def before_commit(self) -> CommitRows | None:
        ids = list(self._unwritten)
        current = HANDLING.get()
        if current is not None and current not in self._marked and current not in self._unwritten:
            ids.append(current)
        if not ids:
            return None
        for i in ids:
            self._unwritten.pop(i, None)
        at = iso(self.now())
        riding = tuple(rows for rider in self._riders for rows in rider.ride(ids))
        return CommitRows(_MARK_HEAD, "(?, ?, ?)", [(i, at, at) for i in ids], _MARK_TAIL, ids, riding)

    def after_commit(self, written: CommitRows, committed: bool) -> None:
        ids = written.token
        for rider in self._riders:
            rider.rode(ids, committed)
        if not committed:  # back in line for the next commit (the update being handled is marked by its next one)
            for i in ids:
                if i != HANDLING.get():
                    self._unwritten[i] = None
            return
        for i in ids:
            self._marked.add(i)

    # ---------------------------------------------------------------- housekeeping

    async def prune(self, handled_before: datetime) -> int:
        """Forget handled updates older than this (Telegram redelivers nothing older than a day)."""
        # One hop (db.write): a transaction() is a round trip through the event loop per statement, and the writer is
        # held meanwhile (751 ms in a P4 run while 100,000 members chatted, for a DELETE that found nothing).
        return await self.db.write(_prune, iso(handled_before))

    async def counts(self) -> tuple[int, int]:
        """(unhandled, handled) rows, for checks and tests."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) - COUNT(handled_at), COUNT(handled_at) FROM inbox"
        )
        return row[0], row[1]


def _nothing(conn: sqlite3.Connection) -> None:
    """A transaction with nothing of its own to say: the commit hook's marks are its content."""


def _prune(conn: sqlite3.Connection, before: str) -> int:
    return conn.execute("DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?", (before,)).rowcount


def _record(conn: sqlite3.Connection, updates: Iterable[tuple[int, str]], at: str) -> set[int]:
    updates = list(updates)
    ids = [u for u, _ in updates]
    marks = ",".join("?" * len(ids))
    known = {r[0] for r in conn.execute(f"SELECT update_id FROM inbox WHERE update_id IN ({marks})", ids)}
    execute_values(conn, "INSERT INTO inbox(update_id, payload, received_at)", "(?, ?, ?)",
                   [(u, payload, at) for u, payload in updates if u not in known], "ON CONFLICT(update_id) DO NOTHING")
    return known
