"""The points economy through the real Application on the simulated Telegram: what members and admins see
and what the ledger keeps — day boundaries in the group's timezone (DST included), streaks, milestones and
make-up, check-in words, tiers and chat XP, admin give/take, /history, /top, seasons, and expiry."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from telegram import Update

from bot.app import ALLOWED_UPDATES
from bot.config import Config, ExpiryConfig, FunnelConfig, PointsConfig, ReferralConfig
from bot.context import BotContext
from bot.domain.points import Reason
from bot.playground import Playground
from handlers import points as hp
from storage.ledger import post
from tests.helpers import make_group, say

ALREADY = "You already checked in today at {at}; the next check-in opens at 00:00 (group time)."
NOT_ADMIN = "Only Admin and above can use this command."
BAD_AMOUNT = "The amount must be a whole number above zero."
NO_REASON = "Say why: a reason is required (it is shown in the member's /history)."


def local(tz: str, y: int, m: int, d: int, hh: int, mm: int, fold: int = 0) -> datetime:
    """A wall-clock time in `tz`, as the UTC instant the shared clock is set to."""
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(tz), fold=fold).astimezone(timezone.utc)


def jobs(pg: Playground) -> BotContext:
    return BotContext(pg.app)


async def points_of(pg, chat, user) -> int:
    return (await pg.services.points.ledger.wallet(chat.id, user.id)).points


async def xp_of(pg, chat, user) -> int:
    return (await pg.services.points.ledger.wallet(chat.id, user.id)).xp


async def ledger(pg, chat, user, reason: str | None = None, currency: str = "points") -> list[int]:
    sql = "SELECT amount FROM ledger WHERE chat_id = ? AND user_id = ? AND currency = ?"
    params: tuple = (chat.id, user.id, currency)
    if reason:
        sql += " AND reason = ?"
        params += (reason,)
    return [r["amount"] for r in await pg.services.db.fetchall(sql + " ORDER BY id", params)]


async def checkin_days(pg, chat, user) -> list[str]:
    rows = await pg.services.db.fetchall(
        "SELECT day FROM checkins WHERE chat_id = ? AND user_id = ? ORDER BY day", (chat.id, user.id))
    return [r["day"] for r in rows]


async def consistent(pg) -> None:
    assert await pg.services.points.ledger.mismatches() == []


def cfg(pg):
    return pg.config.points


# ================================================================ idempotency of a delivered update


async def test_the_same_checkin_update_delivered_twice_awards_once(pg, group):
    g = group
    pg.sim.send(g.alice, "/checkin", g.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    assert len(updates) == 1
    for _ in range(2):
        await pg.app.process_update(Update.de_json(updates[0], pg.app.bot))
    await pg.settle()
    answers = [m["text"] for m in pg.sim.replies(g.chat) if "checked in" in m.get("text", "")]
    assert len(answers) == 1 and answers[0].startswith("✅ Alice checked in")
    expected = cfg(pg).checkin.base + 5
    assert await points_of(pg, g.chat, g.alice) == expected

    # A restart forgets which updates it saw; Telegram resending the same update still pays nothing more.
    await pg.restart()
    await pg.app.process_update(Update.de_json(updates[0], pg.app.bot))
    await pg.settle()
    assert await checkin_days(pg, g.chat, g.alice) == ["2026-03-02"]
    assert await ledger(pg, g.chat, g.alice, "checkin") == [cfg(pg).checkin.base]
    assert await points_of(pg, g.chat, g.alice) == expected
    await consistent(pg)


async def test_the_same_give_update_delivered_again_after_a_restart_moves_points_once(pg, group):
    g = group
    pg.sim.send(g.admin, "/give @alice 50 welcome gift", g.chat)
    update = pg.sim.take_updates(ALLOWED_UPDATES)[0]
    await pg.app.process_update(Update.de_json(update, pg.app.bot))
    await pg.restart()
    await pg.app.process_update(Update.de_json(update, pg.app.bot))
    await pg.settle()
    assert await ledger(pg, g.chat, g.alice) == [50]
    assert await points_of(pg, g.chat, g.alice) == 50
    await consistent(pg)


# ================================================================ the group's day, in its timezone


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York", "Pacific/Auckland"])
async def test_local_midnight_is_the_day_boundary(pg, group, tz):
    g = group
    assert (await say(pg, g.owner, f"/set timezone {tz}", g.chat)) == f"timezone is now {tz}."
    pg.clock.set(local(tz, 2026, 3, 10, 23, 59))
    assert "🔥 Streak: 1 day ·" in await say(pg, g.alice, "/checkin", g.chat)
    pg.clock.set(local(tz, 2026, 3, 11, 0, 1))  # two minutes later, the same UTC day, the next local day
    assert "🔥 Streak: 2 days ·" in await say(pg, g.alice, "/checkin", g.chat)
    pg.clock.set(local(tz, 2026, 3, 12, 0, 1))
    assert "🔥 Streak: 3 days ·" in await say(pg, g.alice, "/checkin", g.chat)
    pg.clock.set(local(tz, 2026, 3, 12, 23, 59))  # the same local day, another UTC day
    assert await say(pg, g.alice, "/checkin", g.chat) == ALREADY.format(at="00:01")
    assert await checkin_days(pg, g.chat, g.alice) == ["2026-03-10", "2026-03-11", "2026-03-12"]
    base = cfg(pg).checkin.base
    assert await ledger(pg, g.chat, g.alice, "checkin") == [base, base, base + cfg(pg).checkin.streak_bonus[3]]


@pytest.mark.parametrize("tz, change", [("America/New_York", date(2026, 3, 8)), ("Pacific/Auckland", date(2026, 4, 5))])
async def test_a_dst_change_keeps_the_streak_and_once_per_day(pg, group, tz, change):
    g = group
    await say(pg, g.owner, f"/set timezone {tz}", g.chat)
    before, after = change - timedelta(days=1), change + timedelta(days=1)
    offsets = {local(tz, *d.timetuple()[:3], 12, 0).astimezone(ZoneInfo(tz)).utcoffset() for d in (before, after)}
    assert len(offsets) == 2  # the clocks really change in between

    pg.clock.set(local(tz, *before.timetuple()[:3], 23, 59))
    assert "Streak: 1 day" in await say(pg, g.alice, "/checkin", g.chat)
    pg.clock.set(local(tz, *change.timetuple()[:3], 0, 1))
    assert "Streak: 2 days" in await say(pg, g.alice, "/checkin", g.chat)
    # Through the change (Auckland repeats 02:00-03:00: try the second 02:30 too) until the day's last minute.
    tries = [(4, 0, 0), (23, 59, 0)] + ([(2, 30, 1)] if tz == "Pacific/Auckland" else [])
    for hh, mm, fold in tries:
        pg.clock.set(local(tz, *change.timetuple()[:3], hh, mm, fold))
        assert await say(pg, g.alice, "/checkin", g.chat) == ALREADY.format(at="00:01")
    pg.clock.set(local(tz, *after.timetuple()[:3], 0, 1))
    assert "Streak: 3 days" in await say(pg, g.alice, "/checkin", g.chat)
    assert "Streak: 3 days" in await say(pg, g.alice, "/me", g.chat)
    assert await checkin_days(pg, g.chat, g.alice) == [d.isoformat() for d in (before, change, after)]


# ================================================================ streaks, milestones, make-up


async def test_streak_bonus_is_paid_exactly_on_the_milestone_days_and_a_gap_resets(pg, group):
    g, c = group, cfg(pg).checkin
    texts = []
    for day in range(8):
        texts.append(await say(pg, g.alice, "/checkin", g.chat))
        pg.clock.advance(days=1)
    bonus3, bonus7 = c.streak_bonus[3], c.streak_bonus[7]
    for day, text in enumerate(texts, start=1):
        paid = c.base + c.streak_bonus.get(day, 0)
        detail = f"{c.base} base" + (f" + {c.streak_bonus[day]} streak bonus" if day in c.streak_bonus else "")
        assert text.startswith(f"✅ Alice checked in: +{paid} points ({detail}), +{c.xp} XP.\n🔥 Streak: {day} day")
    assert "🏅 New badge: First check-in (+5 points)" in texts[0]
    assert "🏅 New badge: 7-day streak" in texts[6]
    assert sum("New badge" in t for t in texts) == 2
    assert "Next: a 30-day streak in 23 days pays +100." in texts[6]
    assert await ledger(pg, g.chat, g.alice, "checkin") == [c.base + c.streak_bonus.get(d, 0) for d in range(1, 9)]

    pg.clock.advance(days=1)  # a day missed
    text = await say(pg, g.alice, "/checkin", g.chat)
    assert text.startswith(f"✅ Alice checked in: +{c.base} points ({c.base} base)")
    assert "🔥 Streak: 1 day ·" in text
    total = 9 * c.base + bonus3 + bonus7 + 5
    assert f"Points: {total} · XP: {9 * c.xp}" in await say(pg, g.alice, "/me", g.chat)
    await consistent(pg)


async def test_makeup_repairs_yesterday_restores_the_streak_and_pays_a_milestone_once(pg, group):
    g, c = group, cfg(pg).checkin
    assert await say(pg, g.owner, "/set makeup_cost 40", g.chat) == "makeup_cost is now 40."
    # Never checked in: nothing to repair.
    assert await say(pg, g.alice, "/makeup", g.chat) == (
        "You have no check-in yet, so there is no streak to repair. Start one with /checkin.")
    await say(pg, g.alice, "/checkin", g.chat)          # day 0
    pg.clock.advance(days=1)
    await say(pg, g.alice, "/checkin", g.chat)          # day 1: streak 2
    rows = await ledger(pg, g.chat, g.alice)
    assert await say(pg, g.alice, "/makeup", g.chat) == "There is no missed day to make up: your streak is whole."
    assert await ledger(pg, g.chat, g.alice) == rows
    assert await checkin_days(pg, g.chat, g.alice) == ["2026-03-02", "2026-03-03"]
    pg.clock.advance(days=2)                            # day 2 missed; now day 3
    balance = 2 * c.base + 5
    assert await say(pg, g.alice, "/makeup", g.chat) == f"Not enough points: you have {balance}, this needs 40."
    assert await checkin_days(pg, g.chat, g.alice) == ["2026-03-02", "2026-03-03"]
    assert await points_of(pg, g.chat, g.alice) == balance

    await say(pg, g.admin, "/give @alice 100 helping out", g.chat)
    balance += 100 - 40 + c.streak_bonus[3]
    assert await say(pg, g.alice, "/makeup", g.chat) == (
        f"🩹 Made up 2026-03-04 for 40 points. Streak: 3. Balance: {balance}.\nStreak milestone 3 days: +{c.streak_bonus[3]}")
    rows = await ledger(pg, g.chat, g.alice)
    assert await say(pg, g.alice, "/makeup", g.chat) == "There is no missed day to make up: your streak is whole."
    assert await ledger(pg, g.chat, g.alice) == rows
    assert "Streak: 3 days" in await say(pg, g.alice, "/me", g.chat)
    text = await say(pg, g.alice, "/checkin", g.chat)   # day 3 continues the repaired run, without paying 3 again
    assert text.startswith(f"✅ Alice checked in: +{c.base} points ({c.base} base)") and "🔥 Streak: 4 days" in text
    balance += c.base
    assert await ledger(pg, g.chat, g.alice, "makeup") == [-40]
    assert await ledger(pg, g.chat, g.alice, "milestone") == [c.streak_bonus[3]]
    assert await points_of(pg, g.chat, g.alice) == balance

    # A gap longer than the window can't be repaired.
    pg.clock.advance(days=5)
    days_before, rows = await checkin_days(pg, g.chat, g.alice), await ledger(pg, g.chat, g.alice)
    assert await say(pg, g.alice, "/makeup", g.chat) == (
        "Your streak broke more than 3 days ago; make-up repairs only a gap within the last 3 days."
        " Start a new one with /checkin.")
    assert await checkin_days(pg, g.chat, g.alice) == days_before
    assert await ledger(pg, g.chat, g.alice) == rows
    assert await points_of(pg, g.chat, g.alice) == balance
    await consistent(pg)


async def test_makeup_after_todays_checkin_joins_the_runs_and_pays_the_7_day_milestone(pg, group):
    g, c = group, cfg(pg).checkin
    for _ in range(5):                                   # days 0-4
        await say(pg, g.alice, "/checkin", g.chat)
        pg.clock.advance(days=1)
    pg.clock.advance(days=1)                             # day 5 missed
    await say(pg, g.alice, "/checkin", g.chat)           # day 6: streak 1
    text = await say(pg, g.alice, "/makeup", g.chat)
    assert text.startswith("🩹 Made up 2026-03-07 for 30 points. Streak: 7.")
    assert text.endswith(f"Streak milestone 7 days: +{c.streak_bonus[7]}")
    assert "Streak: 7 days" in await say(pg, g.alice, "/me", g.chat)
    assert "7-day streak" in (await say(pg, g.alice, "/badges", g.chat)).split("Still to earn")[0]
    pg.clock.advance(days=1)
    assert "🔥 Streak: 8 days" in await say(pg, g.alice, "/checkin", g.chat)
    assert await ledger(pg, g.chat, g.alice, "milestone") == [c.streak_bonus[7]]
    await consistent(pg)


async def test_checkin_words_work_only_when_the_group_turns_them_on(pg, group):
    g = group
    assert await say(pg, g.alice, "签到", g.chat) == ""
    assert await checkin_days(pg, g.chat, g.alice) == []
    await say(pg, g.owner, "/set checkin_words on", g.chat)
    assert (await say(pg, g.alice, "签到", g.chat)).startswith("✅ Alice checked in")
    # Each member checks in for themselves, however they say it.
    assert (await say(pg, g.bob, "check in", g.chat)).startswith("✅ Bob checked in")
    assert "#3 today" in await say(pg, g.carol, "  Check In ", g.chat)
    assert await say(pg, g.alice, "签到", g.chat) == ALREADY.format(at="09:00")
    assert await say(pg, g.owner, "签到 please", g.chat) == ""
    rows = await pg.services.db.fetchall("SELECT user_id FROM checkins WHERE chat_id = ? ORDER BY at, user_id", (g.chat.id,))
    assert sorted(r["user_id"] for r in rows) == sorted([g.alice.id, g.bob.id, g.carol.id])
    await say(pg, g.owner, "/set checkin_words off", g.chat)
    pg.clock.advance(days=1)
    assert await say(pg, g.alice, "签到", g.chat) == ""
    assert await checkin_days(pg, g.chat, g.alice) == ["2026-03-02"]


# ================================================================ tiers and chat XP


async def test_crossing_into_silver_is_announced_once_and_multiplies_with_half_up_rounding(pg, group):
    g = group
    silver = next(t for t in cfg(pg).tiers if t.key == "silver")
    await say(pg, g.owner, f"/set checkin_xp {silver.min_xp}", g.chat)
    await say(pg, g.owner, "/set checkin_base 15", g.chat)
    first = await say(pg, g.alice, "/checkin", g.chat)
    assert first.startswith("✅ Alice checked in: +15 points (15 base),")  # the tier counts from the next check-in
    assert first.endswith("🎉 Alice reached Silver!")
    pg.clock.advance(days=1)
    second = await say(pg, g.alice, "/checkin", g.chat)
    # 15 x 1.1 = 16.5 -> 17 (half up, in the member's favour)
    assert second.startswith("✅ Alice checked in: +17 points (15 base × 1.1 (Silver)),")
    assert "reached" not in second
    pg.clock.advance(days=1)
    third = await say(pg, g.alice, "/checkin", g.chat)
    assert third.startswith("✅ Alice checked in: +22 points (15 base + 5 streak bonus × 1.1 (Silver)),")
    assert "reached" not in third
    assert await ledger(pg, g.chat, g.alice, "checkin") == [15, 17, 22]
    assert "Tier: Silver" in await say(pg, g.alice, "/me", g.chat)
    # Reaching gold on a check-in: that check-in still paid (and names) silver's multiplier.
    gold = next(t for t in cfg(pg).tiers if t.key == "gold")
    await say(pg, g.owner, f"/set checkin_xp {gold.min_xp - 3 * silver.min_xp}", g.chat)
    pg.clock.advance(days=1)
    fourth = await say(pg, g.alice, "/checkin", g.chat)
    assert fourth.startswith("✅ Alice checked in: +17 points (15 base × 1.1 (Silver)),")
    assert fourth.endswith("🎉 Alice reached Gold!")
    pg.clock.advance(days=1)
    assert "+18 points (15 base × 1.2 (Gold))" in await say(pg, g.alice, "/checkin", g.chat)
    await consistent(pg)


async def test_chat_xp_cooldown_batching_switch_and_tier_up_announced_by_the_flush(pg, group):
    g, ctx = group, jobs(pg)
    xp, cooldown = cfg(pg).chat_xp.xp_per_message, cfg(pg).chat_xp.cooldown_seconds
    await hp.job_flush(ctx)                               # what the greetings earned
    pg.clock.advance(minutes=5)
    rows = await ledger(pg, g.chat, g.alice, "chat", "xp")
    start_xp = await xp_of(pg, g.chat, g.alice)

    for step in (0, 20, cooldown - 21):                   # three messages inside one minute
        pg.clock.advance(seconds=step)
        await say(pg, g.alice, "hello again", g.chat)
    pg.clock.advance(seconds=21)                          # the cooldown has passed
    await say(pg, g.alice, "and again", g.chat)
    await say(pg, g.alice, "/me", g.chat)                 # commands earn nothing
    assert pg.services.points.pending_xp == 2 * xp
    assert await ledger(pg, g.chat, g.alice, "chat", "xp") == rows  # nothing written before the flush
    await hp.job_flush(ctx)
    assert await ledger(pg, g.chat, g.alice, "chat", "xp") == rows + [2 * xp]
    assert await xp_of(pg, g.chat, g.alice) == start_xp + 2 * xp

    await say(pg, g.owner, "/set chat_xp 0", g.chat)
    pg.clock.advance(minutes=5)
    await say(pg, g.alice, "anyone?", g.chat)
    await hp.job_flush(ctx)
    assert await ledger(pg, g.chat, g.alice, "chat", "xp") == rows + [2 * xp]

    silver = next(t for t in cfg(pg).tiers if t.key == "silver")
    await say(pg, g.owner, f"/set chat_xp {silver.min_xp}", g.chat)
    pg.clock.advance(minutes=5)
    before = len(pg.sim.replies(g.chat))
    await say(pg, g.carol, "I am here a lot", g.chat)
    assert len(pg.sim.replies(g.chat)) == before          # announced by the flush, not per message
    await hp.job_flush(ctx)
    announced = [m["text"] for m in pg.sim.replies(g.chat)[before:]]
    assert announced == ["🎉 Carol reached Silver!"]
    pg.clock.advance(minutes=5)
    await say(pg, g.carol, "still here", g.chat)
    await hp.job_flush(ctx)
    assert [m["text"] for m in pg.sim.replies(g.chat)[before:]] == announced
    assert await say(pg, g.bob, "/optout mentions", g.chat) == "Done: no more mentions from me."
    await say(pg, g.bob, "me too, quietly", g.chat)
    await hp.job_flush(ctx)
    assert [m["text"] for m in pg.sim.replies(g.chat)[before:]][-1] == "Done: no more mentions from me."
    assert await xp_of(pg, g.chat, g.bob) >= silver.min_xp      # Silver all the same, just not announced
    await consistent(pg)


# ================================================================ admin controls


async def test_give_and_take_by_reply_username_and_id_with_clear_refusals(pg, group):
    g = group
    said = pg.sim.send(g.alice, "I fixed the wiki", g.chat)
    await pg.settle()
    assert await say(pg, g.admin, "/give 30 fixed the wiki", g.chat, reply_to=said) == "Alice got +30 points (balance 30)."
    assert await say(pg, g.admin, "/give @alice 20 welcome", g.chat) == "Alice got +20 points (balance 50)."
    assert await say(pg, g.owner, f"/give {g.alice.id} 5 birthday", g.chat) == "Alice got +5 points (balance 55)."
    assert await say(pg, g.admin, "/take 10 spam link", g.chat, reply_to=said) == "Alice lost 10 points (balance 45)."
    assert await say(pg, g.admin, "/take @alice 5 off-topic", g.chat) == "Alice lost 5 points (balance 40)."
    assert await ledger(pg, g.chat, g.alice) == [30, 20, 5, -10, -5]

    refusals = {
        "/give @alice 20": NO_REASON,
        "/give @alice 0 nothing": BAD_AMOUNT,
        "/give @alice -5 sneaky": BAD_AMOUNT,
        "/give @alice ten words": BAD_AMOUNT,
        "/give @alice 2.5 half": BAD_AMOUNT,
        "/give @alice 100001 too much": "That amount is too large (at most 100000).",
        "/give @alice 99999999999999999999999 lots": "That amount is too large (at most 100000).",
        "/take @alice 41 below zero": "Alice has only 40 points; 41 can't be taken.",
        "/give": "Usage: /give @username|id|(reply) AMOUNT REASON",
        "/take @alice": "Usage: /take @username|id|(reply) AMOUNT REASON",
    }
    for command, line in refusals.items():
        assert await say(pg, g.admin, command, g.chat) == line, command
    assert await say(pg, g.admin, "/give -5 sneaky", g.chat, reply_to=said) == BAD_AMOUNT
    assert await say(pg, g.bob, "/give @bob 1000 me", g.chat) == NOT_ADMIN
    assert await say(pg, g.bob, "/take @alice 40 mine", g.chat) == NOT_ADMIN
    assert await ledger(pg, g.chat, g.alice) == [30, 20, 5, -10, -5]
    assert await ledger(pg, g.chat, g.bob) == []
    assert await points_of(pg, g.chat, g.alice) == 40

    history = await say(pg, g.alice, "/history", g.chat)
    lines = history.splitlines()
    assert lines[0] == "Last changes for Alice"
    assert lines[1:] == [
        "03-02 09:00 -5 points: taken by an admin — off-topic",
        "03-02 09:00 -10 points: taken by an admin — spam link",
        "03-02 09:00 +5 points: given by an admin — birthday",
        "03-02 09:00 +20 points: given by an admin — welcome",
        "03-02 09:00 +30 points: given by an admin — fixed the wiki",
    ]
    assert await say(pg, g.bob, "/history", g.chat) == "Bob has no points history yet. Try /checkin."
    pg.clock.advance(seconds=10)  # a member reads between commands (seven in ten seconds are a flood)
    await say(pg, g.bob, "/checkin", g.chat)
    assert "+5 points: badge bonus" in await say(pg, g.bob, "/history", g.chat)
    assert "daily check-in" in await say(pg, g.bob, "/history", g.chat)
    await consistent(pg)


async def test_top_boards_and_windows(pg, group):
    g = group
    at = lambda m, d: datetime(2026, m, d, 9, 0, tzinfo=timezone.utc)  # noqa: E731
    await say(pg, g.admin, "/give @alice 100 launch", g.chat)         # Mon 2 March
    await say(pg, g.alice, "/checkin", g.chat)
    pg.clock.set(at(3, 3))
    await say(pg, g.alice, "/checkin", g.chat)
    pg.clock.set(at(4, 2))
    await say(pg, g.admin, "/give @bob 50 help", g.chat)
    pg.clock.set(at(4, 7))                                            # Tuesday; the week began Monday 6 April
    await say(pg, g.carol, "/checkin", g.chat)
    await say(pg, g.bob, "/checkin", g.chat)
    pg.clock.set(at(4, 8))
    await say(pg, g.bob, "/checkin", g.chat)

    everyone = ["🥇 Alice — 125", "🥈 Bob — 75", "🥉 Carol — 15"]
    expected = {
        ("points", "all"): everyone, ("points", "season"): everyone,
        ("points", "month"): ["🥇 Bob — 75", "🥈 Carol — 15"], ("points", "week"): ["🥇 Bob — 25", "🥈 Carol — 15"],
        ("xp", "all"): ["🥇 Alice — 20", "🥈 Bob — 20", "🥉 Carol — 10"],
        ("xp", "season"): ["🥇 Alice — 20", "🥈 Bob — 20", "🥉 Carol — 10"],
        ("xp", "month"): ["🥇 Bob — 20", "🥈 Carol — 10"], ("xp", "week"): ["🥇 Bob — 20", "🥈 Carol — 10"],
        ("checkin", "all"): ["🥇 Alice — 2", "🥈 Bob — 2", "🥉 Carol — 1"],
        ("checkin", "season"): ["🥇 Alice — 2", "🥈 Bob — 2", "🥉 Carol — 1"],
        ("checkin", "month"): ["🥇 Bob — 2", "🥈 Carol — 1"], ("checkin", "week"): ["🥇 Bob — 2", "🥈 Carol — 1"],
    }
    # A streak is alive or not, whatever the window: /top streak takes none (a period is answered with a line saying
    # so: test_first_hour), and shows the current streaks.
    boards = {"points": "points earned", "xp": "XP", "checkin": "check-ins", "streak": "current streak"}
    windows = {"week": "this week", "month": "this month", "season": "this season", "all": "all time"}
    for (board, window), rows in expected.items():
        pg.clock.advance(seconds=3)  # a member types one command every few seconds (seven in ten are a flood)
        text = await say(pg, g.bob, f"/top {window} {board}", g.chat)
        head = f"Top — {boards[board]}" + ("" if board == "streak" else f", {windows[window]}")
        assert text.splitlines() == [head, *rows], (board, window)
    assert (await say(pg, g.bob, "/top", g.chat)).splitlines()[1:] == everyone  # points, this season
    pg.clock.advance(seconds=3)
    assert (await say(pg, g.bob, "/top streak", g.chat)).splitlines() == ["Top — current streak", "🥇 Bob — 2", "🥈 Carol — 1"]
    usage = "Usage: /top [points|xp|checkin|streak|invites] [week|month|season|all]"
    pg.clock.advance(seconds=10)
    assert await say(pg, g.bob, "/top yesterday", g.chat) == usage
    assert await say(pg, g.bob, "/top points 10", g.chat) == usage


async def test_season_confirmation_buttons_archive_and_start_the_next_once(pg, group):
    g = group
    await say(pg, g.admin, "/give @alice 100 launch", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)
    await say(pg, g.bob, "/checkin", g.chat)
    pg.clock.advance(minutes=1)
    assert await say(pg, g.bob, "/season", g.chat) == NOT_ADMIN

    # Cancel.
    ask = "Close season 1? Its standings are archived and the season leaderboard starts again. Balances and XP stay."
    assert await say(pg, g.owner, "/season", g.chat) == ask
    cancel_msg = pg.sim.replies(g.chat)[-1]
    assert [b["text"] for b in cancel_msg["reply_markup"]["inline_keyboard"][0]] == ["✅ Confirm", "❌ Cancel"]
    pg.sim.press(g.owner, cancel_msg, "season:no")
    await pg.settle()
    edited = {c.params["message_id"]: c.params["text"] for c in pg.sim.calls("editMessageText")}
    assert edited == {cancel_msg["message_id"]: "Season change cancelled."}
    assert await pg.services.points.season_number(g.chat.id) == 0

    # Two confirmation messages for season 1; a member's press only gets an alert.
    await say(pg, g.owner, "/season", g.chat)
    first = pg.sim.replies(g.chat)[-1]
    await say(pg, g.admin, "/season", g.chat)
    second = pg.sim.replies(g.chat)[-1]
    pg.sim.press(g.bob, first, "season:ok:1")
    await pg.settle()
    alert = pg.sim.calls("answerCallbackQuery")[-1].params
    assert alert["text"] == "This button is not for you." and alert["show_alert"] is True
    assert await pg.services.points.season_number(g.chat.id) == 0

    async with pg.services.db.transaction() as tx:       # Carol only chatted: she is archived too, with her XP
        await post(tx, g.chat.id, g.carol.id, 2, "xp", Reason.CHAT, "test:carol-chat", pg.clock.now())
    pg.sim.press(g.admin, first, "season:ok:1")
    await pg.settle()
    edited = {c.params["message_id"]: c.params["text"] for c in pg.sim.calls("editMessageText")}
    assert edited[first["message_id"]] == "🏁 Season 2 has begun.\nLast season's top: Alice (115), Bob (15)"
    standings = await pg.services.db.fetchall(
        "SELECT s.number, st.user_id, st.rank, st.points, st.xp FROM season_standings st JOIN seasons s ON s.id = st.season_id"
        " WHERE s.chat_id = ? ORDER BY st.rank", (g.chat.id,))
    assert [tuple(r) for r in standings] == [(1, g.alice.id, 1, 115, 10), (1, g.bob.id, 2, 15, 10), (1, g.carol.id, 3, 0, 2)]

    pg.sim.press(g.owner, second, "season:ok:1")          # the other, now stale, confirmation
    await pg.settle()
    stale = pg.sim.calls("answerCallbackQuery")[-1].params
    assert stale["text"] == "That was already done." and stale["show_alert"] is True
    assert second["message_id"] not in {c.params["message_id"] for c in pg.sim.calls("editMessageText")}
    assert await pg.services.points.season_number(g.chat.id) == 2
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM seasons WHERE chat_id = ?", (g.chat.id,)) == 2

    # The season board starts again; balances and XP stay.
    assert (await say(pg, g.bob, "/top", g.chat)).splitlines()[1:] == ["Nobody yet."]
    pg.clock.advance(minutes=1)
    await say(pg, g.admin, "/give @bob 7 first of season 2", g.chat)
    assert (await say(pg, g.bob, "/top", g.chat)).splitlines()[1:] == ["🥇 Bob — 7"]
    assert await points_of(pg, g.chat, g.alice) == 115
    assert await xp_of(pg, g.chat, g.alice) == 10

    # Pressing Confirm twice quickly (both presses queued before the bot answers) starts one season only.
    await say(pg, g.owner, "/season", g.chat)
    third = pg.sim.replies(g.chat)[-1]
    assert third["text"].startswith("Close season 2?")
    pg.sim.press(g.owner, third, "season:ok:2")
    pg.sim.press(g.owner, third, "season:ok:2")
    await pg.settle()
    assert await pg.services.points.season_number(g.chat.id) == 3
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM seasons WHERE chat_id = ?", (g.chat.id,)) == 3
    # The announcement stays; the second press is told it was already done.
    texts = [c.params["text"] for c in pg.sim.calls("editMessageText") if c.params["message_id"] == third["message_id"]]
    assert len(texts) == 1 and texts[0].startswith("🏁 Season 3 has begun.")
    assert pg.sim.calls("answerCallbackQuery")[-1].params["text"] == "That was already done."


# ================================================================ expiry


async def fifo_30_days(pg, g):
    """Points expire 30 days after they are earned; returns on(d, hh): day d of the test at hh o'clock."""
    day0 = pg.clock.now()
    await say(pg, g.owner, "/set expiry_mode fifo", g.chat)
    await say(pg, g.owner, "/set expiry_days 30", g.chat)
    return lambda d, hh=9: day0.replace(hour=hh) + timedelta(days=d)


