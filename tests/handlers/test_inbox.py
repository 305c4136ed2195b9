"""The inbox through the real Application: an update Telegram delivers again after a restart is not handled again
(chat XP, activity counts, replies included), and what was received but not handled before a stop is handled
first at the next start, in order."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
from telegram import Update

from bot.app import ALLOWED_UPDATES
from bot.checks import ledger_matches_wallets
from storage.db import iso
from tests.handlers.funnel_helpers import join, link_of, referrals, run_job
from tests.helpers import say, tick


async def snapshot(pg, chat) -> dict:
    db = pg.services.db
    return {
        "activity": [tuple(r) for r in await db.fetchall(
            "SELECT user_id, day, messages FROM activity_daily WHERE chat_id = ? ORDER BY user_id, day", (chat.id,))],
        "wallets": [tuple(r) for r in await db.fetchall(
            "SELECT user_id, points, xp FROM wallets WHERE chat_id = ? ORDER BY user_id", (chat.id,))],
        "ledger": (await db.fetchval("SELECT COUNT(*) FROM ledger WHERE chat_id = ?", (chat.id,))),
        "replies": len(pg.sim.replies(chat)),
    }


async def chatter(pg, group) -> list[dict]:
    """Chat, a check-in and a read-only command, each a member's own: the updates as Telegram sent them."""
    cooldown = pg.config.points.chat_xp.cooldown_seconds
    for text in ("good morning", "how is everyone", "tea time"):
        pg.sim.send(group.alice, text, group.chat)
        pg.clock.advance(seconds=cooldown + 1)
    pg.sim.send(group.bob, "/checkin", group.chat)
    pg.sim.send(group.carol, "/help", group.chat)
    return pg.sim.take_updates(ALLOWED_UPDATES)


async def test_updates_delivered_again_after_a_restart_are_not_handled_again(pg, group):
    updates = await chatter(pg, group)
    await pg.deliver(updates)
    await pg.services.points.flush_chat_xp()
    await pg.services.activity.flush()
    await pg.settle()
    before = await snapshot(pg, group.chat)
    assert before["replies"] >= 2 and any(xp for _, _, xp in before["wallets"])
    assert sum(n for _, _, n in before["activity"]) >= 5

    await pg.restart()  # a new process: nothing in memory says these were seen
    await pg.deliver(updates)  # Telegram sends them again (they were never confirmed)
    await pg.services.points.flush_chat_xp()
    await pg.services.activity.flush()
    await pg.settle()
    assert await snapshot(pg, group.chat) == before


