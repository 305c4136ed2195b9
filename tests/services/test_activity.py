"""The activity buffer's message totals (the rules' `messages < N`): started from one read of the database, then
kept in step with every message counted — and never started from a read that a commit of the member's counts
overlapped, when the database may or may not have had them."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.services.activity import ActivityBuffer
from storage.activity import ActivityRepo
from storage.inbox import InboxRepo

CHAT = -100
AT = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
async def buffer(db):
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (?, 'Tea', 'supergroup', '')", (CHAT,))
        for uid in (1, 2):
            await tx.execute("INSERT INTO users(user_id, first_name, updated_at) VALUES (?, 'U', '')", (uid,))
            await tx.execute("INSERT INTO members(chat_id, user_id, status, first_seen_at) VALUES (?, ?, 'member', '')", (CHAT, uid))
    return ActivityBuffer(ActivityRepo(db))


async def written(db, user_id: int) -> int:
    return await db.fetchval("SELECT COALESCE(SUM(messages), 0) FROM activity_daily WHERE chat_id = ? AND user_id = ?",
                             (CHAT, user_id))


async def test_a_total_starts_from_the_database_and_follows_every_message_through_flushes(db, buffer):
    for _ in range(3):
        buffer.count(CHAT, 1, AT, "UTC")
    await buffer.flush()
    buffer.count(CHAT, 1, AT, "UTC")  # in memory only
    assert buffer.total(CHAT, 1) is None  # not read yet
    watch = buffer.watch(CHAT, 1)
    assert buffer.kept(watch, await written(db, 1)) == 4
    assert buffer.total(CHAT, 1) == 4
    buffer.count(CHAT, 1, AT, "UTC")
    await buffer.flush()
    buffer.count(CHAT, 1, AT, "UTC")
    assert buffer.total(CHAT, 1) == 6 == await written(db, 1) + buffer.unwritten(CHAT, 1)
    assert buffer.total(CHAT, 2) is None  # someone else's is not made up


async def test_a_read_that_a_commit_of_the_members_counts_overlapped_is_not_kept(db, buffer, clock):
    inbox = InboxRepo(db, clock.now)
    inbox.add_rider(buffer)
    await inbox.record([(1, "{}"), (2, "{}")])
    buffer.count(CHAT, 1, AT, "UTC", update_id=1)
    inbox.finished(1)
    # A read begins; before it is done, the commit carrying update 1's count is made and heard of.
    watch = buffer.watch(CHAT, 1)
    before = await written(db, 1)
    await inbox.flush()
    assert before == 0 and await written(db, 1) == 1
    assert buffer.kept(watch, before) == 0  # what that read can say (the message is written and no longer in memory)
    assert buffer.total(CHAT, 1) is None  # …but it is not kept: the next asks the database again
    watch = buffer.watch(CHAT, 1)
    assert buffer.kept(watch, await written(db, 1)) == 1 and buffer.total(CHAT, 1) == 1
    # A read that begins while a commit of the member's counts is underway is not kept either: if that commit
    # is made but not yet heard of, the database has the count and memory still has it too.
    buffer.count(CHAT, 2, AT, "UTC", update_id=2)
    inbox.finished(2)
    marks = inbox.before_commit()  # update 2's count handed to a commit, its outcome not heard yet
    watch = buffer.watch(CHAT, 2)
    inbox.after_commit(marks, False)  # that one failed: the count is back in memory, for the next commit
    assert buffer.kept(watch, await written(db, 2)) == 1
    assert buffer.total(CHAT, 2) is None
    watch = buffer.watch(CHAT, 2)
    assert buffer.kept(watch, await written(db, 2)) == 1 and buffer.total(CHAT, 2) == 1
    await inbox.flush()
    assert buffer.total(CHAT, 2) == 1 == await written(db, 2)


async def test_a_failed_flush_keeps_every_message_in_the_total(db, buffer, monkeypatch):
    watch = buffer.watch(CHAT, 2)
    assert buffer.kept(watch, 0) == 0
    for _ in range(2):
        buffer.count(CHAT, 2, AT, "UTC")

    async def disk_full(*args, **kwargs):
        raise RuntimeError("disk full")

    real = buffer.repo.add_counts
    monkeypatch.setattr(buffer.repo, "add_counts", disk_full)
    with pytest.raises(RuntimeError):
        await buffer.flush()
    assert buffer.total(CHAT, 2) == 2 and buffer.unwritten(CHAT, 2) == 2
    monkeypatch.setattr(buffer.repo, "add_counts", real)
    await buffer.flush()
    assert buffer.total(CHAT, 2) == 2 == await written(db, 2) and buffer.unwritten(CHAT, 2) == 0
    watch = buffer.watch(CHAT, 2)  # read again (say, after the oldest were let go): the same
    assert buffer.kept(watch, await written(db, 2)) == 2
