"""Every effect and trigger the rules engine parses is applied, through the real Application on the simulator: named
violations and their escalation, resets, badges, community roles, points, notices to admins; joins, check-ins,
confirmed referrals, tiers reached, warns by hand, inactivity (a durable daily pass); `messages < N` counts the
member's real messages. One decision's writes are one transaction, its Telegram actions come after the commit."""
from __future__ import annotations

from datetime import timedelta

import pytest

from telegram import Update

import bot.app as app_module
from bot.app import ALLOWED_UPDATES
from bot.context import BotContext
from storage.db import iso
from storage.points import PointsRepo
from tests.handlers.funnel_helpers import confirmed_invitee, run_job
from tests.handlers.test_funnel_screening import Killed
from tests.handlers.test_inbox import crash
from tests.handlers.test_rules import deleted
from tests.helpers import say


async def add(pg, g, line: str) -> str:
    """/rule add LINE; the new rule's name."""
    said = await say(pg, g.admin, f"/rule add {line}", g.chat)
    assert said.startswith("Rule ") and said.endswith("added."), said
    return said.split("(", 1)[1].split(")", 1)[0]


async def violations(pg, g, user, name: str) -> int:
    return await pg.services.db.fetchval(
        "SELECT COUNT(*) FROM violations WHERE chat_id = ? AND user_id = ? AND name = ? AND removed_at IS NULL",
        (g.chat.id, user.id, name))


async def rule_rows(pg, g, user) -> list[tuple[str, int]]:
    rows = await pg.services.db.fetchall(
        "SELECT currency, amount FROM ledger WHERE chat_id = ? AND user_id = ? AND reason IN ('rule_award', 'rule_deduct')"
        " ORDER BY id", (g.chat.id, user.id))
    return [(r[0], r[1]) for r in rows]


async def badges(pg, g, user) -> set[str]:
    return {key for key, _at in await pg.services.points.repo.badges(g.chat.id, user.id)}


async def role(pg, g, user) -> str | None:
    return (await pg.services.members.members.get(g.chat.id, user.id)).community_role


async def consistent(pg) -> None:
    assert await pg.services.points.ledger.mismatches() == []


def muted(pg, g, user) -> bool:
    return pg.sim.member(g.chat, user)["status"] == "restricted"


# --- effects ------------------------------------------------------------------------------------------------

async def test_a_named_violation_is_counted_once_per_message_and_escalates_within_its_window(pg, group):
    g = group
    await add(pg, g, 'when message or edit and words "scam" then violation scam, continue')
    await add(pg, g, "when violations scam >= 2 within 1h then mute 1h")
    first = pg.sim.send(g.alice, "scam one", g.chat)
    await pg.settle()
    pg.sim.edit(g.alice, first, "scam one, edited")  # the same message again: not a second violation
    await pg.settle()
    assert await violations(pg, g, g.alice, "scam") == 1 and not muted(pg, g, g.alice)
    pg.sim.send(g.alice, "scam two", g.chat)
    await pg.settle()
    assert await violations(pg, g, g.alice, "scam") == 2 and muted(pg, g, g.alice)
    actions = [e.action for e in await pg.services.moderation.modlog(g.chat.id, g.alice.id)]
    assert actions == ["mute", "violation", "violation"]
    # Bob's two are two hours apart: never two within the hour.
    pg.sim.send(g.bob, "scam", g.chat)
    await pg.settle()
    pg.clock.advance(hours=2)
    pg.sim.send(g.bob, "scam", g.chat)
    await pg.settle()
    assert await violations(pg, g, g.bob, "scam") == 2 and not muted(pg, g, g.bob)


async def test_reset_clears_a_named_counter(pg, group):
    g = group
    await add(pg, g, 'when message and words "scam" then violation scam')
    await add(pg, g, 'when message and words "sorry" then reset scam')
    for text in ("scam", "scam again"):
        pg.sim.send(g.alice, text, g.chat)
        await pg.settle()
    assert await violations(pg, g, g.alice, "scam") == 2
    pg.sim.send(g.alice, "sorry", g.chat)
    await pg.settle()
    assert await violations(pg, g, g.alice, "scam") == 0
    assert [e.action for e in await pg.services.moderation.modlog(g.chat.id, g.alice.id)][0] == "reset"


