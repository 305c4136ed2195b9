"""The inbox on a real SQLite file: a batch is stored once, "handled" commits with the update's own writes (or the
next commit), a rolled-back write marks nothing, and old handled rows are pruned."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from storage.db import CommitRows, Database
from storage.inbox import HANDLING, InboxRepo


@pytest.fixture
def inbox(db, clock):
    return InboxRepo(db, clock.now)


async def rows(db: Database) -> list[tuple]:
    return [tuple(r) for r in await db.fetchall("SELECT update_id, payload IS NOT NULL, handled_at IS NOT NULL FROM inbox ORDER BY update_id")]


async def test_a_batch_is_stored_once_and_what_was_there_is_named(inbox, db):
    assert await inbox.record([(1, '{"update_id":1}'), (2, '{"update_id":2}')]) == set()
    assert await inbox.record([(2, '{"update_id":2}'), (3, '{"update_id":3}')]) == {2}
    assert await rows(db) == [(1, 1, 0), (2, 1, 0), (3, 1, 0)]
    assert [p.update_id for p in await inbox.unhandled()] == [1, 2, 3]


async def test_marks_wait_for_a_commit_and_ride_on_any_transaction(inbox, db):
    await inbox.record([(1, "{}"), (2, "{}")])
    inbox.finished(1)
    assert await rows(db) == [(1, 1, 0), (2, 1, 0)]  # not written by itself: no commit per update
    async with db.transaction() as tx:  # any other write (a counter flush, the next batch) carries it
        await tx.execute("CREATE TABLE unrelated (x INTEGER)")
    assert await rows(db) == [(1, 0, 1), (2, 1, 0)]  # handled, payload dropped
    assert [p.update_id for p in await inbox.unhandled()] == [2]
    assert await inbox.handled(1) and not await inbox.handled(2)


async def test_the_update_being_handled_is_marked_in_its_own_transaction_and_not_when_it_rolls_back(inbox, db):
    await inbox.record([(7, "{}")])
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE effects (x INTEGER)")
    token = HANDLING.set(7)
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO effects VALUES (1)")
                raise RuntimeError("the handler failed half-way")
        assert await rows(db) == [(7, 1, 0)]  # nothing committed, so not handled: it will be handled again
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO effects VALUES (2)")
    finally:
        HANDLING.reset(token)
    assert await rows(db) == [(7, 0, 1)]
    assert await db.fetchall("SELECT x FROM effects") != []


async def test_a_mark_whose_commit_fails_is_written_by_the_next(inbox, db, monkeypatch):
    await inbox.record([(1, "{}"), (2, "{}")])
    inbox.finished(1)
    await inbox.flush()
    inbox.finished(1)  # already marked: nothing more to write
    assert inbox.unwritten == 0
    inbox.finished(2)

    class FailingHook:  # another hook whose rows cannot be written: the whole commit fails, the marks with it
        def before_commit(self):
            return CommitRows("INSERT INTO no_such_table VALUES (?)", [(1,)])

        def after_commit(self, written, committed):
            pass

    monkeypatch.setattr(db, "_hooks", [*db._hooks, FailingHook()])
    with pytest.raises(sqlite3.OperationalError):
        await inbox.flush()
    monkeypatch.undo()
    assert await rows(db) == [(1, 0, 1), (2, 1, 0)]
    assert inbox.unwritten == 1  # back in line
    await inbox.flush()
    assert await rows(db) == [(1, 0, 1), (2, 0, 1)]


async def test_only_old_handled_rows_are_pruned(inbox, db, clock):
    await inbox.record([(1, "{}"), (2, "{}"), (3, "{}")])
    inbox.finished(1)
    await inbox.flush()
    clock.advance(days=3)
    inbox.finished(2)
    await inbox.flush()
    assert await inbox.prune(clock.now() - timedelta(days=2)) == 1
    assert await rows(db) == [(2, 0, 1), (3, 1, 0)]  # 3 was never handled: kept whatever its age
    assert await inbox.counts() == (1, 1)
