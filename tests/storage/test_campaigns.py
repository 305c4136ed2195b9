"""Campaign windows as the chat path reads them: from memory, judged against each message's own time, and read
again after any change — a read that a change overtook is never kept."""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

from storage.schedules import CampaignRepo

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


async def test_windows_open_and_close_on_the_messages_own_time_and_an_old_message_is_judged_too(db, chat):
    repo = CampaignRepo(db)
    await repo.add(chat, None, "2", NINE, NINE + timedelta(hours=1), "Double hour")
    assert await repo.multipliers(chat, NINE + timedelta(minutes=30)) == ["2"]
    assert await repo.multipliers(chat, NINE + timedelta(hours=1)) == []  # closed at ten, without any change
    assert await repo.multipliers(chat, NINE - timedelta(seconds=1)) == []
    assert await repo.multipliers(chat, NINE + timedelta(days=3)) == []
    # A backlog message older than what the memory keeps (loaded three days on) is still judged right.
    repo.forget(chat)
    assert await repo.multipliers(chat, NINE + timedelta(days=3)) == []
    assert await repo.multipliers(chat, NINE + timedelta(minutes=5)) == ["2"]


async def test_a_read_overtaken_by_a_new_window_is_not_kept(db, chat, monkeypatch):
    import storage.schedules as schedules

    repo = CampaignRepo(db)
    gate, read = threading.Event(), schedules._windows_in

    def slow_read(conn, chat_id, since):  # reads the windows, then is slow to hand them back
        windows = read(conn, chat_id, since)
        gate.wait(5)
        return windows

    monkeypatch.setattr(schedules, "_windows_in", slow_read)
    reading = asyncio.ensure_future(repo.multipliers(chat, NINE + timedelta(minutes=1)))
    await asyncio.sleep(0.01)
    await repo.add(chat, None, "3", NINE, NINE + timedelta(hours=1), "Triple hour")  # commits after that read
    gate.set()
    assert await reading == []  # what the database held when it was asked
    assert await repo.multipliers(chat, NINE + timedelta(minutes=2)) == ["3"]  # not from that read
