"""The outbox on the real Application: caps per local day and week, quiet hours (held to their end or dropped, by
kind), mention opt-outs, and a log of each outcome."""
from datetime import datetime, timezone

import pytest

from handlers.points import announce
from bot.context import BotContext
from tests.helpers import say

UTC = timezone.utc


async def tick(pg):
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    await job.run(pg.app)
    await pg.settle()


def texts(pg, chat):
    return [m.get("text") for m in pg.sim.replies(chat)]


async def outcomes(pg, chat):
    return [e.outcome for e in reversed(await pg.services.outbox.recent(chat.id))]


async def test_caps_per_local_day_and_week_log_what_was_held_back(pg, group):
    await say(pg, group.owner, "/set push_daily_cap 2", group.chat)
    await say(pg, group.owner, "/set push_weekly_cap 3", group.chat)
    await say(pg, group.owner, "/set timezone Asia/Shanghai", group.chat)
    pg.clock.set(datetime(2026, 11, 30, 15, 30, tzinfo=UTC))  # Mon 23:30 in Shanghai
    out = pg.services.outbox
    for n in range(3):
        await out.post(group.chat.id, "schedule", f"post {n}")
    assert await outcomes(pg, group.chat) == ["sent", "sent", "capped"]
    pg.clock.set(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))  # Tue 00:30 there: a new day, the same week
    await out.post(group.chat.id, "schedule", "post 3")
    await out.post(group.chat.id, "schedule", "post 4")  # the week's third is out: weekly cap
    assert await outcomes(pg, group.chat) == ["sent", "sent", "capped", "sent", "capped"]
    assert [t for t in texts(pg, group.chat) if t and t.startswith("post ")] == ["post 0", "post 1", "post 3"]
    [last] = await out.recent(group.chat.id, 1)
    assert last.detail == "weekly cap 3"


async def test_quiet_hours_hold_a_post_to_their_end_and_drop_a_tier_up(pg, group):
    await say(pg, group.owner, "/set quiet_hours 22:00-08:00", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))
    out = pg.services.outbox
    assert (await out.post(group.chat.id, "schedule", "held post")).outcome == "deferred"
    assert (await out.post(group.chat.id, "tier_up", "Alice reached silver")).outcome == "dropped"
    await tick(pg)
    assert "held post" not in texts(pg, group.chat)
    pg.clock.set(datetime(2026, 12, 2, 8, 0, 5, tzinfo=UTC))
    await tick(pg)
    await tick(pg)
    assert texts(pg, group.chat).count("held post") == 1
    assert "Alice reached silver" not in texts(pg, group.chat)
    assert await outcomes(pg, group.chat) == ["deferred", "dropped", "sent"]


async def test_an_announcement_never_names_a_member_who_opted_out_of_mentions(pg, group):
    await say(pg, group.alice, "/optout mentions", group.chat)
    ctx = BotContext(pg.app)
    await announce(ctx, group.chat.id, group.alice.id, lambda _, who: f"{who} reached silver")
    await announce(ctx, group.chat.id, group.bob.id, lambda _, who: f"{who} reached silver")
    said = texts(pg, group.chat)
    assert "Bob reached silver" in said and not any("Alice" in (t or "") for t in said if "silver" in (t or ""))
    assert await outcomes(pg, group.chat) == ["suppressed", "sent"]


async def test_bad_quiet_hours_get_one_line(pg, group):
    assert await say(pg, group.owner, "/set quiet_hours 22:00", group.chat) == (
        "quiet_hours must be a span of local time such as 22:00-08:00, or off.")
    assert await say(pg, group.owner, "/set quiet_hours 25:00-08:00", group.chat) == (
        "quiet_hours must be a span of local time such as 22:00-08:00, or off.")


async def test_a_post_naming_an_after_sent_hook_nobody_registered_is_refused_before_anything_is_sent(pg, group):
    """The after-sent hooks are the ones bot/app.py registers (a schedule's copy, a campaign start's end): a post
    naming another would be sent with nothing recorded for it, so it is a programming error, raised at once."""
    assert sorted(pg.services.outbox.after_sent) == ["announces", "schedule"]
    with pytest.raises(ValueError):
        await pg.services.outbox.post(group.chat.id, "schedule", "unhooked", after={"scheduel": 1})
    assert "unhooked" not in texts(pg, group.chat) and await outcomes(pg, group.chat) == []