async def test_the_same_update_twice_in_one_batch_is_handled_once(pg, group):
    pg.sim.send(group.carol, "/help", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    before = len(pg.sim.replies(group.chat))
    await pg.deliver(updates + updates)
    assert len(pg.sim.replies(group.chat)) == before + 1


async def test_received_but_not_handled_before_a_stop_is_handled_first_at_the_next_start(pg, group):
    await pg.services.points.flush_chat_xp()  # the greetings' XP written, and with it their updates marked handled
    pg.sim.send(group.alice, "/help", group.chat)
    pg.sim.send(group.bob, "/checkin", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.services.inbox.receive(updates)  # recorded, then the process died before handling them
    assert (await pg.services.inbox.repo.counts())[0] == 2

    await pg.restart()
    await pg.settle()  # the application handles what it recovered before anything new
    texts = [m.get("text", "") for m in pg.sim.replies(group.chat)][-2:]
    assert texts[0].startswith("Commands for you")
    assert "Bob checked in" in texts[1]
    assert (await pg.services.inbox.repo.counts())[0] == 0

    # Telegram had not been told: it delivers both again, and nothing happens twice.
    replies = len(pg.sim.replies(group.chat))
    await pg.deliver(updates)
    await pg.settle()
    assert len(pg.sim.replies(group.chat)) == replies
    ledger = await pg.services.db.fetchall(
        "SELECT reason FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = 'checkin' AND currency = 'points'",
        (group.chat.id, group.bob.id),
    )
    assert len(ledger) == 1


async def test_an_update_that_changes_nothing_is_marked_before_its_answer_goes_out(pg, group):
    pg.sim.send(group.carol, "/help", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    pg.sim.network_error("sendMessage")  # the answer never arrives: as if the process died while sending it
    await pg.services.inbox.receive(updates)
    update = Update.de_json(updates[0], pg.app.bot)
    await pg.app.process_update(update)  # no finished(), no timer: only what happened before the send counts
    row = await pg.services.db.fetchone("SELECT handled_at FROM inbox WHERE update_id = ?", (update.update_id,))
    assert row["handled_at"] is not None
    await pg.restart()
    replies = len(pg.sim.replies(group.chat))
    await pg.deliver(updates)  # redelivered after the "crash": not answered a second time
    assert len(pg.sim.replies(group.chat)) == replies


async def test_a_webhook_update_is_recorded_before_the_put_returns_and_handled_once(pg, group):
    # PTB's webhook handler answers Telegram's POST with 200 only after update_queue.put returned.
    pg.sim.send(group.carol, "/help", group.chat)
    [data] = pg.sim.take_updates(ALLOWED_UPDATES)
    replies = len(pg.sim.replies(group.chat))
    await pg.app.update_queue.put(Update.de_json(data, pg.app.bot))
    row = await pg.services.db.fetchone("SELECT payload FROM inbox WHERE update_id = ?", (data["update_id"],))
    assert row is not None  # recorded (and due) before Telegram could be told it arrived
    await pg.settle()
    assert len(pg.sim.replies(group.chat)) == replies + 1
    await pg.app.update_queue.put(Update.de_json(data, pg.app.bot))  # Telegram retries the POST
    await pg.settle()
    assert len(pg.sim.replies(group.chat)) == replies + 1


async def crash(pg) -> None:
    """kill -9, in-process: nothing kept in memory is written (no counter flush, no queued mark); then a new start
    on the same database. What was committed stands, and what is unhandled in the inbox is handled first."""
    inbox = pg.services.inbox
    if inbox._timer is not None:
        inbox._timer.cancel()
    await pg.app.stop()
    await pg.app.shutdown()  # PTB's own; post_stop and post_shutdown (the flushes) never run
    await pg.services.db.close()
    pg.started = False
    pg.app = pg._build()
    await pg.start()


async def counted(pg, chat, user) -> tuple[int, int]:
    """(messages counted, chat XP booked) for one member."""
    db = pg.services.db
    messages = await db.fetchval("SELECT COALESCE(SUM(messages), 0) FROM activity_daily WHERE chat_id = ? AND user_id = ?",
                                 (chat.id, user.id))
    xp = await db.fetchval("SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = 'chat'"
                           " AND currency = 'xp'", (chat.id, user.id))
    return messages, xp


async def flush(pg) -> None:
    await pg.services.activity.flush()
    await pg.services.points.flush_chat_xp()


async def test_a_flush_while_a_message_is_handled_never_writes_its_counts_without_its_mark(pg, group):
    """The window between a counter flush and the inbox mark: a flush that runs while a message is still being handled
    (its later handlers awaiting) must not write what it counted, or a crash before its mark would count it twice
    after the restart."""
    await flush(pg)
    pg.clock.advance(minutes=5)  # past Alice's chat-XP cooldown
    before = await counted(pg, group.chat, group.alice)
    pg.sim.send(group.alice, "a message worth counting", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.services.inbox.receive(updates)
    await pg.app.process_update(Update.de_json(updates[0], pg.app.bot))  # handled up to its end, not finished yet
    await flush(pg)  # the flush that ran meanwhile
    await crash(pg)  # before the message's mark was written
    assert await counted(pg, group.chat, group.alice) == before  # nothing of it was written
    await pg.settle()  # the restart handles it again, from the inbox
    await flush(pg)
    messages, xp = await counted(pg, group.chat, group.alice)
    assert (messages, xp) == (before[0] + 1, before[1] + pg.config.points.chat_xp.xp_per_message)  # exactly once


async def test_a_message_counted_and_flushed_is_marked_in_the_same_commit_and_never_counted_again(pg, group):
    await flush(pg)
    pg.clock.advance(minutes=5)
    before = await counted(pg, group.chat, group.alice)
    pg.sim.send(group.alice, "counted once", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.services.inbox.receive(updates)
    await pg.app.process_update(Update.de_json(updates[0], pg.app.bot))
    pg.services.inbox.finished(updates[0]["update_id"])
    inbox = pg.services.inbox
    inbox._timer.cancel()  # no mark of its own: only the flush's commit can carry it
    inbox._timer = None
    await flush(pg)
    row = await pg.services.db.fetchone("SELECT handled_at FROM inbox WHERE update_id = ?", (updates[0]["update_id"],))
    assert row["handled_at"] is not None
    after = await counted(pg, group.chat, group.alice)
    assert after == (before[0] + 1, before[1] + pg.config.points.chat_xp.xp_per_message)
    await crash(pg)
    await pg.deliver(updates)  # Telegram sends it again
    await pg.settle()
    await flush(pg)
    assert await counted(pg, group.chat, group.alice) == after


async def test_a_handled_message_keeps_its_counts_through_a_crash_and_a_redelivery_counts_none(pg, group):
    """A message's counts are written in the commit that marks it handled, so a crash right after that commit
    loses none of them (they used to wait in memory for the counters' batch: up to a flush interval lost), and
    Telegram sending it again after the restart counts nothing twice."""
    await flush(pg)
    messages_before, _ = await counted(pg, group.chat, group.alice)
    hourly = "SELECT COALESCE(SUM(n), 0) FROM stats_hourly WHERE chat_id = ? AND metric = 'messages'"
    hours_before = await pg.services.db.fetchval(hourly, (group.chat.id,))
    pg.sim.send(group.alice, "kept", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.services.inbox.receive(updates)
    await pg.app.process_update(Update.de_json(updates[0], pg.app.bot))
    pg.services.inbox.finished(updates[0]["update_id"])
    await pg.services.inbox.repo.flush()  # a commit that happens anyway (a received batch, a check-in) writes its mark
    assert pg.services.activity.pending == 0  # nothing of it waits in memory any more
    await crash(pg)  # no counter batch ran
    assert (await counted(pg, group.chat, group.alice))[0] == messages_before + 1
    assert await pg.services.db.fetchval(hourly, (group.chat.id,)) == hours_before + 1
    await pg.deliver(updates)  # Telegram sends it again
    await pg.settle()
    await flush(pg)
    assert (await counted(pg, group.chat, group.alice))[0] == messages_before + 1


async def test_chat_xp_of_a_message_whose_handling_committed_before_the_counters_survives_a_crash(pg, group):
    """A check-in word is a check-in (its commit marks the update handled) and a chat message (its XP is decided
    after that commit): that XP used to wait for the counters' batch, so a kill in the next flush interval lost it
    while the inbox said the message was handled. It is booked at once, and a redelivery books nothing again."""
    async def say(user, text):
        pg.sim.send(user, text, group.chat)
        updates = pg.sim.take_updates(ALLOWED_UPDATES)
        await pg.deliver(updates)
        await pg.settle()
        return updates

    await say(group.owner, "/set checkin_words on")
    await flush(pg)
    pg.clock.advance(minutes=5)
    before = await counted(pg, group.chat, group.alice)
    updates = await say(group.alice, "checkin")
    await crash(pg)  # no counter batch ran
    kept = await counted(pg, group.chat, group.alice)
    assert kept == (before[0] + 1, before[1] + pg.config.points.chat_xp.xp_per_message)
    await pg.deliver(updates)  # Telegram sends it again
    await pg.settle()
    await flush(pg)
    assert await counted(pg, group.chat, group.alice) == kept


def dies_after_marking(pg, monkeypatch, update_id: int) -> None:
    """kill -9 in the instant after the commit that marks this update handled returns: from then on the process
    writes nothing (each later write fails, as nothing a dead process meant to write ever reaches the disk)."""
    db, repo = pg.services.db, pg.services.inbox.repo
    dead = False
    after_commit, write, transaction = repo.after_commit, db.write, db.transaction

    def marked(written, committed):
        nonlocal dead
        after_commit(written, committed)
        dead = dead or (committed and update_id in written.token)

    async def dead_write(*args):
        if dead:
            raise sqlite3.OperationalError("the process is dead")
        return await write(*args)

    def dead_transaction():
        if dead:
            raise sqlite3.OperationalError("the process is dead")
        return transaction()

    monkeypatch.setattr(repo, "after_commit", marked)
    monkeypatch.setattr(db, "write", dead_write)
    monkeypatch.setattr(db, "transaction", dead_transaction)


async def checkins(pg, chat, user) -> int:
    return await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = 'checkin'"
                                         " AND currency = 'points'", (chat.id, user.id))


async def killed_after_marking_then_redelivered(pg, monkeypatch, user, text, chat, reply_to=None) -> None:
    """`text` from `user`, handled up to the instant after the commit that marks it handled, then kill -9; a new
    process on the same database, and Telegram delivering the message again (it was never confirmed)."""
    sent = pg.sim.send(user, text, chat, reply_to=reply_to)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    dies_after_marking(pg, monkeypatch, updates[0]["update_id"])
    await pg.deliver(updates)
    await pg.settle()
    await crash(pg)
    await pg.deliver(updates)
    await pg.settle()
    await flush(pg)
    return sent


async def test_a_check_in_word_killed_right_after_its_commit_keeps_its_chat_xp_and_its_check_in_once(pg, group, monkeypatch):
    """A check-in word checks in (that commit marks its update handled) and earns chat XP: the XP is written in that
    very commit, so a kill right after it loses nothing, and the redelivery books nothing twice."""
    await say(pg, group.owner, "/set checkin_words on", group.chat)
    await flush(pg)
    pg.clock.advance(minutes=5)  # past Alice's chat-XP cooldown
    before = await counted(pg, group.chat, group.alice)
    await killed_after_marking_then_redelivered(pg, monkeypatch, group.alice, "checkin", group.chat)
    assert await counted(pg, group.chat, group.alice) == (before[0] + 1, before[1] + pg.config.points.chat_xp.xp_per_message)
    assert await checkins(pg, group.chat, group.alice) == 1
    assert await ledger_matches_wallets(pg.services.db) == []


@pytest.mark.parametrize("then", ['reply "You are welcome"', "points +3"])
async def test_a_message_a_rule_answered_killed_right_after_the_rules_commit_keeps_its_chat_xp_once(pg, group, monkeypatch, then):
    """A rule that answers a message (a reply, points) commits before the message's chat XP would be decided: the
    XP is decided first and written in that commit, so a kill right after it loses nothing, and the redelivery
    books nothing twice (nor the rule's points)."""
    await say(pg, group.admin, f'/rule add when message and words "thanks" then {then}', group.chat)
    await flush(pg)
    pg.clock.advance(minutes=5)
    before = await counted(pg, group.chat, group.alice)
    await killed_after_marking_then_redelivered(pg, monkeypatch, group.alice, "thanks a lot", group.chat)
    assert await counted(pg, group.chat, group.alice) == (before[0] + 1, before[1] + pg.config.points.chat_xp.xp_per_message)
    if then.startswith("reply"):
        assert [m.get("text") for m in pg.sim.replies(group.chat)].count("You are welcome") == 1
    else:
        assert await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = 'rule_award'",
                                             (group.chat.id, group.alice.id)) == 1
    assert await ledger_matches_wallets(pg.services.db) == []


async def test_a_check_in_word_and_a_rule_answer_book_their_chat_xp_once_when_nothing_fails(pg, group):
    await say(pg, group.owner, "/set checkin_words on", group.chat)
    await say(pg, group.admin, '/rule add when message and words "thanks" then points +3', group.chat)
    await flush(pg)
    pg.clock.advance(minutes=5)
    before = await counted(pg, group.chat, group.alice)
    assert "checked in" in await say(pg, group.alice, "checkin", group.chat)
    pg.clock.advance(minutes=5)
    await say(pg, group.alice, "thanks everyone", group.chat)
    await flush(pg)
    assert await counted(pg, group.chat, group.alice) == (before[0] + 2, before[1] + 2 * pg.config.points.chat_xp.xp_per_message)
    assert await checkins(pg, group.chat, group.alice) == 1
    assert await ledger_matches_wallets(pg.services.db) == []


async def test_a_message_a_rule_could_not_delete_books_its_chat_xp_once_through_a_crash(pg, group):
    """The one message whose XP is decided after a commit of its handling: a rule meant to delete it (so nothing was
    decided before that commit) and Telegram did not let Sticky, so it stays and earns. Its XP is booked at once,
    keyed by the update: a crash after its handling keeps it, and the redelivery books nothing again."""
    await say(pg, group.admin, '/rule add when message and words "spam" then delete', group.chat)
    pg.sim.promote(group.chat, pg.sim.bot, by=group.owner, can_restrict_members=True, can_delete_messages=False)
    await flush(pg)
    pg.clock.advance(minutes=5)
    before = await counted(pg, group.chat, group.alice)
    pg.sim.send(group.alice, "spam spam", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.deliver(updates)
    await pg.settle()
    await crash(pg)  # no counter batch ran
    kept = await counted(pg, group.chat, group.alice)
    assert kept == (before[0] + 1, before[1] + pg.config.points.chat_xp.xp_per_message)
    await pg.deliver(updates)
    await pg.settle()
    await flush(pg)
    assert await counted(pg, group.chat, group.alice) == kept
    assert await ledger_matches_wallets(pg.services.db) == []


async def test_chat_xp_held_past_its_bound_is_written_with_its_marks_before_the_flush_and_survives_a_crash(pg, group, monkeypatch):
    """Updates whose chat XP waits for the counters' flush keep their handled marks and message counts in memory;
    past points.HELD_MAX of them they are written at once, as the flush writes them (XP, counts and marks in one
    commit): a burst between two flushes cannot grow that memory without bound. A crash then loses none of what was
    written, and Telegram sending everything again counts none of it twice."""
    from bot.services import points as points_module

    monkeypatch.setattr(points_module, "HELD_MAX", 3)
    await flush(pg)
    pg.clock.advance(minutes=5)  # past everyone's chat-XP cooldown
    xp = pg.config.points.chat_xp.xp_per_message
    members = [group.alice, group.bob, group.carol, group.admin]
    before = {m.id: await counted(pg, group.chat, m) for m in members}
    for member in members:
        pg.sim.send(member, "a burst of chat", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.deliver(updates[:3])
    await pg.services.points.idle()  # the third held update's XP started the early write; no flush has run
    await pg.deliver(updates[3:])  # one held: below the bound, it waits for the flush
    marked = "SELECT update_id FROM inbox WHERE handled_at IS NOT NULL AND update_id = ?"
    written = []
    for member, update in zip(members, updates):  # written and marked together, or neither
        now = await counted(pg, group.chat, member)
        is_marked = await pg.services.db.fetchval(marked, (update["update_id"],)) is not None
        assert now == ((before[member.id][0] + 1, before[member.id][1] + xp) if is_marked else before[member.id])
        written += [member] if is_marked else []
    assert written[:2] == [group.alice, group.bob] and len(written) < len(members)  # the flush writes the rest
    assert pg.services.points.pending_members == len(members) - len(written)
    await crash(pg)
    await pg.deliver(updates)  # Telegram sends the whole burst again
    await pg.settle()
    await flush(pg)
    for member in members:
        assert await counted(pg, group.chat, member) == (before[member.id][0] + 1, before[member.id][1] + xp)
    assert await ledger_matches_wallets(pg.services.db) == []


async def topic_of_the_week(pg, group) -> dict:
    """A topic of the week posted in the group, open for two days, +7 XP for a member's first reply."""
    pg.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc))  # a Monday
    await say(pg, group.owner, "/topics add Green or black?", group.chat)
    await say(pg, group.owner, "/schedule weekly mon 09:00 topic 2d +7", group.chat)
    pg.clock.set(datetime(2026, 11, 30, 9, 0, 1, tzinfo=timezone.utc))
    await tick(pg)
    [topic] = [m for m in pg.sim.replies(group.chat) if m.get("text", "").startswith("💬")]
    return topic


async def topic_xp(pg, chat, user) -> int:
    return await pg.services.db.fetchval("SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE chat_id = ? AND user_id = ?"
                                         " AND reason = 'topic'", (chat.id, user.id))


@pytest.mark.parametrize("then", ['reply "You are welcome"', "points +3"])
async def test_a_topic_reply_a_rule_answered_killed_right_after_the_first_commit_keeps_its_topic_xp_once(pg, group, monkeypatch, then):
    """A reply to the topic of the week that a rule also answers: the rule's commit (or its reply's mark) marks the
    update handled before the topic step runs. The reply and its topic XP are decided before that commit and
    written in it, so a kill right after it loses neither, and the redelivery pays nothing twice."""
    topic = await topic_of_the_week(pg, group)
    await say(pg, group.admin, f'/rule add when message and words "thanks" then {then}', group.chat)
    await flush(pg)
    before = await counted(pg, group.chat, group.alice)
    await killed_after_marking_then_redelivered(pg, monkeypatch, group.alice, "Green, thanks for asking", group.chat, reply_to=topic)
    assert await topic_xp(pg, group.chat, group.alice) == 7
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM topic_replies WHERE user_id = ?", (group.alice.id,)) == 1
    assert await counted(pg, group.chat, group.alice) == (before[0] + 1, before[1] + pg.config.points.chat_xp.xp_per_message)
    assert await ledger_matches_wallets(pg.services.db) == []


async def test_a_topic_reply_and_a_referral_count_are_written_once_with_their_mark_when_nothing_fails(pg, group):
    """The plain path: a reply to the topic pays once (a second reply nothing), a newcomer's message counts once
    toward their referral and confirms it, and a redelivery after a restart changes nothing."""
    topic = await topic_of_the_week(pg, group)
    dave = await join(pg, group.chat, link=await link_of(pg, group, group.alice))
    pg.clock.advance(hours=24)
    pg.sim.send(group.alice, "Green", group.chat, reply_to=topic)
    pg.sim.send(group.alice, "and oolong", group.chat, reply_to=topic)
    pg.sim.send(dave, "hello everyone", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.deliver(updates)
    await pg.settle()
    await pg.restart()
    await pg.deliver(updates)
    await pg.settle()
    assert await topic_xp(pg, group.chat, group.alice) == 7
    [ref] = await referrals(pg, group.chat)
    assert (ref["messages"], ref["status"]) == (1, "confirmed")
    assert await ledger_matches_wallets(pg.services.db) == []


async def test_a_newcomers_message_a_rule_answered_killed_right_after_the_first_commit_still_counts_toward_the_referral(pg, group, monkeypatch):
    """A newcomer's message counts toward their pending referral; a rule answering it commits first. The count is
    decided before that commit and written in it: after a kill right after it and the redelivery, the referral has
    its message (and the sweep confirms it) — before, the count was a write of its own after the mark, and lost."""
    dave = await join(pg, group.chat, link=await link_of(pg, group, group.alice))
    await say(pg, group.admin, '/rule add when message and words "thanks" then reply "You are welcome"', group.chat)
    pg.clock.advance(hours=24)
    await killed_after_marking_then_redelivered(pg, monkeypatch, dave, "thanks for having me", group.chat)
    [ref] = await referrals(pg, group.chat)
    assert ref["messages"] == 1
    await run_job(pg, "funnel:sweep")
    assert (await referrals(pg, group.chat))[0]["status"] == "confirmed"
    assert [m.get("text") for m in pg.sim.replies(group.chat)].count("You are welcome") == 1


async def settle_leftovers(pg) -> None:
    """The start's sweep of what a kill left unsettled (no such job before: then nothing runs)."""
    for job in pg.app.job_queue.get_jobs_by_name("rules:stays"):
        await job.run(pg.app)
    await pg.settle()


@pytest.mark.parametrize("can_delete", [False, True])
async def test_a_message_a_rule_means_to_delete_killed_between_the_rules_commit_and_the_deletes_outcome(pg, group, monkeypatch, can_delete):
    """A rule deletes "spam"; what the message would earn by staying (its chat XP, its topic reply, its count toward
    a referral) is stored with the rule's commit, and the kill comes right after it, before the delete's outcome is
    written. At the next start the delete is asked again: refused (no right), the message stays and earns, once;
    deleted (or already gone), it earns nothing — never both, never lost."""
    topic = await topic_of_the_week(pg, group)
    dave = await join(pg, group.chat, link=await link_of(pg, group, group.alice))
    await say(pg, group.admin, '/rule add when message and words "spam" then delete', group.chat)
    if not can_delete:
        pg.sim.promote(group.chat, pg.sim.bot, by=group.owner, can_restrict_members=True, can_delete_messages=False)
        await pg.settle()  # the bot's own change of rights, handled before the message
    await flush(pg)
    pg.clock.advance(hours=24)
    before = await counted(pg, group.chat, dave)
    spam = await killed_after_marking_then_redelivered(pg, monkeypatch, dave, "spam, but green", group.chat, reply_to=topic)
    await settle_leftovers(pg)
    await flush(pg)
    xp = pg.config.points.chat_xp.xp_per_message
    [ref] = await referrals(pg, group.chat)
    if can_delete:
        assert pg.sim.message(group.chat, spam["message_id"]) is None
        assert (await counted(pg, group.chat, dave))[1] == before[1]
        assert (await topic_xp(pg, group.chat, dave), ref["messages"]) == (0, 0)
    else:
        assert pg.sim.message(group.chat, spam["message_id"]) is not None
        assert (await counted(pg, group.chat, dave))[1] == before[1] + xp
        assert (await topic_xp(pg, group.chat, dave), ref["messages"]) == (7, 1)
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM inbox_stays") == 0
    await settle_leftovers(pg)  # once settled, settled
    await flush(pg)
    assert (await counted(pg, group.chat, dave))[1] == before[1] + (0 if can_delete else xp)
    assert await ledger_matches_wallets(pg.services.db) == []


async def test_a_message_a_rule_could_not_delete_earns_once_and_one_it_deleted_nothing_and_keeps_no_cooldown(pg, group):
    """Nothing fails: the delete's outcome settles what the message earns at once. Refused, it stays and earns its
    chat XP and topic reply; deleted, it earns nothing, and the member's next message earns its chat XP as if the
    deleted one had never been sent (its cooldown never started)."""
    topic = await topic_of_the_week(pg, group)
    await say(pg, group.admin, '/rule add when message and words "spam" then delete', group.chat)
    await flush(pg)
    pg.clock.advance(minutes=5)
    xp = pg.config.points.chat_xp.xp_per_message
    before = await counted(pg, group.chat, group.alice)
    await say(pg, group.alice, "spam, green", group.chat, reply_to=topic)
    await say(pg, group.alice, "green, really", group.chat)
    await flush(pg)
    assert await counted(pg, group.chat, group.alice) == (before[0] + 2, before[1] + xp)
    assert await topic_xp(pg, group.chat, group.alice) == 0
    pg.sim.promote(group.chat, pg.sim.bot, by=group.owner, can_restrict_members=True, can_delete_messages=False)
    pg.clock.advance(minutes=5)
    await say(pg, group.alice, "spam, but green", group.chat, reply_to=topic)
    await flush(pg)
    assert (await counted(pg, group.chat, group.alice))[1] == before[1] + 2 * xp
    assert await topic_xp(pg, group.chat, group.alice) == 7
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM inbox_stays") == 0
    assert await ledger_matches_wallets(pg.services.db) == []


LAST_SEEN = "SELECT last_seen_at FROM members WHERE chat_id = ? AND user_id = ?"


async def back_after_a_restart(pg, group) -> list[dict]:
    """A restart (nothing in memory says who is stored), the group heard from once, then alice, bob and carol each
    write: the updates as Telegram sent them, not delivered yet."""
    await pg.restart()
    await say(pg, group.owner, "good morning", group.chat)
    pg.clock.advance(minutes=5)
    for member in (group.alice, group.bob, group.carol):
        pg.sim.send(member, "back again", group.chat)
    return pg.sim.take_updates(ALLOWED_UPDATES)


async def test_who_wrote_a_batch_is_stored_in_the_commit_that_records_it_and_no_message_waits_for_a_write(pg, group):
    """A member's first message (or the first after a restart) stores its sender before the message goes further.
    For the messages of one getUpdates answer that is done in the transaction that records the batch: once it is in
    the inbox its senders are stored, and handling the messages writes no sighting of its own (each used to wait
    for one)."""
    updates = await back_after_a_restart(pg, group)
    db, members = pg.services.db, (group.alice, group.bob, group.carol)
    await pg.services.inbox.receive(updates)  # recorded; nothing handled yet
    now = iso(pg.clock.now())
    assert [await db.fetchval(LAST_SEEN, (group.chat.id, m.id)) for m in members] == [now] * 3
    db.holds.reset()
    await pg.deliver(updates)
    assert "_write_sightings" not in db.holds.kinds()
    await flush(pg)
    assert [(await counted(pg, group.chat, m))[0] for m in members] == [2, 2, 2]  # the hello and this one


async def test_a_batch_whose_senders_cannot_be_stored_with_it_is_recorded_and_handled_all_the_same(pg, group, monkeypatch):
    """Storing the senders with the batch is a saving, never a reason to refuse the batch (Telegram would send it
    again and again): if it fails, the batch is recorded without it and each message stores its sender in its turn."""
    from storage.members import MemberRepo

    def refuse(conn, sightings):
        raise sqlite3.IntegrityError("FOREIGN KEY constraint failed")

    updates = await back_after_a_restart(pg, group)
    monkeypatch.setattr(MemberRepo, "seen_in", staticmethod(refuse))
    db, members = pg.services.db, (group.alice, group.bob, group.carol)
    before = [await db.fetchval(LAST_SEEN, (group.chat.id, m.id)) for m in members]
    assert len(await pg.services.inbox.receive(updates)) == 3  # recorded, all three due
    assert [await db.fetchval(LAST_SEEN, (group.chat.id, m.id)) for m in members] == before
    await pg.deliver(updates)
    now = iso(pg.clock.now())
    assert [await db.fetchval(LAST_SEEN, (group.chat.id, m.id)) for m in members] == [now] * 3
    await flush(pg)
    await pg.services.inbox.flush()
    assert (await pg.services.inbox.repo.counts())[0] == 0  # each handled
    assert [(await counted(pg, group.chat, m))[0] for m in members] == [2, 2, 2]
