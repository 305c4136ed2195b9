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

import asyncio
import contextvars
import json
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime


from storage.db import CommitRows, Database, execute_values, iso

log = logging.getLogger(__name__)

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


# What is written for a received batch in the transaction that records it (bot.services.inbox.InboxService.add_with_batch):
# write(connection, ids recorded before) on the writer's thread — those ids are repeats, not new.
BatchWrite = Callable[[sqlite3.Connection, set[int]], None]


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
        self.along = Along(db, self)  # one-off writes of an update's handling, with its mark

    def add_rider(self, rider: Rider) -> None:
        self._riders.append(rider)

    # ---------------------------------------------------------------- receiving

    async def record(self, updates: list[tuple[int, str]], with_batch: Sequence[BatchWrite] = ()) -> set[int]:
        """Store a received batch in one transaction, with what goes with it (BatchWrite); returns the ids that were
        already in the inbox."""
        if not updates:
            return set()
        at = iso(self.now())
        return await self.db.write(_record, updates, at, tuple(with_batch))

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


def _record(conn: sqlite3.Connection, updates: Iterable[tuple[int, str]], at: str,
            with_batch: tuple[BatchWrite, ...] = ()) -> set[int]:
    updates = list(updates)
    ids = [u for u, _ in updates]
    marks = ",".join("?" * len(ids))
    known = {r[0] for r in conn.execute(f"SELECT update_id FROM inbox WHERE update_id IN ({marks})", ids)}
    execute_values(conn, "INSERT INTO inbox(update_id, payload, received_at)", "(?, ?, ?)",
                   [(u, payload, at) for u, payload in updates if u not in known], "ON CONFLICT(update_id) DO NOTHING")
    for write in with_batch:
        write(conn, known)
    return known


# ---------------------------------------------------------------------------- writes that ride with a mark

RESULTS_KEPT = 4096
Writer = Callable[[sqlite3.Connection, int, dict], Any]  # (connection, update id, data) -> result, on the writer's thread


@dataclass(frozen=True)
class Kind:
    write: Writer
    done: Callable[[int, dict, Any], None] | None = None  # written and committed (on the event loop)
    dropped: Callable[[int, dict], None] | None = None  # settled as gone: never written


@dataclass(frozen=True)
class Unsettled:
    update_id: int
    chat_id: int
    message_id: int