async def test_a_badge_is_awarded_once(pg, group):
    g = group
    await add(pg, g, 'when message and words "thanks" then badge helper')
    for text in ("thanks!", "thanks again"):
        pg.sim.send(g.alice, text, g.chat)
        await pg.settle()
    assert "helper" in await badges(pg, g, g.alice)
    assert "Helper" in await say(pg, g.alice, "/badges", g.chat)
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM badges WHERE chat_id = ? AND badge = 'helper'", (g.chat.id,)) == 1


async def test_give_and_take_a_community_role_never_lower_anyone(pg, group):
    g = group
    await add(pg, g, 'when message and words "hello" then give spreader')
    await add(pg, g, 'when message and words "bye" then take spreader')
    pg.sim.send(g.alice, "hello", g.chat)
    await pg.settle()
    assert await role(pg, g, g.alice) == "spreader"
    assert "Activator" in await say(pg, g.owner, "/setrole @bob activator", g.chat)
    pg.sim.send(g.bob, "hello", g.chat)  # an activator is above spreader: give never lowers anyone
    pg.sim.send(g.bob, "bye", g.chat)  # and take only takes the role it names
    pg.sim.send(g.admin, "hello", g.chat)  # admins: Telegram's role, untouched
    pg.sim.send(g.alice, "bye", g.chat)
    await pg.settle()
    assert await role(pg, g, g.bob) == "activator" and await role(pg, g, g.alice) is None
    assert await role(pg, g, g.admin) is None
    audit = await pg.services.db.fetchall("SELECT change, role, reason FROM role_audit WHERE chat_id = ? AND target_id = ?"
                                          " ORDER BY id", (g.chat.id, g.alice.id))
    assert [(r[0], r[1]) for r in audit] == [("set", "spreader"), ("unset", "spreader")]
    assert audit[0][2].startswith("rule ")


async def test_points_are_ledger_rows_and_a_deduction_they_cannot_pay_is_skipped(pg, group):
    g = group
    await add(pg, g, 'when message and words "good" then points +7, badge good')
    await add(pg, g, 'when message and words "bad" then points -50, badge bad')
    pg.sim.send(g.alice, "good", g.chat)
    pg.sim.send(g.alice, "bad", g.chat)  # 7 points cannot pay 50: that effect is skipped, the badge stands
    await pg.settle()
    assert await rule_rows(pg, g, g.alice) == [("points", 7)]
    assert (await pg.services.points.ledger.wallet(g.chat.id, g.alice.id)).points == 7
    assert {"good", "bad"} <= await badges(pg, g, g.alice)
    await consistent(pg)


async def test_notify_tells_the_admins_who_started_sticky_privately(pg, group):
    g = group
    await say(pg, g.admin, "/start")
    name = await add(pg, g, 'when message and words "help" then notify, delete')
    spam = pg.sim.send(g.alice, "help me", g.chat)
    await pg.settle()
    assert deleted(pg, spam)
    [notice] = [m for m in pg.sim.replies(g.admin) if "fired" in m.get("text", "")]
    assert notice["text"].startswith(f"🔔 Tea Lovers: rule {name} fired for Alice on a message.")
    assert "Done: message deleted" in notice["text"]
    assert not any("fired" in m.get("text", "") for m in pg.sim.replies(g.owner))  # never started Sticky
    assert "notify" in [e.action for e in await pg.services.moderation.modlog(g.chat.id)]