async def test_fifo_expiry_warns_once_privately_and_expires_oldest_first(pg, group):
    g, ctx = group, jobs(pg)
    on = await fifo_30_days(pg, g)
    for person in (g.alice, g.bob):
        await say(pg, person, "/start")                       # lets the bot write to them privately
    assert await say(pg, g.bob, "/optout private") == "Done: no more private messages from me."
    for person in (g.alice, g.bob, g.carol):                   # carol never started the bot
        await say(pg, g.admin, f"/give @{person.username} 100 launch", g.chat)
    pg.clock.set(on(10))
    await say(pg, g.admin, "/give @alice 50 event", g.chat)
    pg.clock.set(on(12))
    await say(pg, g.admin, "/take @alice 30 spent", g.chat)    # FIFO: out of the oldest 100, leaving 70 of it
    pg.clock.set(on(20))
    await say(pg, g.alice, "/checkin", g.chat)                 # +15 with the badge
    private = {p: len(pg.sim.replies(p)) for p in (g.alice, g.bob, g.carol)}

    pg.clock.set(on(23, 10))                                   # the first 100s expire on day 30
    await hp.job_expiry(ctx)
    await hp.job_expiry(ctx)
    pg.clock.set(on(24, 10))
    await hp.job_expiry(ctx)
    warnings = [m["text"] for m in pg.sim.replies(g.alice)[private[g.alice]:]]
    assert warnings == [  # seven days ahead, once: the 50 and the check-in expire later
        "⏳ In Tea Lovers, 70 of your points expire within the next 7 days, the first on 2026-04-01."
        " Spend them in the /shop before then."
    ]
    assert len(pg.sim.replies(g.bob)) == private[g.bob]        # opted out
    assert len(pg.sim.replies(g.carol)) == private[g.carol]    # never started the bot
    assert await ledger(pg, g.chat, g.alice, "expiry") == []

    pg.clock.set(on(30, 8))                                    # an hour before: not yet
    await hp.job_expiry(ctx)
    assert await ledger(pg, g.chat, g.alice, "expiry") == []
    pg.clock.set(on(30, 10))
    await hp.job_expiry(ctx)
    await hp.job_expiry(ctx)
    assert await ledger(pg, g.chat, g.alice, "expiry") == [-70]
    assert await ledger(pg, g.chat, g.bob, "expiry") == [-100]
    assert await ledger(pg, g.chat, g.carol, "expiry") == [-100]
    assert await points_of(pg, g.chat, g.alice) == 100 + 50 - 30 + 15 - 70
    pg.clock.set(on(31, 10))
    await hp.job_expiry(ctx)
    assert await ledger(pg, g.chat, g.alice, "expiry") == [-70]

    pg.clock.set(on(40, 10))                                   # the 50 of day 10
    await hp.job_expiry(ctx)
    await hp.job_expiry(ctx)
    assert await ledger(pg, g.chat, g.alice, "expiry") == [-70, -50]
    assert await points_of(pg, g.chat, g.alice) == 15
    assert "points expired" in await say(pg, g.alice, "/history", g.chat)
    await consistent(pg)


