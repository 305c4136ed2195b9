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
            return CommitRows("INSERT INTO no_such_table", "(?)", [(1,)])

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


async def test_message_counts_ride_with_their_marks_summed_per_member_day_and_hour(inbox, db, clock):
    """The activity buffer's rows go with the marks of their updates, each table one multi-row statement: a
    member's messages of one day add up across commits (with what a flush wrote), the group's hours too, and an
    older message handled after a newer one never moves the member's last message back."""
    from datetime import datetime, timezone

    from bot.services.activity import ActivityBuffer
    from storage.activity import ActivityRepo

    buffer = ActivityBuffer(ActivityRepo(db))
    inbox.add_rider(buffer)
    await db.write(lambda conn: conn.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (-5, 'T', 'supergroup', '')"))
    for uid in (1, 2, 3):
        await db.write(lambda conn, uid=uid: (
            conn.execute("INSERT INTO users(user_id, first_name, updated_at) VALUES (?, 'U', '')", (uid,)),
            conn.execute("INSERT INTO members(chat_id, user_id, status, first_seen_at) VALUES (-5, ?, 'member', '')", (uid,))))
    nine, ten = datetime(2026, 3, 2, 9, 5, tzinfo=timezone.utc), datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc)
    buffer.count(-5, 1, nine, "UTC")  # not tied to an update: the flush writes it
    await buffer.flush()
    update = 100
    for uid, at, replied in ((1, ten, False), (1, nine, True), (3, ten, False), (2, nine, False), (3, nine, False), (1, ten, False)):
        update += 1
        await inbox.record([(update, "{}")])
        buffer.count(-5, uid, at, "UTC", replied=replied, update_id=update)
        inbox.finished(update)
        if update == 103:
            await inbox.flush()  # a commit in the middle: the first three ride with it, the rest with the next
            # (member 3's 09:05 message, handled after their 10:05 one, comes in the next)
    await inbox.flush()
    days = {r[0]: (r[1], r[2]) for r in await db.fetchall("SELECT user_id, messages, replies FROM activity_daily WHERE chat_id = -5")}
    assert days == {1: (4, 1), 2: (1, 0), 3: (2, 0)}
    hours = {r[0]: r[1] for r in await db.fetchall("SELECT hour, n FROM stats_hourly WHERE chat_id = -5 AND metric = 'messages'")}
    assert hours == {9: 4, 10: 3}
    seen = {r[0]: r[1] for r in await db.fetchall("SELECT user_id, last_seen_at FROM members WHERE chat_id = -5")}
    assert seen == {1: ten.isoformat(), 2: nine.isoformat(), 3: ten.isoformat()}
    assert await db.fetchval("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL") == 0
    assert buffer.pending == 0 and buffer.unwritten(-5, 1) == 0


def test_recent_ids_remember_a_window_behind_the_newest_and_stray_ones_below_it():
    from storage.inbox import RecentIds

    ids = RecentIds(64)
    for i in range(1000, 1100, 2):  # every other id
        ids.add(i)
    assert 1098 in ids and 1096 in ids and 1097 not in ids and 1099 not in ids and 1100 not in ids
    assert 1040 in ids and 1034 not in ids  # 1034 is more than 64 behind the newest: forgotten (the database says)
    ids.add(1101)
    assert 1101 in ids and 1098 in ids and 1100 not in ids
    ids.add(5)  # far below (a fresh start of Telegram's ids, or one handed in out of order): kept apart
    assert 5 in ids and 4 not in ids and 1101 in ids
    ids.add(10**9)  # a jump past the whole window: what was in it is forgotten, nothing is invented
    assert 10**9 in ids and 1101 not in ids and 10**9 - 1 not in ids and 10**9 - 64 not in ids and 5 in ids
    for i in range(10**9 + 1, 10**9 + 200):
        ids.add(i)
    assert all(i in ids for i in range(10**9 + 136, 10**9 + 200)) and 10**9 + 135 not in ids


async def test_an_update_still_being_handled_stays_claimed_however_many_ids_came_since(db, clock):
    from bot.services.inbox import InboxService

    service = InboxService(InboxRepo(db, clock.now), clock, remember=64)
    assert await service.receive([{"update_id": 1}]) == [{"update_id": 1}]
    assert await service.claim(1)
    for i in range(2, 300):  # many more, each handled and finished
        await service.receive([{"update_id": i}])
        assert await service.claim(i)
        service.finished(i)
    assert service.holds(1)  # its counts still ride with its mark
    assert await service.receive([{"update_id": 1}]) == []  # delivered again: a repeat
    assert not await service.claim(1)
    service.finished(1)
    await service.flush()
    assert (await service.repo.counts()) == (0, 299)  # every one marked handled, the long one too
    assert not await service.claim(5)  # long forgotten in memory: the database says it was handled


async def test_a_write_held_for_an_update_is_written_once_with_its_mark_and_again_after_its_commit_fails(inbox, db):
    """storage.inbox.Along: a write an update's handling decided rides with the commit that marks the update — the
    first of its handling. A commit that rolls back takes it back, the next writes it, and only once."""
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE counts (n INTEGER)")
        await tx.execute("INSERT INTO counts VALUES (0)")
    inbox.along.kind("count", lambda conn, update_id, data: conn.execute("UPDATE counts SET n = n + ?", (data["by"],)).rowcount)
    await inbox.record([(9, "{}")])
    token = HANDLING.set(9)
    try:
        assert await inbox.along.hold(9, "count", {"by": 2})
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("CREATE TABLE effects (x INTEGER)")
                raise RuntimeError("the handler failed half-way")
        assert await db.fetchval("SELECT n FROM counts") == 0 and await rows(db) == [(9, 1, 0)]
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE effects (x INTEGER)")
        assert await db.fetchval("SELECT n FROM counts") == 2 and await rows(db) == [(9, 0, 1)]
        assert inbox.along.result(9, "count") == 1
        async with db.transaction() as tx:  # marked: nothing rides again
            await tx.execute("INSERT INTO effects VALUES (1)")
        assert not await inbox.along.hold(9, "count", {"by": 5})  # decided after the mark: written at once, on its own
    finally:
        HANDLING.reset(token)
    assert await db.fetchval("SELECT n FROM counts") == 7
