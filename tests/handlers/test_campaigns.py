"""A campaign window multiplies the chat XP of the group it runs in, as the README says: each message that earns XP
pays the group's own `chat_xp` × the campaign's multiplier — the cooldown unchanged, another group untouched, and a
group with chat XP off still earns none."""
from datetime import datetime, timezone

from bot.context import BotContext
from handlers import points as hp
from tests.handlers.test_schedule_commands import tick
from tests.helpers import make_group, say

UTC = timezone.utc


async def chat_xp(pg, chat, user) -> list[int]:
    rows = await pg.services.db.fetchall(
        "SELECT amount FROM ledger WHERE chat_id = ? AND user_id = ? AND currency = 'xp' AND reason = 'chat' ORDER BY id",
        (chat.id, user.id))
    return [r["amount"] for r in rows]


async def test_campaign_multiplies_the_groups_own_chat_xp_only_there_and_only_while_it_runs(pg, group):
    g, ctx = group, BotContext(pg.app)
    other = await make_group(pg, "Coffee Club")
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await hp.job_flush(ctx)  # what the greetings earned
    await say(pg, g.owner, "/set chat_xp 3", g.chat)
    await say(pg, other.owner, "/set chat_xp 5", other.chat)
    await say(pg, g.owner, "/schedule once 2026-12-01 09:00 campaign 3x 2h Triple XP morning", g.chat)
    before_here, before_there = await chat_xp(pg, g.chat, g.alice), await chat_xp(pg, other.chat, other.alice)

    pg.clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))  # before the window: the plain rate
    await say(pg, g.alice, "good morning all", g.chat)
    await hp.job_flush(ctx)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    pg.clock.set(datetime(2026, 12, 1, 9, 10, tzinfo=UTC))
    await say(pg, g.alice, "triple time!", g.chat)
    await say(pg, g.alice, "and once more", g.chat)  # inside the cooldown: earns nothing, multiplied or not
    await say(pg, other.alice, "hello coffee people", other.chat)  # the other group has no campaign
    await hp.job_flush(ctx)
    pg.clock.set(datetime(2026, 12, 1, 11, 5, tzinfo=UTC))  # the window closed at 11:00
    await say(pg, g.alice, "back to normal", g.chat)
    await hp.job_flush(ctx)
    assert (await chat_xp(pg, g.chat, g.alice))[len(before_here):] == [3, 9, 3]
    assert (await chat_xp(pg, other.chat, other.alice))[len(before_there):] == [5]


async def test_a_campaign_does_not_turn_on_chat_xp_a_group_switched_off(pg, group):
    g, ctx = group, BotContext(pg.app)
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await hp.job_flush(ctx)
    await say(pg, g.owner, "/set chat_xp 0", g.chat)
    await say(pg, g.owner, "/schedule once 2026-12-01 09:00 campaign 2x 2h Double points", g.chat)
    before = await chat_xp(pg, g.chat, g.alice)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    pg.clock.set(datetime(2026, 12, 1, 9, 10, tzinfo=UTC))
    await say(pg, g.alice, "is anyone earning?", g.chat)
    await hp.job_flush(ctx)
    assert await chat_xp(pg, g.chat, g.alice) == before


async def test_a_campaign_run_by_command_pays_from_the_next_message_and_stops_when_its_window_closes(pg, group):
    """/runnow opens the window at once: the very next message that earns XP pays the multiplier, though the
    group's windows were read (and kept) for the message before it; and the first message after the window
    closes pays the plain rate again, with nothing else happening in between."""
    g, ctx = group, BotContext(pg.app)
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await hp.job_flush(ctx)
    await say(pg, g.owner, "/set chat_xp 4", g.chat)
    await say(pg, g.owner, "/schedule once 2026-12-25 09:00 campaign 2x 30m Double XP half hour", g.chat)
    before = await chat_xp(pg, g.chat, g.alice)
    pg.clock.set(datetime(2026, 12, 1, 8, 10, tzinfo=UTC))
    await say(pg, g.alice, "no campaign yet", g.chat)  # reads the group's windows: none open
    await hp.job_flush(ctx)
    pg.clock.set(datetime(2026, 12, 1, 8, 20, tzinfo=UTC))
    assert (await say(pg, g.owner, "/runnow 1", g.chat)).startswith("Schedule #1 ran now")
    pg.clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    await say(pg, g.alice, "double now", g.chat)
    await hp.job_flush(ctx)
    pg.clock.set(datetime(2026, 12, 1, 8, 50, 1, tzinfo=UTC))  # the window closed at 08:50
    await say(pg, g.alice, "plain again", g.chat)
    await hp.job_flush(ctx)
    assert (await chat_xp(pg, g.chat, g.alice))[len(before):] == [4, 8, 4]