async def test_one_decision_is_one_transaction_and_telegram_acts_only_after_it(pg, group, monkeypatch):
    g = group
    await add(pg, g, 'when message and words "boom" then delete, violation boom, points +5, badge boom, mute 1h')

    async def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(PointsRepo, "award_badge", staticmethod(broken))
    boom = pg.sim.send(g.alice, "boom", g.chat)
    await pg.settle()
    # Nothing of the decision was written, and Telegram was not told to do anything.
    assert await violations(pg, g, g.alice, "boom") == 0
    assert await rule_rows(pg, g, g.alice) == []
    assert await pg.services.moderation.modlog(g.chat.id) == []
    assert not deleted(pg, boom) and not muted(pg, g, g.alice)
    monkeypatch.undo()
    again = pg.sim.send(g.alice, "boom", g.chat)
    await pg.settle()
    assert deleted(pg, again) and muted(pg, g, g.alice)
    assert await violations(pg, g, g.alice, "boom") == 1 and await rule_rows(pg, g, g.alice) == [("points", 5)]
    await consistent(pg)


# --- triggers -----------------------------------------------------------------------------------------------

async def test_join_triggers_rules(pg, group):
    g = group
    await add(pg, g, 'when join then points +5, reply "Welcome! Read /rules first."')
    dave = pg.sim.user("dave")
    pg.sim.join(g.chat, dave)
    updates = pg.sim.take_updates()
    await pg.deliver(updates)
    await pg.deliver(updates)  # Telegram delivers the join again (a restart, a retry): one event
    await pg.settle()
    assert await rule_rows(pg, g, dave) == [("points", 5)]
    assert [m["text"] for m in pg.sim.replies(g.chat)].count("Welcome! Read /rules first.") == 1
    # The rule's reply, beside the group's welcome (every join gets one, once).
    assert "Welcome! Read /rules first." in [m.get("text") for m in pg.sim.replies(g.chat)[-2:]]
    assert [m["text"] for m in pg.sim.replies(g.chat)].count("Welcome to Tea Lovers, Dave! Say hello to everyone.") == 1
    pg.sim.leave(g.chat, dave)
    pg.sim.join(g.chat, dave)  # a rejoin is a new join, but the same award once per join update
    await pg.settle()
    assert [r[1] for r in await rule_rows(pg, g, dave)] == [5, 5]
    await consistent(pg)


async def test_a_join_cut_off_between_its_member_row_and_the_rules_is_told_after_the_restart(pg, group, monkeypatch):
    """kill -9 right after the member row's commit, before the rules engine heard of the join: the restart handles the
    join again, and the rules and the newcomer spotlight hear it then — once, however often Telegram delivers it."""
    g = group
    await add(pg, g, 'when join then points +5, reply "Welcome! Read /rules first."')
    await say(pg, g.owner, "/set spotlight_messages 3", g.chat)
    await say(pg, g.owner, "/start")  # so that the spotlight can reach them in private
    dave = pg.sim.user("dave")
    pg.sim.join(g.chat, dave)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)

    async def killed(event):
        raise Killed()

    monkeypatch.setattr(pg.services.members, "rule_events", killed)
    await pg.services.inbox.receive(updates)
    with pytest.raises(Killed):
        await pg.app.process_update(Update.de_json(updates[0], pg.app.bot))
    assert (await pg.services.members.members.get(g.chat.id, dave.id)).status == "member"  # the row was committed
    monkeypatch.undo()

    await crash(pg)
    await pg.settle()
    assert await rule_rows(pg, g, dave) == [("points", 5)]
    for text in ("hello all", "glad to be here", "what a nice group"):
        pg.clock.advance(seconds=5)
        pg.sim.send(dave, text, g.chat)
        await pg.settle()
    await pg.deliver(updates)  # Telegram delivers the join again: nothing twice
    await pg.settle()
    assert await rule_rows(pg, g, dave) == [("points", 5)]
    assert [m["text"] for m in pg.sim.replies(g.chat)].count("Welcome! Read /rules first.") == 1
    flagged = [m["text"] for m in pg.sim.replies(g.owner) if "spotlight" in m.get("text", "")]
    assert len(flagged) == 1 and "Dave joined and sent 3 messages" in flagged[0]
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM spotlights WHERE user_id = ?", (dave.id,)) == 1
    await consistent(pg)