async def test_fifo_expiry_waits_for_the_groups_run_time(pg, group):
    g, ctx = group, jobs(pg)
    tz = "Asia/Shanghai"
    await say(pg, g.owner, f"/set timezone {tz}", g.chat)
    await say(pg, g.owner, "/set expiry_mode fifo", g.chat)
    await say(pg, g.owner, "/set expiry_days 1", g.chat)
    await say(pg, g.admin, "/give @alice 10 x", g.chat)        # 17:00 local on 2 March
    pg.clock.set(local(tz, 2026, 3, 4, 2, 59))                 # due, but before run_at (03:00 local)
    await hp.job_expiry(ctx)
    assert await ledger(pg, g.chat, g.alice, "expiry") == []
    pg.clock.set(local(tz, 2026, 3, 4, 3, 0))
    await hp.job_expiry(ctx)
    assert await ledger(pg, g.chat, g.alice, "expiry") == [-10]


async def test_decay_removes_the_share_on_the_groups_new_year_once(tmp_path, clock):
    config = Config(points=PointsConfig(expiry=ExpiryConfig(mode="decay", decay_percent=10)))
    async with Playground(tmp_path / "decay.db", config=config, clock=clock) as pg:
        g, ctx, tz = await make_group(pg), jobs(pg), "Asia/Shanghai"
        await say(pg, g.owner, f"/set timezone {tz}", g.chat)
        await say(pg, g.alice, "/start")
        await say(pg, g.admin, "/give @alice 105 launch", g.chat)
        await say(pg, g.admin, "/give @bob 9 launch", g.chat)   # 10% of 9 rounds down to nothing
        private = len(pg.sim.replies(g.alice))

        pg.clock.set(local(tz, 2026, 12, 26, 10, 0))
        await hp.job_expiry(ctx)
        pg.clock.set(local(tz, 2026, 12, 27, 10, 0))
        await hp.job_expiry(ctx)
        assert [m["text"] for m in pg.sim.replies(g.alice)[private:]] == [
            "⏳ In Tea Lovers, 10 of your points go on 2027-01-01 with the yearly decay. Spend them in the /shop before then."]

        pg.clock.set(local(tz, 2026, 12, 31, 23, 0))
        await hp.job_expiry(ctx)
        pg.clock.set(local(tz, 2027, 1, 1, 2, 0))               # New Year, before the run time
        await hp.job_expiry(ctx)
        assert await ledger(pg, g.chat, g.alice, "expiry") == []
        pg.clock.set(local(tz, 2027, 1, 1, 4, 0))               # still 31 December in UTC
        assert pg.clock.now().date() == date(2026, 12, 31)
        await hp.job_expiry(ctx)
        await hp.job_expiry(ctx)
        pg.clock.set(local(tz, 2027, 1, 1, 20, 0))
        await hp.job_expiry(ctx)
        assert await ledger(pg, g.chat, g.alice, "expiry") == [-10]
        assert await ledger(pg, g.chat, g.bob, "expiry") == []
        pg.clock.set(local(tz, 2027, 1, 3, 20, 0))               # later that week: booked once a year
        await hp.job_expiry(ctx)
        assert await ledger(pg, g.chat, g.alice, "expiry") == [-10]
        assert await points_of(pg, g.chat, g.alice) == 95
        assert await points_of(pg, g.chat, g.bob) == 9
        await consistent(pg)