def announcements(pg, chat) -> list[str]:
    return [m["text"].split("\n")[0] for m in pg.sim.replies(chat)
            if "reply_to_message" not in m and ("Double day" in m.get("text", ""))]


async def test_a_campaign_whose_start_the_cap_held_back_has_its_end_unannounced_too(pg, group):
    """The cap lets the window open unannounced; its end is then not announced either (nobody is told a member day
    is over that they never heard of) — /pushlog says both. A start that quiet hours held and sent at their end has
    its end announced as usual."""
    g = group
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, g.owner, "/set push_daily_cap 1", g.chat)
    await say(pg, g.owner, "/schedule once 2026-12-01 21:00 post Evening tea", g.chat)
    await say(pg, g.owner, "/schedule once 2026-12-01 22:00 campaign 2x 3h Double day", g.chat)
    for at in ((1, 21), (1, 22), (2, 1)):  # the end falls on the next day, under a fresh cap
        pg.clock.set(datetime(2026, 12, *at, 0, 1, tzinfo=UTC))
        await tick(pg)
    assert announcements(pg, g.chat) == []
    log = [(e.kind, e.outcome, e.detail) for e in reversed(await pg.services.outbox.recent(g.chat.id, 20))]
    assert [entry for entry in log if entry[0] == "campaign"] == [
        ("campaign", "capped", "daily cap 1"), ("campaign", "suppressed", "its start was not announced")]
    assert "campaign: not sent — its start was not announced" in await say(pg, g.owner, "/pushlog", g.chat)

    await say(pg, g.owner, "/set push_daily_cap 0", g.chat)
    await say(pg, g.owner, "/set quiet_hours 22:00-09:30", g.chat)
    await say(pg, g.owner, "/schedule once 2026-12-03 09:00 campaign 2x 2h Double day", g.chat)
    for at in ((3, 9, 0), (3, 9, 30), (3, 11, 0)):
        pg.clock.set(datetime(2026, 12, *at, 1, tzinfo=UTC))
        await tick(pg)
    assert announcements(pg, g.chat) == ["Double day", "The campaign is over: Double day. Thanks for taking part!"]


async def test_a_campaign_start_held_by_quiet_hours_is_never_posted_after_its_window(pg, group):
    """Issue 11: a campaign whose whole window falls in quiet hours had its start posted at their end, after the
    window was over. Quiet hours that outlast the window drop the start (and so its end); a start held for a
    shorter night whose moment passes meanwhile (the bot was down) is dropped at the late run, not posted late."""
    g = group
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, g.owner, "/set quiet_hours 22:00-08:00", g.chat)
    await say(pg, g.owner, "/schedule once 2026-12-01 23:00 campaign 2x 2h Double day night", g.chat)
    for at in ((1, 23, 0), (2, 1, 1), (2, 8, 0), (2, 9, 0)):
        pg.clock.set(datetime(2026, 12, *at, 1, tzinfo=UTC))
        await tick(pg)
    assert announcements(pg, g.chat) == []
    log = [(e.kind, e.outcome, e.detail) for e in reversed(await pg.services.outbox.recent(g.chat.id, 20))]
    assert [entry for entry in log if entry[0] == "campaign"] == [
        ("campaign", "dropped", "quiet hours outlast it"), ("campaign", "suppressed", "its start was not announced")]
    assert "quiet hours outlast it (its window ends first)" in await say(pg, g.owner, "/pushlog", g.chat)

    # Held to 08:00 for a window to 10:00, but the bot is down from 07:00 to 10:30: the late run drops it.
    await say(pg, g.owner, "/schedule once 2026-12-03 07:00 campaign 2x 3h Double day breakfast", g.chat)
    pg.clock.set(datetime(2026, 12, 3, 7, 0, 1, tzinfo=UTC))
    await tick(pg)
    pg.clock.set(datetime(2026, 12, 3, 10, 30, tzinfo=UTC))
    await tick(pg)
    await tick(pg)
    assert announcements(pg, g.chat) == []
    log = [(e.kind, e.outcome, e.detail) for e in reversed(await pg.services.outbox.recent(g.chat.id, 20))]
    assert [entry for entry in log if entry[0] == "campaign"][-3:] == [
        ("campaign", "deferred", "quiet hours, until 2026-12-03T08:00:00+00:00"),
        ("campaign", "dropped", "its moment passed"), ("campaign", "suppressed", "its start was not announced")]