async def test_a_join_rule_applied_before_a_kill_is_not_applied_again_when_the_join_is_handled_again(pg, group, monkeypatch):
    """kill -9 right after the rules engine applied a join (award booked, reply sent), before the commit that marks the
    join update handled: the restart handles the join again, and the rule is not applied again — its reply is sent
    once, its award booked once (a join is a once-only event in rule_events_done, like an inactivity crossing). Join
    marks are pruned by age with the inbox's handled rows; the inactivity marks stay."""
    g = group
    await add(pg, g, 'when join then points +5, reply "Welcome! Read /rules first."')
    dave = pg.sim.user("dave")
    pg.sim.join(g.chat, dave)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    real = pg.services.members.rule_events

    async def heard_then_killed(event):
        await real(event)
        raise Killed()

    monkeypatch.setattr(pg.services.members, "rule_events", heard_then_killed)
    await pg.services.inbox.receive(updates)
    with pytest.raises(Killed):
        await pg.app.process_update(Update.de_json(updates[0], pg.app.bot))
    monkeypatch.undo()
    welcome = "Welcome! Read /rules first."
    assert [m["text"] for m in pg.sim.replies(g.chat)].count(welcome) == 1
    assert await rule_rows(pg, g, dave) == [("points", 5)]

    await crash(pg)
    await pg.settle()  # the join, never marked handled, is handled again from the inbox
    await pg.deliver(updates)  # and Telegram delivers it again: nothing twice either
    await pg.settle()
    assert [m["text"] for m in pg.sim.replies(g.chat)].count(welcome) == 1
    assert await rule_rows(pg, g, dave) == [("points", 5)]
    await consistent(pg)

    marks = "SELECT COUNT(*) FROM rule_events_done WHERE chat_id = ? AND event_key LIKE ?"
    assert await pg.services.db.fetchval(marks, (g.chat.id, "join:%")) == 1
    async with pg.services.db.transaction() as tx:  # an inactivity crossing's mark, as a pass writes it
        await tx.execute("INSERT INTO rule_events_done(chat_id, user_id, event_key, at) VALUES (?, ?, 'inactive:7:x', ?)",
                         (g.chat.id, g.bob.id, "2000-01-01T00:00:00+00:00"))
        await tx.execute("INSERT INTO rule_events_done(chat_id, user_id, event_key, at) VALUES (?, ?, 'dry:join:1', ?)",
                         (g.chat.id, g.carol.id, iso(pg.clock.now())))  # a dry run's join mark
    assert await pg.services.rules.prune_marks() == 0  # fresh join marks stay
    pg.clock.advance(days=2, seconds=1)
    await app_module.job_prune_inbox(BotContext(pg.app))  # the hourly pruning
    assert await pg.services.db.fetchval(marks, (g.chat.id, "join:%")) == 0
    assert await pg.services.db.fetchval(marks, (g.chat.id, "dry:join:%")) == 0
    assert await pg.services.db.fetchval(marks, (g.chat.id, "inactive:%")) == 1


async def test_checkin_triggers_rules_once_a_day(pg, group):
    g = group
    await add(pg, g, "when checkin and role < admin then badge early_bird, xp +3")
    await say(pg, g.alice, "/checkin", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)  # refused: already checked in; no second event
    assert "early_bird" in await badges(pg, g, g.alice)
    assert await rule_rows(pg, g, g.alice) == [("xp", 3)]


async def test_a_confirmed_referral_triggers_rules_for_the_inviter(pg, group):
    g = group
    await add(pg, g, "when referral then points +25, badge recruiter")
    await confirmed_invitee(pg, g, g.alice)
    assert ("points", 25) in await rule_rows(pg, g, g.alice)
    assert "recruiter" in await badges(pg, g, g.alice)
    await consistent(pg)