async def test_a_groups_own_decay_share_and_catching_up_after_downtime(pg, group):
    g, ctx = group, jobs(pg)
    assert await say(pg, g.owner, "/set decay_percent 101", g.chat) != "decay_percent is now 101."
    assert await say(pg, g.owner, "/set decay_percent 25", g.chat) == "decay_percent is now 25."
    await say(pg, g.owner, "/set expiry_mode decay", g.chat)
    await say(pg, g.admin, "/give @alice 200 launch", g.chat)
    assert "25% of unspent points" in await say(pg, g.alice, "/earn", g.chat)
    pg.clock.set(datetime(2027, 1, 2, 12, tzinfo=timezone.utc))  # the bot was down over New Year…
    await say(pg, g.admin, "/give @alice 40 new year quiz", g.chat)
    await say(pg, g.admin, "/give @bob 40 new year quiz", g.chat)  # Bob had nothing when the year turned
    pg.clock.set(datetime(2027, 1, 4, 12, tzinfo=timezone.utc))  # …and catches up: 25% of what was held then
    await hp.job_expiry(ctx)
    await hp.job_expiry(ctx)
    assert await ledger(pg, g.chat, g.alice, "expiry") == [-50]
    assert await ledger(pg, g.chat, g.bob, "expiry") == []
    pg.clock.set(datetime(2027, 1, 9, 12, tzinfo=timezone.utc))
    await hp.job_expiry(ctx)
    assert await ledger(pg, g.chat, g.alice, "expiry") == [-50]
    pg.clock.set(datetime(2028, 1, 9, 12, tzinfo=timezone.utc))  # down all of the first week: that year is skipped
    await hp.job_expiry(ctx)
    assert await ledger(pg, g.chat, g.alice, "expiry") == [-50]
    await consistent(pg)


