"""The outbox's push limits under a flood of scheduled posts: never more than the caps in the group, what was held
back shown in /pushlog, every slot accounted for (nothing lost) — with quiet hours holding the flood to their end,
a crash in the middle of it, and members who opted out of mentions never named."""
from datetime import datetime, timedelta, timezone

import pytest

from tests.handlers.test_inbox import crash
from tests.helpers import say

UTC = timezone.utc
FLOOD = 8


class Killed(BaseException):
    pass


async def tick(pg):
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    await job.run(pg.app)
    await pg.settle()


def posted(pg, chat) -> list[str]:
    return [m["text"] for m in pg.sim.replies(chat) if m.get("text", "").startswith("Flood ") and "reply_to_message" not in m]


async def outcomes(pg, chat) -> list[str]:
    return [e.outcome for e in reversed(await pg.services.outbox.recent(chat.id, 100)) if e.kind == "schedule"]


async def flood(pg, group, cap: int = 3) -> None:
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, f"/set push_daily_cap {cap}", group.chat)
    for n in range(FLOOD):
        await say(pg, group.owner, f"/schedule daily 09:00 post Flood {n}", group.chat)


async def test_a_flood_of_scheduled_posts_stops_at_the_daily_cap_and_logs_the_rest(pg, group):
    await flood(pg, group)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    await tick(pg)
    assert len(posted(pg, group.chat)) == 3
    assert sorted(await outcomes(pg, group.chat)) == ["capped"] * 5 + ["sent"] * 3  # one line per slot
    listing = await say(pg, group.owner, "/pushlog", group.chat)
    assert listing.count("schedule: capped — daily cap 3") == 5
    rows = await pg.services.db.fetchall("SELECT runs, pending FROM schedules")
    assert [tuple(r) for r in rows] == [(1, None)] * FLOOD  # every slot ran once, none left over
    pg.clock.set(datetime(2026, 12, 2, 9, 0, 1, tzinfo=UTC))  # a new local day: the cap counts again
    await tick(pg)
    assert len(posted(pg, group.chat)) == 6


async def test_quiet_hours_hold_the_flood_and_the_caps_still_apply_when_it_is_released(pg, group):
    await flood(pg, group)
    await say(pg, group.owner, "/set quiet_hours 22:00-09:30", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert posted(pg, group.chat) == []
    assert await outcomes(pg, group.chat) == ["deferred"] * FLOOD
    pg.clock.set(datetime(2026, 12, 1, 9, 30, 5, tzinfo=UTC))
    await tick(pg)
    await tick(pg)
    assert len(posted(pg, group.chat)) == 3
    assert sorted((await outcomes(pg, group.chat))[FLOOD:]) == ["capped"] * 5 + ["sent"] * 3
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM deferred WHERE done_at IS NULL") == 0


async def test_a_crash_in_the_middle_of_a_flood_neither_passes_the_cap_nor_loses_a_slot(pg, group, monkeypatch):
    await flood(pg, group)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    send, count = pg.services.outbox.port.send, []

    async def second_send_dies(chat_id, text, **kw):
        got = await send(chat_id, text, **kw)
        count.append(got)
        if len(count) == 2:  # Telegram has it; the process dies before it hears so
            raise Killed()
        return got

    monkeypatch.setattr(pg.services.outbox.port, "send", second_send_dies)
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    with pytest.raises(Killed):
        await job.run(pg.app)
    await crash(pg)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC))
    await tick(pg)
    await tick(pg)
    assert len(posted(pg, group.chat)) == 3  # the lost one may be in the group: it counts toward the cap
    assert sorted(await outcomes(pg, group.chat)) == ["capped"] * 5 + ["lost"] + ["sent"] * 2
    assert len(set(posted(pg, group.chat))) == 3  # and nothing twice


async def test_a_flood_of_reminders_never_names_a_member_who_opted_out(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.alice, "/optout mentions", group.chat)
    await say(pg, group.owner, "/set push_daily_cap 2", group.chat)
    for _ in range(4):
        await say(pg, group.owner, "/schedule daily 09:00 reminder", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    reminders = [m["text"] for m in pg.sim.replies(group.chat) if m.get("text", "").startswith("Not checked in today yet")]
    assert len(reminders) == 2  # the cap
    assert all("@bob" in t for t in reminders)
    assert not any("Alice" in t or "@alice" in t for t in reminders)
    log = [(e.kind, e.outcome) for e in reversed(await pg.services.outbox.recent(group.chat.id))]
    assert sorted(log) == [("reminder", "capped")] * 2 + [("reminder", "sent")] * 2