async def test_a_tier_reached_by_a_referral_triggers_rules(pg, group):
    g = group
    await add(pg, g, 'when message and words "almost" then xp +190')
    await add(pg, g, "when tier and tier >= silver then badge climber")
    pg.sim.send(g.alice, "almost there", g.chat)  # 190 XP: still bronze (silver is 200)
    await pg.settle()
    assert "climber" not in await badges(pg, g, g.alice)
    await confirmed_invitee(pg, g, g.alice)  # the referral's 20 XP makes her silver
    assert "climber" in await badges(pg, g, g.alice)


async def test_reaching_a_tier_triggers_rules(pg, group):
    g = group
    await add(pg, g, 'when message and words "boost" then xp +250')
    await add(pg, g, "when tier and tier >= silver then give spreader, points +10")
    pg.sim.send(g.alice, "boost", g.chat)
    await pg.settle()
    assert await role(pg, g, g.alice) == "spreader"
    assert await rule_rows(pg, g, g.alice) == [("xp", 250), ("points", 10)]
    pg.sim.send(g.alice, "boost", g.chat)  # still silver: no new tier, no second award
    await pg.settle()
    assert await rule_rows(pg, g, g.alice) == [("xp", 250), ("points", 10), ("xp", 250)]


async def test_warns_by_hand_escalate_through_rules_in_the_same_transaction(pg, group):
    g = group
    await add(pg, g, "when warns >= 2 then badge troublemaker, points -1")
    await say(pg, g.admin, "/warn @alice one", g.chat)
    assert "troublemaker" not in await badges(pg, g, g.alice)
    await say(pg, g.admin, "/warn @alice two", g.chat)
    assert "troublemaker" in await badges(pg, g, g.alice)


async def test_inactivity_is_a_durable_daily_pass(pg, group):
    g = group
    await say(pg, g.owner, "/setrole @alice activator", g.chat)
    await say(pg, g.owner, "/setrole @bob activator", g.chat)
    await add(pg, g, "when inactive 7 days then take activator")
    pending = [w for w in await pg.services.schedules.repo.pending_deferred(g.chat.id) if w.kind == "rules:inactive"]
    assert len(pending) == 1
    await run_job(pg, "schedules:tick")  # the first pass: nobody has been quiet for a week
    assert await role(pg, g, g.alice) == "activator"
    await pg.restart()  # the pass is a row in the database, not a timer in memory
    for day in range(1, 9):
        pg.clock.advance(days=1)
        if day <= 5:
            pg.sim.send(g.bob, "still here", g.chat)
            await pg.settle()
            await run_job(pg, "counters:flush")
        await run_job(pg, "schedules:tick")
    assert await role(pg, g, g.alice) is None  # quiet since the start: taken once the week was up
    assert await role(pg, g, g.bob) == "activator"  # spoke on day 5: quiet for three days only
    pending = [w for w in await pg.services.schedules.repo.pending_deferred(g.chat.id) if w.kind == "rules:inactive"]
    assert len(pending) == 1 and pending[0].due_at > pg.clock.now()


# --- conditions -------------------------------------------------------------------------------------------

async def test_messages_below_n_counts_the_members_real_messages(pg, group):
    g = group
    name = await add(pg, g, "when message and messages < 3 and has link then delete")
    # Alice said hi when the group was made: one message before this one.
    early = pg.sim.send(g.alice, "see https://example.com", g.chat)
    await pg.settle()
    assert deleted(pg, early)
    pg.sim.send(g.alice, "ok, no links", g.chat)
    await pg.settle()
    await run_job(pg, "counters:flush")  # what is written and what is still in memory both count
    pg.clock.advance(minutes=5)
    later = pg.sim.send(g.alice, "now https://example.com", g.chat)
    await pg.settle()
    assert not deleted(pg, later)
    trace = await say(pg, g.admin, "/rule test https://example.com", g.chat)
    assert f"{name} fires" in trace  # a typical member in /rule test has written nothing yet