async def test_expiry_notices_come_at_most_weekly_and_sum_up_the_coming_week(pg, group):
    g, ctx = group, jobs(pg)
    on = await fifo_30_days(pg, g)
    await say(pg, g.alice, "/start")
    await say(pg, g.admin, "/give @alice 100 first", g.chat)   # expires 1 April
    pg.clock.set(on(2))
    await say(pg, g.admin, "/give @alice 40 second", g.chat)   # expires 3 April
    pg.clock.set(on(9))
    await say(pg, g.admin, "/give @alice 20 third", g.chat)    # expires 10 April
    seen = len(pg.sim.replies(g.alice))
    for day in range(20, 34):                                  # the job every day
        pg.clock.set(on(day, 10))
        await hp.job_expiry(ctx)
        await hp.job_expiry(ctx)                               # and again within the day: nothing new
    assert [m["text"] for m in pg.sim.replies(g.alice)[seen:]] == [
        # day 23 (25 March): the first lot is a week away
        "⏳ In Tea Lovers, 100 of your points expire within the next 7 days, the first on 2026-04-01."
        " Spend them in the /shop before then.",
        # a week later (1 April, the first lot just expired): what the coming week holds, not the 10 April lot
        "⏳ In Tea Lovers, 40 of your points expire within the next 7 days, the first on 2026-04-03."
        " Spend them in the /shop before then.",
    ]
    sent = await pg.services.db.fetchall("SELECT day FROM expiry_warnings WHERE user_id = ?", (g.alice.id,))
    assert [r["day"] for r in sent] == ["2026-03-25", "2026-04-01"]
    assert await ledger(pg, g.chat, g.alice, "expiry") == [-100, -40]