async def test_a_campaign_run_late_after_a_downtime_keeps_its_slots_window(pg, group):
    """Issue 11 (review): a campaign run late within the grace window (Sticky was down at its slot) lasted its length
    from the late run, so a member day 00:00 for 24h started 50 min late paid until 00:50 the next day. It keeps its
    slot's window: it ends at 24:00, and says so; one whose window is over by the late run opens nothing, announces
    nothing, and /pushlog says why. /runnow still runs from now (test above)."""
    g = group
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, g.owner, "/schedule once 2026-12-02 00:00 campaign 2x 24h Member day", g.chat)
    await say(pg, g.owner, "/schedule once 2026-12-05 10:00 campaign 2x 30m Double half hour", g.chat)
    pg.clock.set(datetime(2026, 12, 2, 0, 10, tzinfo=UTC))
    written = pg.sim.send(g.carol, "/checkin", g.chat)  # while Sticky is down: delivered after the late run
    pg.clock.set(datetime(2026, 12, 2, 0, 50, tzinfo=UTC))  # down from before midnight until 00:50
    await tick(pg)
    [start] = [m["text"] for m in pg.sim.replies(g.chat) if m.get("text", "").startswith("Member day")]
    assert start == "Member day\nCheck-ins and chat XP pay ×2 until 2026-12-03 00:00.", start
    # The window opens at its slot, not at the late run: Carol's check-in of 00:10 pays the member day's ×2.
    [answer] = [m["text"] for m in pg.sim.replies(g.chat) if m.get("reply_to_message", {}).get("message_id") == written["message_id"]]
    assert "+20 points (10 base × 2 (campaign))" in answer, answer
    pg.clock.set(datetime(2026, 12, 2, 23, 55, tzinfo=UTC))
    assert "+20 points (10 base × 2 (campaign))" in await say(pg, g.alice, "/checkin", g.chat)
    pg.clock.set(datetime(2026, 12, 3, 0, 20, tzinfo=UTC))  # the member day is over
    assert "+10 points (10 base)" in await say(pg, g.bob, "/checkin", g.chat)
    await tick(pg)  # its end is announced

    pg.clock.set(datetime(2026, 12, 5, 10, 50, tzinfo=UTC))  # 50 min late, within the hour of grace: but its 30 min are over
    await tick(pg)
    await tick(pg)
    assert not [m for m in pg.sim.replies(g.chat) if "Double half hour" in m.get("text", "")]
    log = [(e.kind, e.outcome, e.detail) for e in reversed(await pg.services.outbox.recent(g.chat.id, 20))]
    assert log[-1] == ("campaign", "suppressed", "its window is over"), log
    assert "campaign: not sent — its window was over before this late run (the bot was down)" in await say(
        pg, g.owner, "/pushlog", g.chat)
    await say(pg, g.owner, "/lang zh", g.chat)
    assert "补发时其时段已结束（机器人曾离线）" in await say(pg, g.owner, "/pushlog", g.chat)
    await say(pg, g.owner, "/lang en", g.chat)
    pg.clock.set(datetime(2026, 12, 5, 10, 55, tzinfo=UTC))
    assert "+10 points (10 base)" in await say(pg, g.carol, "/checkin", g.chat)