async def test_messages_below_n_is_kept_in_memory_and_stays_right_across_flushes_a_crash_and_a_restart(pg, group):
    """`messages < N` reads a member's count once, then keeps it in step with what is counted: each later message is
    judged with no read, and the count is the number of messages they really sent whatever was written meanwhile —
    after a counter flush, a kill -9 (the unmarked messages handled again, counted once) and a clean restart."""
    from tests.handlers.test_inbox import crash

    g = group
    await add(pg, g, "when message and messages < 9 and has link then delete")
    # Every message of hers is judged with her count: a rule on the count alone can fire on any message (that it
    # never does here is the count's to say). A plain member's message meets no other rule of the group's, so the
    # rules would not look at her at all.
    await add(pg, g, "when message and messages > 100 then badge chatter")
    sent = 1  # Alice said hi when the group was made
    reads = []

    def spy():
        reads.clear()
        repo = pg.services.rules.repo
        real = repo.facts

        async def facts(chat_id, user_id, with_messages):
            reads.append(with_messages)
            return await real(chat_id, user_id, with_messages)
        repo.facts = facts

    async def count_seen() -> int:
        rules = pg.services.rules
        return (await rules.facts(g.chat.id, g.alice.id, False, pg.clock.now(), messages=True)).messages

    async def chat(n: int) -> None:
        nonlocal sent
        for i in range(n):
            pg.clock.advance(minutes=1)  # no flood
            pg.sim.send(g.alice, f"message {sent + 1}", g.chat)
            sent += 1
        await pg.settle()

    spy()
    await chat(3)
    assert reads.count(True) == 1  # her count was read for the first message only
    assert await count_seen() == sent == 4
    await run_job(pg, "counters:flush")
    assert await count_seen() == sent
    await chat(2)
    assert await count_seen() == sent == 6
    assert reads.count(True) == 1
    await crash(pg)  # their marks (and counts) may not be written: those messages are handled again
    await pg.settle()
    spy()
    assert await count_seen() == sent  # read once after the start, and right
    await chat(1)
    await pg.restart()  # a clean stop: the counters are flushed
    await pg.settle()
    spy()
    assert await count_seen() == sent == 7
    early = pg.sim.send(g.alice, "https://example.com/1", g.chat)  # her 8th message: deleted
    await pg.settle()
    pg.clock.advance(minutes=1)
    late = pg.sim.send(g.alice, "https://example.com/2", g.chat)  # her 9th: stays
    await pg.settle()
    assert deleted(pg, early) and not deleted(pg, late)
    assert reads.count(True) == 1
    assert await pg.services.db.fetchval("SELECT SUM(messages) FROM activity_daily WHERE chat_id = ? AND user_id = ?",
                                         (g.chat.id, g.alice.id)) + pg.services.activity.unwritten(g.chat.id, g.alice.id) == 9


@pytest.mark.parametrize("mode", ["dry", "off"])
async def test_non_message_triggers_follow_the_rules_mode(pg, group, mode):
    g = group
    await add(pg, g, "when checkin then points +4")
    await say(pg, g.owner, f"/set rules_mode {mode}", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)
    assert await rule_rows(pg, g, g.alice) == []
    dry = [e for e in await pg.services.moderation.modlog(g.chat.id) if e.dry]
    assert len(dry) == (1 if mode == "dry" else 0)


async def test_the_rules_see_a_role_change_at_once(pg, group):
    """Members are read once a minute at most on the hot path; whoever changes a role, a status or a tier says so."""
    g = group
    await say(pg, g.admin, "/addblocklist spam", g.chat)
    await add(pg, g, 'when message and role = spreader and words "hello" then badge greeter')
    pg.sim.send(g.alice, "hello", g.chat)  # read as a member, and remembered
    await pg.settle()
    await say(pg, g.owner, "/setrole @alice spreader", g.chat)
    pg.sim.send(g.alice, "hello", g.chat)
    await pg.settle()
    assert "greeter" in await badges(pg, g, g.alice)
    pg.sim.promote(g.chat, g.alice, by=g.owner, can_delete_messages=True)  # Telegram says so: she is an admin now
    await pg.settle()
    own = pg.sim.send(g.alice, "spam", g.chat)
    await pg.settle()
    assert not deleted(pg, own)