async def test_earn_follows_the_config_and_the_groups_settings(pg, group):
    g, c, ref = group, cfg(pg), pg.config.funnel.referral
    before = await say(pg, g.alice, "/earn", g.chat)
    assert f"/checkin once a day: +{c.checkin.base} points, +{c.checkin.xp} XP" in before
    assert f"chatting: +{c.chat_xp.xp_per_message} XP per message, at most once every {c.chat_xp.cooldown_seconds} s" in before
    assert f"a friend you /invite who stays and takes part: +{ref.points} points, +{ref.xp} XP (and +{ref.welcome_bonus} points for them)" in before

    assert "invite milestones: " + ", ".join(f"{n} friends +{b}" for n, b in ref.milestones.items()) in before
    assert "expire" not in before                                  # expiry is off by default

    for setting in ("checkin_base 15", "chat_xp 0", "expiry_mode fifo", "expiry_days 90"):
        await say(pg, g.owner, f"/set {setting}", g.chat)
    after = await say(pg, g.alice, "/earn", g.chat)
    assert f"/checkin once a day: +15 points, +{c.checkin.xp} XP" in after
    assert "chatting" not in after
    assert f"Points expire 90 days after they are earned, oldest first. You are told up to {c.expiry.warn_days} days ahead." in after

    await say(pg, g.owner, "/lang zh", g.chat)
    assert "积分在获得 90 天后过期" in await say(pg, g.alice, "/earn", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)
    assert f"+{c.checkin.xp} 经验" in await say(pg, g.alice, "/history", g.chat)


