"""Schedules and deferred work on the real Application: durable delete-later across a restart, one post per slot
even with ticks racing, and missed runs across a simulated downtime following their policy."""
import asyncio
from datetime import datetime, timedelta, timezone

from bot.services.schedules import Content
from tests.helpers import say

UTC = timezone.utc


async def tick(pg):
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    await job.run(pg.app)
    await pg.settle()


def posts(pg, chat, text):
    return [m for m in pg.sim.replies(chat) if m.get("text") == text]


async def test_a_pending_delete_later_still_happens_once_after_a_restart(pg, group):
    await say(pg, group.alice, "/setrole @bob spreader", group.chat)  # a refusal: deleted after 60 s
    refusal = pg.sim.replies(group.chat)[-1]
    await pg.restart()  # the in-memory timer is gone; the row is not
    assert not pg.app.job_queue.get_jobs_by_name(f"delete:{group.chat.id}:{refusal['message_id']}")
    await tick(pg)
    assert refusal["message_id"] not in [m["message_id"] for m in pg.sim.deleted(group.chat)]  # not due yet
    pg.clock.advance(seconds=61)
    await tick(pg)
    await tick(pg)
    deletes = [c for c in pg.sim.calls("deleteMessage") if c.params["message_id"] == refusal["message_id"]]
    assert len(deletes) == 1 and deletes[0].ok


async def schedule(pg, chat, words, text="Weekly topic: tea"):
    return await pg.services.schedules.create(chat.id, None, words.split(), Content((text,)))


async def test_a_daily_post_goes_out_once_per_slot_even_when_ticks_race(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 59, tzinfo=UTC))
    s = await schedule(pg, group.chat, "daily 09:00 post")
    assert s.next_run == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the group's timezone is UTC by default
    await tick(pg)
    assert posts(pg, group.chat, "Weekly topic: tea") == []
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC))
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    await asyncio.gather(job.run(pg.app), job.run(pg.app), job.run(pg.app))
    await pg.settle()
    assert len(posts(pg, group.chat, "Weekly topic: tea")) == 1
    [row] = await pg.services.schedules.list(group.chat.id)
    assert row.next_run == datetime(2026, 12, 2, 9, 0, tzinfo=UTC) and row.runs == 1


async def test_downtime_a_recent_miss_runs_once_late_an_old_one_is_skipped_and_logged(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await schedule(pg, group.chat, "every 2h post", "hourly news")
    await schedule(pg, group.chat, "daily 09:00 post", "daily news")
    await pg.stop()
    pg.clock.set(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))  # down 1.5 h: daily 09:00 missed by 30 min
    await pg.start()
    await tick(pg)
    assert len(posts(pg, group.chat, "daily news")) == 1
    assert posts(pg, group.chat, "hourly news") == []  # first run 10:00
    await pg.stop()
    pg.clock.set(datetime(2026, 12, 3, 9, 30, tzinfo=UTC))  # down two days: slots missed by hours are skipped
    await pg.start()
    await tick(pg)
    await tick(pg)
    # today's 09:00 is 30 min late (within the hour of grace): it runs once; yesterday's is skipped, no burst
    assert len(posts(pg, group.chat, "daily news")) == 2
    assert posts(pg, group.chat, "hourly news") == []  # 08:00 today missed by 1.5 h (> 1 h grace): skipped, no burst
    rows = {r.content["texts"][0]: r for r in await pg.services.schedules.list(group.chat.id)}
    assert rows["daily news"].next_run == datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    assert rows["hourly news"].next_run == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    log = await pg.services.outbox.recent(group.chat.id)
    assert sorted(e.outcome for e in log) == ["missed", "missed", "sent", "sent"]  # one 'missed' per schedule
    assert sorted(e.detail for e in log if e.outcome == "missed") == [f"#{rows['hourly news'].id} 2026-12-01 10:00",
                                                                       f"#{rows['daily news'].id} 2026-12-02 09:00"]