class Along:
    """A Rider for the one-off writes an update's handling decided (a reply to the topic of the week, a message
    counted toward its sender's pending referral): held as data by kind, and written by the kind's writer in the
    commit that marks the update handled, whichever commit of its handling that is (a rule's, a check-in's, or the
    mark's own), so a kill loses none and a redelivery writes none twice. What is decided once the mark is written
    (no handler decided it before that commit) is written at once, keyed by the update.

    For a message a rule means to delete, what it would earn by staying is `contingent` instead: the commit that
    marks it stores the data (inbox_stays) instead of writing it, and `settle` writes it once the delete's outcome
    says the message stayed, or drops it when it is gone, in one transaction that also deletes the stored rows, so
    it happens once. A kill in between leaves the rows for `unsettled` (the next start asks Telegram again)."""

    def __init__(self, db: Database, marks: InboxRepo) -> None:
        self.db, self.marks = db, marks
        self._kinds: dict[str, Kind] = {}
        self._held: dict[int, list[tuple[str, dict]]] = {}
        self._contingent: dict[int, tuple[int, int]] = {}  # update id -> (chat, message) the rule means to delete
        self._riding: dict[int, tuple[list[tuple[str, dict]], tuple[int, int] | None, dict[str, Any]]] = {}
        self._results: dict[int | None, dict[str, Any]] = {}
        self._settling: set[int] = set()  # contingent, its handling still to settle it (the leftover sweep waits)
        self._loose: asyncio.Task | None = None
        marks.add_rider(self)

    def kind(self, name: str, write: Writer, done: Callable[[int, dict, Any], None] | None = None,
             dropped: Callable[[int, dict], None] | None = None) -> None:
        self._kinds[name] = Kind(write, done, dropped)

    async def hold(self, update_id: int | None, kind: str, data: dict, held: bool = True) -> bool:
        """Hold this write for the update's mark (True); for an update not handled through the inbox (`held` False,
        or no update), or once its mark is written, it is written at once (False), its result kept for result()."""
        if held and update_id is not None and not self.marks.is_marked(update_id):
            self._held.setdefault(update_id, []).append((kind, data))
            return True
        results = await self.db.write(self._write_in, [(kind, data)], 0 if update_id is None else update_id)
        self._done(update_id, [(kind, data)], results)
        return False

    def holding(self, update_id: int) -> bool:
        return update_id in self._held

    def result(self, update_id: int | None, kind: str) -> Any:
        """What the writer of `kind` returned for this update once written (then forgotten); None before or if never."""
        results = self._results.get(update_id)
        if results is None:
            return None
        found = results.pop(kind, None)
        if not results:
            del self._results[update_id]
        return found

    def forget(self, update_id: int | None) -> None:
        self._results.pop(update_id, None)

    def contingent(self, update_id: int, chat_id: int, message_id: int, more: list[tuple[str, dict]] = ()) -> bool:
        """What is held for this update (and `more`: chat XP handed over) waits for the outcome of deleting its
        message: stored by the commit that marks it, for settle(). False when there is nothing to wait."""
        items = self._held.get(update_id, []) + list(more)
        if not items or self.marks.is_marked(update_id):
            return False
        self._held[update_id] = items
        self._contingent[update_id] = (chat_id, message_id)
        self._settling.add(update_id)
        return True

    async def settle(self, update_id: int, stays: bool | None) -> bool:
        """The delete's outcome for a contingent update: the message stayed (its writes are written now), it is gone
        (dropped), or Telegram's answer was unsure (None: left for the leftover sweep). One transaction, which also
        deletes the stored rows, so a second settle finds nothing (False)."""
        self._settling.discard(update_id)
        if stays is None:
            return False
        settled = await self.db.write(self._settle_in, update_id, stays)
        if settled is None:
            return False
        items, results = settled
        if stays:
            self._done(update_id, items, results)
        else:
            for kind, data in items:
                dropped = self._kinds[kind].dropped
                if dropped is not None:
                    dropped(update_id, data)
        return True

    async def unsettled(self) -> list[Unsettled]:
        """Contingent updates stored and not settled (a kill, or an unsure delete), but those whose handling is still
        to settle them."""
        rows = await self.db.fetchall("SELECT DISTINCT update_id, chat_id, message_id FROM inbox_stays ORDER BY update_id")
        return [Unsettled(r[0], r[1], r[2]) for r in rows if r[0] not in self._settling]

    # ------------------------------------------------------------------ the writer's thread

    def _write_in(self, conn: sqlite3.Connection, items: list[tuple[str, dict]], update_id: int) -> dict[str, Any]:
        return {kind: self._kinds[kind].write(conn, update_id, data) for kind, data in items}

    def _settle_in(self, conn: sqlite3.Connection, update_id: int, stays: bool):
        rows = conn.execute("SELECT kind, data FROM inbox_stays WHERE update_id = ? ORDER BY rowid", (update_id,)).fetchall()
        if not rows:
            return None
        conn.execute("DELETE FROM inbox_stays WHERE update_id = ?", (update_id,))
        items = [(kind, json.loads(data)) for kind, data in rows if kind in self._kinds]
        return items, (self._write_in(conn, items, update_id) if stays else {})

    def _store_in(self, conn: sqlite3.Connection, update_id: int, chat_id: int, message_id: int, items: list[tuple[str, dict]],
                  at: str) -> None:
        conn.executemany("INSERT INTO inbox_stays(update_id, chat_id, message_id, kind, data, at) VALUES (?, ?, ?, ?, ?, ?)",
                         [(update_id, chat_id, message_id, kind, json.dumps(data, separators=(",", ":")), at) for kind, data in items])

    def _done(self, update_id: int | None, items: list[tuple[str, dict]], results: dict[str, Any]) -> None:
        if len(self._results) >= RESULTS_KEPT:  # results nobody asked for (a handling that failed before it asked)
            del self._results[next(iter(self._results))]
        kept = {kind: result for kind, result in results.items() if result is not None}
        if kept:
            self._results.setdefault(update_id, {}).update(kept)
        for kind, data in items:
            done = self._kinds[kind].done
            if done is not None:
                done(update_id, data, results.get(kind))

    # ------------------------------------------------------------------ Rider

    def keeps(self, update_id: int) -> bool:
        return False  # its writes are changes a user sees (XP, a count toward a referral): the next commit takes them

    def ride(self, update_ids: list[int]) -> list[CommitRows]:
        taken = [(i, self._held.pop(i), self._contingent.pop(i, None)) for i in update_ids if i in self._held]
        if not taken:
            return []
        at = iso(self.marks.now())

        def call(conn: sqlite3.Connection) -> None:
            for update_id, items, where in taken:
                if where is None:
                    self._riding[update_id][2].update(self._write_in(conn, items, update_id))
                else:
                    self._store_in(conn, update_id, *where, items, at)

        for update_id, items, where in taken:
            self._riding[update_id] = (items, where, {})
        return [CommitRows("", "", [], call=call)]

    def rode(self, update_ids: list[int], committed: bool) -> None:
        for update_id in update_ids:
            riding = self._riding.pop(update_id, None)
            if riding is None:
                continue
            items, where, results = riding
            if not committed:  # back in memory, for the update's next commit
                self._held[update_id] = items + self._held.get(update_id, [])
                if where is not None:
                    self._contingent[update_id] = where
            elif where is None:
                self._done(update_id, items, results)

    def release(self, update_id: int) -> None:
        """Its mark was written by a commit during its handling, after which nothing is held (hold() writes at
        once): should something be left (a failed commit put it back), it is written now, on its own."""
        items = self._held.pop(update_id, None)
        where = self._contingent.pop(update_id, None)
        if items is None:
            return
        log.warning("update %s: %d write(s) left after its mark; written on their own", update_id, len(items))

        async def write() -> None:
            try:
                if where is None:
                    self._done(update_id, items, await self.db.write(self._write_in, items, update_id))
                else:
                    await self.db.write(self._store_in, update_id, *where, items, iso(self.marks.now()))
            except Exception as exc:
                log.warning("update %s: its writes are lost: %s", update_id, exc)

        self._loose = asyncio.get_running_loop().create_task(write(), context=contextvars.Context())