async def test_the_default_rules_read_no_member_who_holds_no_role_and_an_activator_still_earns_at_once(pg, group):
    """The default rules' `role = activator` is judged from the group's role map (who holds a role: one read for
    the group, then once a minute at most): the messages of members who hold no role — one who just joined, and
    members not read for minutes — read nothing of them; a member made activator earns the activator XP from their
    next message, and one whose role is taken no more (a role change is seen at once)."""
    g = group
    reads, maps = [], []
    repo = pg.services.rules.repo
    real_facts, real_holders = repo.facts, repo.role_holders

    async def facts(chat_id, user_id, with_messages):
        reads.append(user_id)
        return await real_facts(chat_id, user_id, with_messages)

    async def role_holders(chat_id):
        maps.append(chat_id)
        return await real_holders(chat_id)

    repo.facts, repo.role_holders = facts, role_holders
    newcomer = pg.sim.user("dave")
    pg.sim.join(g.chat, newcomer)
    pg.clock.advance(minutes=2)  # what was read of anyone when the group was made has run out
    for user in (newcomer, g.bob, g.carol, newcomer):
        pg.clock.advance(seconds=5)
        pg.sim.send(user, "good morning", g.chat)
    await pg.settle()
    assert reads == [] and maps == [g.chat.id]
    assert await rule_rows(pg, g, newcomer) == []

    await say(pg, g.owner, "/setrole @carol activator", g.chat)
    pg.clock.advance(seconds=5)
    await say(pg, g.carol, "good morning again", g.chat)
    assert await rule_rows(pg, g, g.carol) == [("xp", 5)]
    await say(pg, g.owner, "/unsetrole @carol activator", g.chat)
    pg.clock.advance(days=1, seconds=5)  # past the rule's cooldown: only the role is missing
    await say(pg, g.carol, "a new day", g.chat)
    assert await rule_rows(pg, g, g.carol) == [("xp", 5)]


async def test_telegram_refusing_a_rules_actions_leaves_the_decision_whole(pg, group):
    """The commit comes first: whatever Telegram then says (message gone, a right missing, 429), what the decision
    wrote stands, nothing crashes, and the next decision acts again."""
    g = group
    await add(pg, g, 'when message and words "boom" then delete, violation boom, points +5, mute 1h')
    pg.sim.set_fail("deleteMessage", 400, "Bad Request: message to delete not found")
    pg.sim.set_fail("restrictChatMember", 400, "Bad Request: not enough rights to restrict/unrestrict chat member")
    pg.sim.send(g.alice, "boom", g.chat)
    await pg.settle()
    assert await violations(pg, g, g.alice, "boom") == 1 and await rule_rows(pg, g, g.alice) == [("points", 5)]
    assert [e.action for e in await pg.services.moderation.modlog(g.chat.id, g.alice.id)] == ["mute", "violation", "delete"]
    assert not muted(pg, g, g.alice)
    pg.sim.flood("restrictChatMember", retry_after=30)  # longer than the port waits
    pg.sim.send(g.bob, "boom", g.chat)
    await pg.settle()
    assert await violations(pg, g, g.bob, "boom") == 1 and not muted(pg, g, g.bob)
    assert not any("went wrong" in (m.get("text") or "") for m in pg.sim.replies(g.chat))
    pg.clock.advance(minutes=1)
    pg.sim.send(g.alice, "boom again", g.chat)  # a mute that never took is no reason to skip the next
    await pg.settle()
    assert muted(pg, g, g.alice) and await violations(pg, g, g.alice, "boom") == 2
    await consistent(pg)


