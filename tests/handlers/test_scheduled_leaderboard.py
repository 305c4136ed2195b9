"""The weekly leaderboard as a scheduled action: posted once per slot (however often the tick runs, across a
restart and a crash), with what /top points week says at that moment — this week's earnings only."""
from datetime import datetime, timezone

from tests.handlers.test_inbox import crash
from tests.helpers import say

UTC = timezone.utc


async def tick(pg):
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    await job.run(pg.app)
    await pg.settle()


def boards(pg, chat) -> list[str]:
    return [m["text"] for m in pg.sim.replies(chat) if m.get("text", "").startswith("Top — points earned")
            and "reply_to_message" not in m]


async def test_the_weekly_leaderboard_is_posted_once_per_slot_with_the_weeks_points_across_restarts(pg, group):
    pg.clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # Wednesday; the week began Monday 30 November
    assert await say(pg, group.owner, "/schedule weekly sun 20:00 leaderboard", group.chat) == (
        "Schedule #1 saved: weekly sun 20:00 · weekly leaderboard. Next run: 2026-12-06 20:00 (UTC).")
    await say(pg, group.alice, "/checkin", group.chat)
    await say(pg, group.admin, "/give @bob 50 help", group.chat)
    pg.clock.set(datetime(2026, 12, 6, 19, 59, tzinfo=UTC))
    await tick(pg)
    assert boards(pg, group.chat) == []  # not before its time

    pg.clock.set(datetime(2026, 12, 6, 20, 0, 1, tzinfo=UTC))
    await tick(pg)
    await tick(pg)
    expected = await say(pg, group.carol, "/top points week", group.chat)
    assert expected.splitlines()[1:] == ["🥇 Bob — 50", "🥈 Alice — 15"]
    assert boards(pg, group.chat) == [expected]
    await pg.restart()
    await tick(pg)
    await crash(pg)
    await tick(pg)
    assert boards(pg, group.chat) == [expected]  # once for the slot, whatever restarts

    pg.clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))  # a new week: only what is earned in it counts
    await say(pg, group.carol, "/checkin", group.chat)
    pg.clock.set(datetime(2026, 12, 13, 20, 0, 2, tzinfo=UTC))
    await tick(pg)
    [_, second] = boards(pg, group.chat)
    assert second.splitlines() == ["Top — points earned, this week", "🥇 Carol — 15"]
    log = [(e.kind, e.outcome) for e in reversed(await pg.services.outbox.recent(group.chat.id))]
    assert log == [("leaderboard", "sent"), ("leaderboard", "sent")]



async def test_replace_deletes_the_previous_leaderboard_when_the_new_one_is_out_also_after_quiet_hours(pg, group):
    """A daily look at the week's board, `replace`: one copy in the group at a time (Telegram lets a bot delete its
    messages for 48 hours, so replace is for schedules that run at least that often)."""
    pg.clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 20:00 leaderboard replace", group.chat)
    await say(pg, group.alice, "/checkin", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 20, 0, 1, tzinfo=UTC))
    await tick(pg)
    [first] = boards(pg, group.chat)
    await say(pg, group.owner, "/set quiet_hours 19:00-21:00", group.chat)
    pg.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    await say(pg, group.bob, "/checkin", group.chat)
    pg.clock.set(datetime(2026, 12, 2, 20, 0, 1, tzinfo=UTC))
    await tick(pg)  # held to 21:00
    assert boards(pg, group.chat) == [first]
    pg.clock.set(datetime(2026, 12, 2, 21, 0, 5, tzinfo=UTC))
    await tick(pg)
    [second] = boards(pg, group.chat)  # yesterday's is gone, today's is the only one
    assert second.splitlines()[1:] == ["🥇 Alice — 15", "🥈 Bob — 15"]
    assert [m["text"] for m in pg.sim.deleted(group.chat) if m.get("text", "").startswith("Top —")] == [first]
    pg.clock.set(datetime(2026, 12, 3, 20, 0, 1, tzinfo=UTC))  # quiet hours are 19-21: held again, then replaces
    await tick(pg)
    pg.clock.set(datetime(2026, 12, 3, 21, 0, 5, tzinfo=UTC))
    await tick(pg)
    assert len(boards(pg, group.chat)) == 1
    assert [m["text"] for m in pg.sim.deleted(group.chat) if m.get("text", "").startswith("Top —")] == [first, second]