async def test_last_weeks_top_earner_is_named_once_and_gets_the_weekly_top_badge(pg, group):
    g, ctx = group, jobs(pg)
    at = lambda d, hh=10: datetime(2026, 3, d, hh, 0, tzinfo=timezone.utc)  # noqa: E731  (2 March is a Monday)
    bonus = next(b.points_bonus for b in cfg(pg).badges if b.kind == "top_week")
    await say(pg, g.admin, "/give @alice 30 helped", g.chat)
    await say(pg, g.admin, "/give @bob 50 organised", g.chat)
    pg.clock.set(at(4))
    before = len(pg.sim.replies(g.chat))
    await hp.job_weekly(ctx)                                   # the week is not over: nothing to say
    assert len(pg.sim.replies(g.chat)) == before

    pg.clock.set(at(9))                                        # Monday: the week of 2 March is over
    await hp.job_weekly(ctx)
    await hp.job_weekly(ctx)
    await pg.restart()
    await hp.job_weekly(jobs(pg))                              # once, whatever runs again
    assert [m["text"] for m in pg.sim.replies(g.chat)[before:]] == [
        f"🏆 Top earner of last week: Bob, with 50 points.\n🏅 New badge: Weekly top (+{bonus} points)"
    ]
    assert await points_of(pg, g.chat, g.bob) == 50 + bonus

    await say(pg, g.carol, "/optout mentions", g.chat)
    await say(pg, g.admin, "/give @carol 200 wrote the guide", g.chat)
    pg.clock.set(at(16))
    shown = len(pg.sim.replies(g.chat))
    await hp.job_weekly(jobs(pg))
    assert len(pg.sim.replies(g.chat)) == shown                # Carol topped the week but asked not to be named
    assert "Weekly top" in (await say(pg, g.carol, "/badges", g.chat)).split("Still to earn")[0]
    tops = await pg.services.db.fetchall("SELECT week, user_id FROM weekly_tops WHERE chat_id = ? ORDER BY week", (g.chat.id,))
    assert [tuple(r) for r in tops] == [("2026-03-02", g.bob.id), ("2026-03-09", g.carol.id)]
    await consistent(pg)


async def test_the_link_gate_keeps_links_to_tiers_with_the_perk(pg, group):
    g = group
    silver = next(t for t in cfg(pg).tiers if "post_links" in t.perks)

    def deleted(message) -> bool:
        return any(c.params.get("message_id") == message["message_id"] for c in pg.sim.calls("deleteMessage"))

    async def post_link(user, text="see https://example.com/tea") -> dict:
        sent = pg.sim.send(user, text, g.chat)
        await pg.settle()
        return sent

    assert "may post links" not in await say(pg, g.alice, "/levels", g.chat)   # off by default: links are free
    assert not deleted(await post_link(g.alice))
    assert await say(pg, g.owner, "/set link_gate on", g.chat) == (
        "link_gate is now on.\nThe link gate is the rule links of the rules engine: /rule show links.")
    assert "links [on] when message or edit and has link" in await say(pg, g.admin, "/rule list", g.chat)
    assert "may post links" in await say(pg, g.alice, "/levels", g.chat)

    pending = pg.services.points.pending_xp
    pg.clock.advance(minutes=5)
    refused = await post_link(g.alice)
    assert deleted(refused)
    assert pg.services.points.pending_xp == pending                             # a deleted message earns nothing
    assert pg.sim.replies(g.chat)[-1]["text"] == (
        f"🔗 Alice, links are for {silver.key.capitalize()} and above here; you are Bronze."
        " Keep chatting and checking in to get there.")
    await say(pg, g.owner, "/setrole @bob spreader", g.chat)
    assert not deleted(await post_link(g.bob))                                  # spreaders bring news
    assert not deleted(await post_link(g.admin))
    async with pg.services.db.transaction() as tx:                              # Carol chatted her way to the tier
        await post(tx, g.chat.id, g.carol.id, silver.min_xp, "xp", Reason.CHAT, "test:carol", pg.clock.now())
    assert not deleted(await post_link(g.carol, "the guide: https://example.com/guide"))
    innocent = await post_link(g.alice, "hello all")
    pg.sim.edit(g.alice, innocent, "hello all, see https://example.com/sneaky")  # a link edited in later
    await pg.settle()
    assert deleted(innocent)
    pg.clock.advance(minutes=5)
    pending = pg.services.points.pending_xp
    pg.sim.flood("sendMessage", retry_after=60)                                 # no notice possible right now…
    flooded = await post_link(g.alice, "again https://example.com/x")
    assert deleted(flooded) and pg.services.points.pending_xp == pending        # …still deleted, still earns nothing
    assert "Something went wrong" not in pg.sim.replies(g.chat)[-1].get("text", "")
    await say(pg, g.owner, "/lang zh", g.chat)
    assert deleted(await post_link(g.alice, "https://example.com/again"))
    assert pg.sim.replies(g.chat)[-1]["text"].startswith("🔗 Alice，")


