"""Telegram's faults on every call an action makes — 429, a network error, a timeout after the call was carried out,
403 (bot kicked, user blocked the bot), "message not found" — through the real Application on the simulator: no
crash, no half-written state, one clear outcome for the user, and never "Something went wrong" after a success."""
from __future__ import annotations

import logging
import time

import pytest

from bot.texts import translator
from bot.texts.core import internal_error
from bot.app import ALLOWED_UPDATES
from handlers.funnel import RESTRICT_RETRY
from tests.handlers.funnel_helpers import can_send, newcomer, pending, press, prompt_message, right, run_job, screening_on, time_out
from tests.handlers.test_shop import balance, buttons, code_item_on_sale, open_confirm, orders, stock
from tests.handlers.test_inbox import crash
from tests.helpers import say

INTERNAL = internal_error(translator("en"))

# Each fault as Telegram (or the network) shows it; `times` large enough that retrying cannot get past it.
FAULTS = {
    "flood": lambda sim, method: sim.flood(method, retry_after=1, times=3),
    "network": lambda sim, method: sim.network_error(method),
    "timeout": lambda sim, method: sim.timeout_after_send(method),
    "kicked": lambda sim, method: sim.set_fail(method, 403, "Forbidden: bot was kicked from the supergroup chat"),
    "blocked": lambda sim, method: sim.set_fail(method, 403, "Forbidden: bot was blocked by the user"),
    "not_found": lambda sim, method: sim.set_fail(method, 400, "Bad Request: message to be replied not found"),
}


def texts_in(pg, place) -> list[str]:
    return [m.get("text", "") for m in pg.sim.replies(place)]


async def checkins(pg, chat, user) -> list[tuple[str, int]]:
    rows = await pg.services.db.fetchall(
        "SELECT l.amount, c.day FROM checkins c JOIN ledger l ON l.chat_id = c.chat_id AND l.user_id = c.user_id"
        " AND l.reason = 'checkin' AND l.currency = 'points' WHERE c.chat_id = ? AND c.user_id = ?", (chat.id, user.id))
    return [(r["day"], r["amount"]) for r in rows]


