"""ScheduleRepo's recovery read: claimed runs a crash cut off, one writer hop."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from storage.db import iso
from storage.schedules import ScheduleRepo

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


async def _claimed(db, repo: ScheduleRepo, chat: int, text: str):
    s = await repo.add(chat, "daily", "09:00", "UTC", NINE, NINE, "post", {"text": text}, {}, None, NINE)
    async with db.transaction() as tx:
        await tx.execute("UPDATE schedules SET pending = ? WHERE id = ?", (iso(NINE), s.id))
    return s


async def test_pending_runs_gives_live_claims_and_clears_those_of_removed_schedules(db, chat):
    repo = ScheduleRepo(db)
    live = await _claimed(db, repo, chat, "live")
    gone = await _claimed(db, repo, chat, "gone")
    assert await repo.delete(chat, gone.id, NINE + timedelta(minutes=1))
    db.holds.reset()
    runs = await repo.pending_runs()
    assert [(r.id, r.pending) for r in runs] == [(live.id, NINE)]
    assert db.holds.count == 1  # the clearing is one transaction (the read is inside it now)
    row = await db.fetchone("SELECT pending FROM schedules WHERE id = ?", (gone.id,))
    assert row["pending"] is None  # nothing left to run for a removed schedule: its mark is gone for good
    assert [r.id for r in await repo.pending_runs()] == [live.id]