async def test_a_members_facts_are_kept_for_their_ttl_and_then_go_even_when_their_group_goes_quiet(pg, group):
    """The rules' member cache serves a row for MEMBER_TTL, and a row that ran out does not stay in memory for good:
    reads in another group empty a quiet one in turn (a group of 100 never reached the old per-group 1,024-read sweep,
    so at 100,000 members every row read once stayed)."""
    from bot.services.rules import MEMBER_TTL

    g = group
    rules = pg.services.rules
    reads = []
    real = rules.repo.facts

    async def facts(chat_id, user_id, with_messages):
        reads.append((chat_id, user_id))
        return await real(chat_id, user_id, with_messages)
    rules.repo.facts = facts
    other_chat = g.chat.id - 1
    pg.clock.advance(seconds=2 * MEMBER_TTL.total_seconds())  # what making the group read has run out

    async def read(chat_id, user_id):
        return await rules.facts(chat_id, user_id, False, pg.clock.now(), messages=False)

    await read(g.chat.id, g.alice.id)
    await read(g.chat.id, g.alice.id)
    assert reads == [(g.chat.id, g.alice.id)]  # the second came from memory
    pg.clock.advance(seconds=MEMBER_TTL.total_seconds() / 2)
    await read(other_chat, g.bob.id)
    await read(g.chat.id, g.alice.id)
    assert reads == [(g.chat.id, g.alice.id), (other_chat, g.bob.id)]  # still kept: inside its TTL
    pg.clock.advance(seconds=MEMBER_TTL.total_seconds())
    await read(other_chat, g.carol.id)  # the quiet group's turn: its run-out row goes, and the emptied group
    assert g.chat.id not in rules._members
    assert set(rules._members[other_chat]) == {g.carol.id}  # bob's ran out too
    await read(g.chat.id, g.alice.id)
    assert reads[-1] == (g.chat.id, g.alice.id)  # read again, as before: an expired row was never served


async def test_a_raid_of_changed_members_does_not_grow_the_role_map_and_it_stays_right(pg, group):
    """The role map notes each member whose role or status changed until they are read again; past ROLE_UNSURE_MAX
    of them (a raid of joins in a group that is not talking) the map goes and is read again at the next message, so
    what it holds stays small — and an activator among the changed still earns their XP."""
    from bot.services.rules import ROLE_UNSURE_MAX

    g = group
    rules = pg.services.rules
    await say(pg, g.owner, "/setrole @carol activator", g.chat)
    pg.sim.send(g.bob, "morning", g.chat)  # the group's map is kept (bob's message needs it)
    await pg.settle()
    assert g.chat.id in rules._roles
    for n in range(ROLE_UNSURE_MAX + 5):
        rules.forget_member(g.chat.id, 10_000_000 + n)  # what every join says
    held = rules._roles.get(g.chat.id)
    assert held is None or len(held.unsure) <= ROLE_UNSURE_MAX
    pg.clock.advance(seconds=5)
    await say(pg, g.carol, "good morning", g.chat)
    assert await rule_rows(pg, g, g.carol) == [("xp", 5)]
    assert len(rules._roles[g.chat.id].unsure) < ROLE_UNSURE_MAX


async def test_a_tier_crossed_by_chat_xp_written_with_a_rules_xp_is_reached_once(pg, group):
    """A rule gives a message XP, and the message's own chat XP is written in that rule's commit (the one that marks
    it handled): the tier the chat XP crosses is reached once, so the tier's rules answer once."""
    g = group
    await pg.services.points.flush_chat_xp()
    pg.clock.advance(minutes=5)  # past Alice's chat-XP cooldown
    xp = (await pg.services.points.ledger.wallet(g.chat.id, g.alice.id)).xp
    await add(pg, g, f'when message and words "almost" then xp +{199 - xp}')  # silver is 200
    await add(pg, g, 'when tier and tier >= silver then reply "Silver at last"')
    pg.sim.send(g.alice, "almost there", g.chat)  # 199 by the rule, then 201 by chatting
    await pg.settle()
    await pg.services.points.flush_chat_xp()
    await pg.settle()
    assert (await pg.services.points.ledger.wallet(g.chat.id, g.alice.id)).xp == 199 + pg.config.points.chat_xp.xp_per_message
    assert [m.get("text") for m in pg.sim.replies(g.chat)].count("Silver at last") == 1