async def test_link_gate_is_a_switch_on_the_links_rule(pg, group):
    """/set link_gate is a synonym: it switches the one rule, re-creates it if the group deleted it, and says so."""
    g = group
    bad = await say(pg, g.owner, "/set link_gate maybe", g.chat)
    assert "link_gate" in bad and "on or off" in bad
    assert (await say(pg, g.owner, "/set link_gate on", g.chat)).startswith("link_gate is now on.")
    assert (await say(pg, g.owner, "/set link_gate off", g.chat)).startswith("link_gate is now off.")
    assert "links [off]" in await say(pg, g.admin, "/rule list", g.chat)
    assert await say(pg, g.admin, "/rule del links", g.chat) == "Rule links deleted."
    assert (await say(pg, g.owner, "/set link_gate on", g.chat)).startswith("link_gate is now on.")
    listed = await say(pg, g.admin, "/rule list", g.chat)
    assert listed.count("links [on]") == 1
    assert "• link_gate = on\n" in await say(pg, g.owner, "/settings", g.chat)      # /settings shows it, by its old name
    assert (await say(pg, g.owner, "/set link_gate default", g.chat)).startswith("link_gate is now off.")  # as config seeds it
    assert "• link_gate = off (default)" in await say(pg, g.owner, "/settings", g.chat)
    assert "may post links" not in await say(pg, g.alice, "/levels", g.chat)
    assert await say(pg, g.alice, "/set link_gate on", g.chat) == "Only Admin and above can use this command."
    await say(pg, g.owner, "/lang zh", g.chat)
    assert "链接" in await say(pg, g.owner, "/set link_gate on", g.chat)


async def test_stopping_writes_the_counted_chat_xp_and_announces_its_tier_up(pg, group):
    g = group
    silver = next(t for t in cfg(pg).tiers if t.key == "silver")
    await hp.job_flush(jobs(pg))
    await say(pg, g.owner, f"/set chat_xp {silver.min_xp}", g.chat)
    pg.clock.advance(minutes=5)
    pg.sim.send(g.carol, "a message worth a tier", g.chat)
    await pg.settle()
    assert pg.services.points.pending_xp == silver.min_xp
    before = len(pg.sim.replies(g.chat))
    await pg.restart()                                        # a clean stop, as on SIGTERM
    assert [m["text"] for m in pg.sim.replies(g.chat)[before:]] == ["🎉 Carol reached Silver!"]
    assert await xp_of(pg, g.chat, g.carol) >= silver.min_xp
    await consistent(pg)


async def test_a_campaign_multiplier_from_the_hook_pays_and_is_named(pg, group):
    g, c = group, cfg(pg).checkin
    silver = next(t for t in cfg(pg).tiers if t.key == "silver")
    async with pg.services.db.transaction() as tx:
        await post(tx, g.chat.id, g.alice.id, silver.min_xp, "xp", Reason.CHAT, "test:alice-silver", pg.clock.now())

    now = pg.clock.now()                                      # a member day open in this group (as a schedule starts it)
    await pg.services.points.campaigns.add(g.chat.id, None, "2", now - timedelta(hours=1), now + timedelta(hours=1), "Member day")
    text = await say(pg, g.alice, "/checkin", g.chat)
    paid = round(c.base * silver.points_multiplier * 2)
    assert text.startswith(f"✅ Alice checked in: +{paid} points ({c.base} base × {silver.points_multiplier:g} (Silver) × 2 (campaign))")
    bob = await say(pg, g.bob, "/checkin", g.chat)          # Bronze: only the campaign multiplies
    assert bob.startswith(f"✅ Bob checked in: +{2 * c.base} points ({c.base} base × 2 (campaign))")
    assert await ledger(pg, g.chat, g.alice, "checkin") == [paid]


async def test_lists_in_chinese_use_chinese_punctuation(pg, group):
    g = group
    await say(pg, g.owner, "/lang zh", g.chat)
    text = await say(pg, g.alice, "/badges", g.chat)
    assert ", " not in text and "、" in text.split("\n")[-1]  # "Still to earn": an enumeration


async def test_earn_leaves_out_rewards_set_to_nothing(tmp_path, clock):
    config = Config(funnel=FunnelConfig(referral=ReferralConfig(xp=0, welcome_bonus=0)))
    async with Playground(tmp_path / "earn.db", config=config, clock=clock) as pg:
        g = await make_group(pg)
        text = await say(pg, g.alice, "/earn", g.chat)
        assert f"a friend you /invite who stays and takes part: +{config.funnel.referral.points} points\n" in text


async def test_season_with_an_argument_says_it_takes_none_and_asks_nothing(pg, group):
    """/season foo ignored its argument and asked to close the season all the same: it says /season takes
    nothing, names what it would close, and sends no confirmation buttons — en and zh."""
    g = group
    before = len(pg.sim.replies(g.chat))
    assert await say(pg, g.owner, "/season foo", g.chat) == (
        "/season takes nothing after it (not “foo”): send /season alone and I ask before closing season 1 and starting the next.")
    assert not [m for m in pg.sim.replies(g.chat)[before:] if m.get("reply_markup")]
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.owner, "/season 2", g.chat) == "/season 后面不带参数（不是“2”）：只发 /season，我会先问你再结束第 1 赛季、开始下一个。"
    assert await pg.services.points.season_number(g.chat.id) == 0