# ================================================================ check-in


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_checkin_whose_reply_fails_is_booked_once_and_never_reported_as_an_error(pg, group, fault, caplog):
    g = group
    FAULTS[fault](pg.sim, "sendMessage")
    before = texts_in(pg, g.chat)
    with caplog.at_level(logging.WARNING):
        await say(pg, g.alice, "/checkin", g.chat)
    said = texts_in(pg, g.chat)[len(before):]
    assert INTERNAL not in said
    assert await checkins(pg, g.chat, g.alice) == [("2026-03-02", pg.config.points.checkin.base)]
    assert await pg.services.points.ledger.mismatches() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a warning, not an error with a traceback
    assert any("reply in" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    # The answer was sent at most once: a timeout (it went out, the answer was lost) is not sent again.
    assert len([t for t in said if "checked in:" in t]) == (1 if fault == "timeout" else 0)
    # One clear outcome: asking again says it is done.
    assert (await say(pg, g.alice, "/checkin", g.chat)).startswith("You already checked in today")


async def test_a_flood_wait_on_the_reply_is_waited_out_and_the_reply_sent(pg, group):
    pg.sim.flood("sendMessage", retry_after=1, times=2)
    assert "checked in:" in await say(pg, group.alice, "/checkin", group.chat)
    assert [c.error_code for c in pg.sim.calls("sendMessage")][-3:] == [429, 429, None]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_checkin_whose_command_cannot_be_deleted_is_still_answered(pg, group, fault):
    g = group
    await say(pg, g.owner, "/set delete_commands on", g.chat)
    FAULTS[fault](pg.sim, "deleteMessage")
    assert "checked in:" in await say(pg, g.alice, "/checkin", g.chat)
    assert INTERNAL not in texts_in(pg, g.chat)
    assert len(await checkins(pg, g.chat, g.alice)) == 1


# ================================================================ screening


TRANSIENT = ("flood", "network", "timeout")


async def screened_group(pg, g):
    await screening_on(pg, g)
    return g


async def owed(pg, check) -> str | None:
    return (await pg.services.funnel.repo.check(check.id)).action


async def sweep_later(pg) -> None:
    """The funnel sweep, once an undone action is due for another try."""
    pg.clock.advance(seconds=61)
    await run_job(pg, "funnel:sweep")


@pytest.mark.parametrize("fault", ["flood", "network", "timeout"])
async def test_screening_fails_closed_when_telegram_cannot_say_who_joined(pg, group, fault):
    await screened_group(pg, group)
    FAULTS[fault](pg.sim, "getChatMember")
    dave, check = await newcomer(pg, group.chat)
    assert check is not None and not can_send(pg, group.chat, dave)  # checked as if present, restricted
    assert prompt_message(pg, group.chat, check)
    await press(pg, group.chat, dave, check)
    assert can_send(pg, group.chat, dave)


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_a_restriction_telegram_could_not_make_is_retried_until_done(pg, group, fault):
    await screened_group(pg, group)
    FAULTS[fault](pg.sim, "restrictChatMember")
    dave, check = await newcomer(pg, group.chat)
    restricted_now = not can_send(pg, group.chat, dave)
    assert restricted_now == (fault == "timeout")  # a timeout was carried out; the others were not
    assert await owed(pg, check) == "restrict"
    await sweep_later(pg)
    assert not can_send(pg, group.chat, dave) and await owed(pg, check) is None
    await press(pg, group.chat, dave, check)
    assert can_send(pg, group.chat, dave)


async def test_a_newcomer_whose_restriction_keeps_failing_cannot_post_meanwhile(pg, group):
    """Until Telegram makes the restriction, what the newcomer posts is deleted before anything else sees it, and each
    message (at most one every two seconds) tries the restriction again; no waiting for the minute's sweep."""
    await screened_group(pg, group)
    pg.sim.network_error("restrictChatMember", times=2)  # the join's try and the first message's
    dave, check = await newcomer(pg, group.chat)
    assert can_send(pg, group.chat, dave) and await owed(pg, check) == "restrict"  # Telegram did not restrict them
    spam = pg.sim.send(dave, "buy cheap followers", group.chat)
    await pg.settle()
    assert pg.sim.message(group.chat, spam["message_id"]) is None  # deleted
    assert [t for t in texts_in(pg, group.chat) if "followers" in t] == []  # no rule, command or reward answered it
    pg.clock.advance(seconds=3)
    again = pg.sim.send(dave, "/checkin", group.chat)  # a command too: nothing of theirs gets through
    await pg.settle()
    assert pg.sim.message(group.chat, again["message_id"]) is None
    assert await checkins(pg, group.chat, dave) == []
    assert not can_send(pg, group.chat, dave) and await owed(pg, check) is None  # the second message's try made it
    await pg.services.activity.flush()
    assert await pg.services.db.fetchval(  # deleted messages count for nothing (activity, spotlight, chat XP)
        "SELECT COALESCE(SUM(messages), 0) FROM activity_daily WHERE chat_id = ? AND user_id = ?", (group.chat.id, dave.id)) == 0
    await press(pg, group.chat, dave, check)
    assert can_send(pg, group.chat, dave)
    said = pg.sim.send(dave, "hello, I passed", group.chat)  # screened: their messages stay
    await pg.settle()
    assert pg.sim.message(group.chat, said["message_id"]) is not None


async def test_what_a_newcomer_posted_before_the_bot_restricted_them_is_deleted(pg, group):
    """In a raid Telegram delivers a join and the newcomer's first messages together: the bot restricts them at the
    join, and what they got in before it held is deleted, counted and answered by nothing — also after a crash
    between the join and their messages."""
    await screened_group(pg, group)
    dave, erin = pg.sim.user("dave"), pg.sim.user("erin")
    pg.sim.join(group.chat, dave)
    posted = [pg.sim.send(dave, "buy cheap followers", group.chat), pg.sim.send(dave, "/checkin", group.chat)]
    await pg.settle()
    assert not can_send(pg, group.chat, dave) and await pending(pg, group.chat, dave) is not None
    assert [pg.sim.message(group.chat, m["message_id"]) for m in posted] == [None, None]
    assert [t for t in texts_in(pg, group.chat) if "followers" in t or "Streak" in t] == []
    assert await checkins(pg, group.chat, dave) == []
    await pg.services.activity.flush()
    assert await pg.services.db.fetchval(
        "SELECT COALESCE(SUM(messages), 0) FROM activity_daily WHERE chat_id = ? AND user_id = ?", (group.chat.id, dave.id)) == 0

    pg.sim.join(group.chat, erin)
    spam = pg.sim.send(erin, "buy cheap followers", group.chat)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    message = next(u for u in updates if u.get("message", {}).get("message_id") == spam["message_id"])
    await pg.deliver([u for u in updates if u is not message])  # her join
    await pg.settle()
    assert not can_send(pg, group.chat, erin)
    await crash(pg)  # her message is handled by the next process
    await pg.deliver([message])
    await pg.settle()
    assert pg.sim.message(group.chat, spam["message_id"]) is None

    check = await pending(pg, group.chat, dave)
    await press(pg, group.chat, dave, check)
    said = pg.sim.send(dave, "hello, I passed", group.chat)  # screened: their messages stay
    await pg.settle()
    assert pg.sim.message(group.chat, said["message_id"]) is not None


async def test_a_restriction_that_failed_is_tried_again_within_seconds(pg, group):
    await screened_group(pg, group)
    pg.sim.network_error("restrictChatMember")
    dave, check = await newcomer(pg, group.chat)
    assert can_send(pg, group.chat, dave)
    [job] = pg.app.job_queue.get_jobs_by_name(f"restrict:{check.id}")
    assert job.next_t.timestamp() - time.time() <= RESTRICT_RETRY[0]  # PTB's job queue runs on the wall clock
    await run_job(pg, f"restrict:{check.id}")
    assert not can_send(pg, group.chat, dave) and await owed(pg, check) is None


async def test_a_join_delivered_again_makes_its_owed_restriction_at_once(pg, group):
    await screened_group(pg, group)
    pg.sim.network_error("restrictChatMember")
    dave = pg.sim.user("dave")
    pg.sim.join(group.chat, dave)
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.deliver(updates)
    await pg.settle()
    check = await pending(pg, group.chat, dave)
    for job in pg.app.job_queue.get_jobs_by_name(f"restrict:{check.id}"):  # only the delivery may make it now
        job.schedule_removal()
    assert can_send(pg, group.chat, dave) and await owed(pg, check) == "restrict"
    # The same join again (under a new id: an update already handled is never handled twice), before any sweep.
    await pg.deliver([dict(u, update_id=u["update_id"] + 10_000) for u in updates if "chat_member" in u])
    assert not can_send(pg, group.chat, dave) and await owed(pg, check) is None
    assert len(await pg.services.db.fetchall("SELECT id FROM captcha_checks WHERE user_id = ?", (dave.id,))) == 1


async def test_a_restriction_a_crash_left_owed_is_made_by_the_first_sweep_after_the_start(pg, group):
    await screened_group(pg, group)
    pg.sim.network_error("restrictChatMember")
    dave, check = await newcomer(pg, group.chat)
    assert can_send(pg, group.chat, dave)
    pg.clock.advance(seconds=5)  # down for five seconds: far less than the sweep's minute
    await pg.restart()
    await run_job(pg, "funnel:sweep")  # the sweep at start (first=0)
    assert not can_send(pg, group.chat, dave) and await owed(pg, check) is None


@pytest.mark.parametrize("fault", TRANSIENT + ("not_found",))
async def test_a_prompt_that_cannot_be_sent_still_restricts_and_times_out(pg, group, fault):
    await screened_group(pg, group)
    FAULTS[fault](pg.sim, "sendMessage")
    dave, check = await newcomer(pg, group.chat)
    assert not can_send(pg, group.chat, dave)
    await time_out(pg, group.chat, dave)
    assert pg.sim.member(group.chat, dave)["status"] == "left"
    assert INTERNAL not in texts_in(pg, group.chat)


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_a_passed_check_whose_lift_failed_is_lifted_by_the_sweep_and_welcomed_once(pg, group, fault):
    await screened_group(pg, group)
    dave, check = await newcomer(pg, group.chat)
    FAULTS[fault](pg.sim, "restrictChatMember")
    await press(pg, group.chat, dave, check)
    assert (await pg.services.funnel.repo.check(check.id)).status == "passed"
    assert can_send(pg, group.chat, dave) == (fault == "timeout")
    assert await owed(pg, check) == "pass"
    await pg.restart()  # a crash or a stop in between changes nothing: the check owes the lift
    await sweep_later(pg)
    assert can_send(pg, group.chat, dave) and await owed(pg, check) is None
    welcomes = [t for t in texts_in(pg, group.chat) if "Welcome" in t and "Dave" in t]
    assert len(welcomes) == 1
    await sweep_later(pg)
    assert len([t for t in texts_in(pg, group.chat) if "Welcome" in t and "Dave" in t]) == 1


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_a_timed_out_check_whose_removal_failed_is_removed_by_the_sweep(pg, group, fault):
    await screened_group(pg, group)
    dave, check = await newcomer(pg, group.chat)
    FAULTS[fault](pg.sim, "banChatMember")
    await time_out(pg, group.chat, dave)
    assert (await pg.services.funnel.repo.check(check.id)).status == "timeout"
    assert await owed(pg, check) == "remove"
    await sweep_later(pg)
    assert pg.sim.member(group.chat, dave)["status"] == "left"  # removed, and not left banned
    assert await owed(pg, check) is None


async def test_a_removal_whose_unban_failed_does_not_leave_them_banned(pg, group):
    await screened_group(pg, group)
    dave, check = await newcomer(pg, group.chat)
    pg.sim.network_error("unbanChatMember")
    await time_out(pg, group.chat, dave)
    assert pg.sim.member(group.chat, dave)["status"] == "kicked"
    await sweep_later(pg)
    assert pg.sim.member(group.chat, dave)["status"] == "left"


async def test_a_removal_whose_unban_can_never_come_ends_by_itself(pg, group):
    """The bot is removed from the group right after the timeout's ban: no unban will ever be allowed, and the
    newcomer must not stay banned from the group for good (the ban is sent with an end a few minutes away)."""
    await screened_group(pg, group)
    dave, check = await newcomer(pg, group.chat)
    pg.sim.network_error("unbanChatMember")
    await time_out(pg, group.chat, dave)
    assert pg.sim.member(group.chat, dave)["status"] == "kicked"
    pg.sim.remove_bot(group.chat, group.owner)  # every later call there is refused: 403
    for _ in range(6):
        await sweep_later(pg)
    assert pg.sim.member(group.chat, dave)["status"] == "left"  # Telegram ended the ban: they may come back


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_right_answer_whose_button_answer_fails_still_lets_them_in(pg, group, fault):
    await screened_group(pg, group)
    dave, check = await newcomer(pg, group.chat)
    FAULTS[fault](pg.sim, "answerCallbackQuery")
    await press(pg, group.chat, dave, check)
    assert can_send(pg, group.chat, dave)
    assert INTERNAL not in texts_in(pg, group.chat)


async def test_a_right_answer_handled_sixteen_minutes_late_after_downtime_lets_them_in(pg, group):
    await screened_group(pg, group)
    dave, check = await newcomer(pg, group.chat)
    pg.clock.advance(seconds=60)
    pg.sim.press(dave, prompt_message(pg, group.chat, check), right(check))  # in time; the bot is down
    pg.clock.advance(minutes=16)  # too old for Telegram to take a button answer
    await pg.restart()
    await pg.settle()
    assert (await pg.services.funnel.repo.check(check.id)).status == "passed"
    assert can_send(pg, group.chat, dave)
    assert [c.description for c in pg.sim.calls("answerCallbackQuery")][-1].startswith("Bad Request: query is too old")
    # One outcome: the welcome, and no "Something went wrong" for the answer Telegram no longer takes.
    assert "Welcome to Tea Lovers, Dave! Say hello to everyone." in texts_in(pg, group.chat)
    assert INTERNAL not in texts_in(pg, group.chat) + texts_in(pg, dave)


# ================================================================ a purchase


async def code_item_bought(pg, g, fault: str | None, method: str = "sendMessage"):
    """Alice (who started the bot) buys a code item, with `fault` on `method` at the Confirm press.
    Returns (the item id, the order id or None, the confirm query's answers)."""
    item = await code_item_on_sale(pg, g)
    _a, prompt = await open_confirm(pg, g, g.alice, item)
    if fault:
        FAULTS[fault](pg.sim, method)
    query_id = pg.sim.press(g.alice, prompt, next(d for d in buttons(prompt) if d.startswith("shop:ok:")))
    await pg.settle()
    answers = [c for c in pg.sim.calls("answerCallbackQuery") if c.params["callback_query_id"] == query_id]
    rows = await orders(pg, g.chat)
    return item, (rows[0][0] if rows else None), answers


def codes_sent(pg, user) -> list[str]:
    return [m["text"] for m in pg.sim.replies(user) if m.get("text", "").startswith("🎁 Your code")]


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_a_code_telegram_did_not_take_stays_pending_until_an_admin_sends_it(pg, group, fault):
    g = group
    item, order, _answers = await code_item_bought(pg, g, fault)
    [(_id, _u, _i, _c, status)] = await orders(pg, g.chat)
    assert status == "pending"  # not marked delivered: Telegram did not say it went out
    assert await balance(pg, g.chat, g.alice) == 50 and await stock(pg, item) == 0
    assert pg.sim.messages(g.chat)[-1]["text"].startswith(f"Alice bought Game key (order #{order}), but Telegram did not take")
    assert len(codes_sent(pg, g.alice)) == (1 if fault == "timeout" else 0)  # never sent twice by itself
    assert f"#{order}" in await say(pg, g.admin, "/orders pending", g.chat)
    assert await say(pg, g.admin, f"/fulfil {order}", g.chat) == f"Order #{order} (Game key for Alice) is fulfilled. I told them privately."
    assert codes_sent(pg, g.alice)[-1].endswith("AAA-111")
    assert (await orders(pg, g.chat))[0][-1] == "fulfilled"
    assert INTERNAL not in texts_in(pg, g.chat) + texts_in(pg, g.alice)
    assert await pg.services.points.ledger.mismatches() == []


RETIRED = "Its code may already have reached them, so it is retired, not put back on sale."


async def test_a_pending_code_telegram_never_sent_is_refunded_and_goes_back_on_the_shelf(pg, group):
    g = group
    item, order, _ = await code_item_bought(pg, g, "flood")  # Telegram said "wait": it did not send it
    answer = await say(pg, g.admin, f"/reject {order}", g.chat)
    assert answer.startswith(f"Order #{order} (Game key for Alice) is rejected; 50 points refunded.")
    assert RETIRED not in answer
    assert await balance(pg, g.chat, g.alice) == 100 and await stock(pg, item) == 1
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM shop_codes WHERE order_id IS NULL") == 1


@pytest.mark.parametrize("fault", ["network", "timeout"])
async def test_a_pending_code_that_may_have_arrived_is_refunded_but_never_sold_again(pg, group, fault):
    g = group
    item, order, _ = await code_item_bought(pg, g, fault)
    answer = await say(pg, g.admin, f"/reject {order}", g.chat)
    assert answer.startswith(f"Order #{order} (Game key for Alice) is rejected; 50 points refunded. {RETIRED}")
    assert await balance(pg, g.chat, g.alice) == 100 and await stock(pg, item) == 0  # refunded, not back on sale
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM shop_codes WHERE order_id IS NULL") == 0
    assert await pg.services.points.ledger.mismatches() == []


async def test_an_admin_whose_fulfil_cannot_send_the_code_keeps_the_order_pending(pg, group):
    g = group
    _item, order, _ = await code_item_bought(pg, g, "network")
    pg.sim.network_error("sendMessage")
    assert await say(pg, g.admin, f"/fulfil {order}", g.chat) == (
        f"I could not send the code of order #{order} to Alice privately, so the order stays pending. "
        f"Try /fulfil {order} again later, or refund it with /reject {order}."
    )
    assert (await orders(pg, g.chat))[0][-1] == "pending"


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method", ["answerCallbackQuery", "editMessageText", "sendChatAction"])
async def test_a_purchase_is_made_once_whatever_fails_around_it(pg, group, fault, method):
    g = group
    _item, order, answers = await code_item_bought(pg, g, fault, method)
    blocked_probe = method == "sendChatAction" and fault in ("kicked", "blocked", "not_found")
    if blocked_probe:  # Telegram says Alice cannot be written to: refused before paying
        assert order is None and await balance(pg, g.chat, g.alice) == 100
        return
    assert [r[-1] for r in await orders(pg, g.chat)] == ["fulfilled"]
    assert await balance(pg, g.chat, g.alice) == 50
    assert len(codes_sent(pg, g.alice)) == 1
    assert len([a for a in answers if a.ok or a.fault == "timeout"]) <= 1  # answered once at most
    assert INTERNAL not in texts_in(pg, g.chat) + texts_in(pg, g.alice)


# ================================================================ an invite


BUSY = "Telegram is busy right now: send /invite again in a minute."
NO_RIGHTS = "I need the “Invite users via link” admin right to make invite links."  # as Telegram's admin settings name it


async def links_of(pg, chat, user) -> list[str]:
    rows = await pg.services.db.fetchall(
        "SELECT url FROM invite_links WHERE chat_id = ? AND user_id = ? AND revoked_at IS NULL", (chat.id, user.id))
    return [r["url"] for r in rows]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method", ["getChat", "createChatInviteLink"])
async def test_an_invite_telegram_cannot_make_gets_one_clear_line(pg, group, fault, method):
    g = group
    FAULTS[fault](pg.sim, method)
    answer = await say(pg, g.alice, "/invite", g.chat)
    assert answer == (BUSY if fault in TRANSIENT else NO_RIGHTS)
    assert len(await links_of(pg, g.chat, g.alice)) <= 1
    pg.sim.clear_faults()  # Telegram is fine again
    answer = await say(pg, g.alice, "/invite", g.chat)
    [url] = await links_of(pg, g.chat, g.alice)
    assert url in answer
    assert INTERNAL not in texts_in(pg, g.chat)


@pytest.mark.parametrize("fault", FAULTS)
async def test_an_invite_whose_message_fails_keeps_its_link_for_the_next_time(pg, group, fault):
    g = group
    FAULTS[fault](pg.sim, "sendMessage")
    await say(pg, g.alice, "/invite", g.chat)
    [url] = await links_of(pg, g.chat, g.alice)
    shown = [t for t in texts_in(pg, g.chat) if url in t]
    assert len(shown) == (1 if fault == "timeout" else 0)
    assert url in await say(pg, g.alice, "/invite", g.chat)
    assert await links_of(pg, g.chat, g.alice) == [url]
    assert INTERNAL not in texts_in(pg, g.chat)


async def test_a_prompt_that_did_not_go_out_is_sent_by_the_sweep(pg, group):
    await screened_group(pg, group)
    pg.sim.network_error("sendMessage")
    dave, check = await newcomer(pg, group.chat)
    assert check.prompt_message_id is None and not can_send(pg, group.chat, dave)
    await run_job(pg, "funnel:sweep")
    check = await pg.services.funnel.repo.check(check.id)
    await press(pg, group.chat, dave, check)
    assert can_send(pg, group.chat, dave)
    await run_job(pg, "funnel:sweep")  # once only
    prompts = [c for c in pg.sim.calls("sendMessage") if c.ok and "Before you can write" in c.params.get("text", "")]
    assert len(prompts) == 1


async def test_an_admin_who_lets_a_newcomer_talk_during_the_check_is_not_overruled(pg, group):
    """The restriction failed; an admin then sets the newcomer's rights by hand: the check no longer forces its own
    restriction on them, and their messages stay."""
    from telegram import ChatPermissions

    await screened_group(pg, group)
    pg.sim.network_error("restrictChatMember")
    dave, check = await newcomer(pg, group.chat)
    await pg.app.bot.restrict_chat_member(group.chat.id, dave.id, ChatPermissions(can_send_messages=True),
                                          use_independent_chat_permissions=True)  # on an admin's word (the Bot API)
    await pg.settle()
    assert await owed(pg, check) is None
    said = pg.sim.send(dave, "thanks, admin", group.chat)
    await pg.settle()
    assert pg.sim.message(group.chat, said["message_id"]) is not None
    await sweep_later(pg)
    assert can_send(pg, group.chat, dave)


# ================================================================ the calls around a decided check and the Buy press


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method", ["deleteMessage", "sendMessage"])
async def test_a_passed_check_whose_prompt_removal_or_welcome_fails_lets_them_in_and_welcomes_once_at_most(pg, group, fault, method):
    """After a right answer Sticky deletes the prompt and sends the welcome: a fault on either (429, network, a
    timeout after the call, 403, message not found) never keeps the newcomer out, never says something went wrong,
    and the welcome is never sent twice — also after the sweep has run again."""
    await screened_group(pg, group)
    dave, check = await newcomer(pg, group.chat)
    FAULTS[fault](pg.sim, method)
    await press(pg, group.chat, dave, check)
    assert can_send(pg, group.chat, dave)
    assert (await pg.services.funnel.repo.check(check.id)).status == "passed"
    pg.sim.clear_faults()
    await sweep_later(pg)
    await sweep_later(pg)
    welcomes = [t for t in texts_in(pg, group.chat) if "Welcome" in t and "Dave" in t]
    assert len(welcomes) <= 1, welcomes
    assert INTERNAL not in texts_in(pg, group.chat)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method", ["sendMessage", "answerCallbackQuery", "sendChatAction"])
async def test_a_buy_press_whose_calls_fail_takes_nothing_and_a_second_press_asks_once(pg, group, fault, method):
    """The Buy press asks Telegram whether the buyer can be written to (a chat action), then posts the question and
    answers the press: a fault on any of these takes no point and makes no order, says nothing went wrong (a question
    Telegram did not post answered 'Something went wrong' and logged a traceback), and Buy pressed again once
    Telegram is fine asks one question."""
    g = group
    item = await code_item_on_sale(pg, g)
    await say(pg, g.alice, "/shop", g.chat)
    shelf_message = pg.sim.replies(g.chat)[-1]
    FAULTS[fault](pg.sim, method)
    query_id = pg.sim.press(g.alice, shelf_message, f"shop:buy:{item}")
    await pg.settle()
    assert await orders(pg, g.chat) == [] and await balance(pg, g.chat, g.alice) == 100
    assert INTERNAL not in texts_in(pg, g.chat) + texts_in(pg, g.alice)
    if method == "sendMessage":  # the question did not go out (or no answer came): the presser is told, privately
        [told] = [c.params for c in pg.sim.calls("answerCallbackQuery") if c.params["callback_query_id"] == query_id]
        assert told.get("show_alert") and told.get("text") == (
            "Telegram did not answer: if no question appears in the group, press 🛒 again. Nothing was taken."
            if fault in ("network", "timeout") else
            "Telegram did not take my question: press 🛒 again in a minute. Nothing was taken.")
    pg.sim.clear_faults()
    before = [m for m in pg.sim.replies(g.chat) if any(d.startswith("shop:ok:") for d in buttons(m))]
    _answer, prompt = await open_confirm(pg, g, g.alice, item)
    after = [m for m in pg.sim.replies(g.chat) if any(d.startswith("shop:ok:") for d in buttons(m))]
    assert len(after) == len(before) + 1
    ok = next(d for d in buttons(prompt) if d.startswith("shop:ok:"))
    pg.sim.press(g.alice, prompt, ok)
    await pg.settle()
    assert [r[-1] for r in await orders(pg, g.chat)] == ["fulfilled"] and await balance(pg, g.chat, g.alice) == 50
