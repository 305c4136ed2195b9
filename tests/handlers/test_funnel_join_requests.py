"""Referrals in groups behind join requests: attributed at the request (link or deep-link claim), so an invitee who
fails or ignores the check shows in the inviter's numbers as not counted; one who passes is one referral, not two."""
from __future__ import annotations

import pytest
from telegram import Update

from bot.app import ALLOWED_UPDATES
from storage.db import from_iso
from tests.handlers.funnel_helpers import (
    join, member_with_link, newcomer, pending, press, prompt_message, quiet_club, run_job, time_out,
)
from tests.handlers.test_inbox import crash
from tests.helpers import say


async def invites_of(pg, chat, user) -> str:
    return await say(pg, user, "/invites", chat)


async def test_an_invitee_who_times_out_at_the_request_is_not_counted_for_failed_screening(pg):
    chat = await quiet_club(pg)
    alice, url, _ = await member_with_link(pg, chat)
    erin = pg.sim.user("erin")
    assert pg.sim.join(chat, erin, link=url) == "requested"
    await pg.settle()
    assert "joined 1 · pending 1 · confirmed 0" in await invites_of(pg, chat, alice)
    await time_out(pg, chat, erin)
    assert pg.sim.calls("declineChatJoinRequest")
    text = await invites_of(pg, chat, alice)
    assert "joined 1 · pending 0 · confirmed 0 · left 0 · not counted 1" in text
    assert "• did not pass the check: 1" in text


async def test_a_deep_link_claim_is_attributed_at_the_request_and_a_wrong_answer_rejects_it(pg):
    chat = await quiet_club(pg)
    alice, _, code = await member_with_link(pg, chat)
    erin = pg.sim.user("erin")
    await say(pg, erin, f"/start ref_{code}")
    pg.sim.join(chat, erin)  # through the group's own link, but she came through Alice's deep link
    await pg.settle()
    check = await pending(pg, chat, erin)
    for _ in range(2):
        check = await pending(pg, chat, erin)
        await press(pg, erin, erin, check, good=False)
    [ref] = await pg.services.db.fetchall("SELECT * FROM referrals WHERE chat_id = ?", (chat.id,))
    assert (ref["inviter_id"], ref["via"], ref["status"], ref["reason"]) == (alice.id, "deeplink", "rejected", "failed_screening")
    assert "• did not pass the check: 1" in await invites_of(pg, chat, alice)


async def test_an_invitee_who_passes_is_one_referral_confirmed_once(pg):
    chat = await quiet_club(pg)
    alice, url, _ = await member_with_link(pg, chat)
    erin, check = await newcomer(pg, chat, "erin", link=url)
    pg.clock.advance(seconds=60)
    await press(pg, erin, erin, check)
    assert pg.sim.member(chat, erin)["status"] == "member"
    rows = await pg.services.db.fetchall("SELECT * FROM referrals WHERE chat_id = ?", (chat.id,))
    assert len(rows) == 1 and rows[0]["status"] == "pending" and rows[0]["screened_at"] is not None
    assert from_iso(rows[0]["joined_at"]) == pg.clock.now()  # the stay counts from the join, not the request
    assert "joined 1 · pending 1 · confirmed 0 · left 0 · not counted 0" in await invites_of(pg, chat, alice)
    pg.clock.advance(hours=24)
    pg.sim.send(erin, "hello", chat)
    await pg.settle()
    assert "joined 1 · pending 0 · confirmed 1 · left 0 · not counted 0" in await invites_of(pg, chat, alice)


async def test_someone_who_failed_a_request_and_passes_a_later_one_is_not_a_returning_member(pg):
    chat = await quiet_club(pg)
    alice, url, _ = await member_with_link(pg, chat)
    erin = await join(pg, chat, "erin", link=url)
    await time_out(pg, chat, erin)
    pg.clock.advance(hours=1)
    pg.sim.join(chat, erin, link=url)
    await pg.settle()
    check = await pending(pg, chat, erin)
    await press(pg, erin, erin, check)
    rows = await pg.services.db.fetchall("SELECT status, reason FROM referrals WHERE chat_id = ? ORDER BY id", (chat.id,))
    assert [(r["status"], r["reason"]) for r in rows] == [("rejected", "failed_screening"), ("pending", None)]


async def test_a_request_closed_before_sticky_could_approve_it_is_not_counted_with_the_reason(pg):
    chat = await quiet_club(pg)
    alice, url, _ = await member_with_link(pg, chat)
    erin, check = await newcomer(pg, chat, "erin", link=url)
    await pg.app.bot.decline_chat_join_request(chat.id, erin.id)  # an admin declined it meanwhile (or she withdrew it)
    await press(pg, erin, erin, check)
    assert pg.sim.member(chat, erin)["status"] == "left"
    text = await invites_of(pg, chat, alice)
    assert "joined 1 · pending 0 · confirmed 0 · left 0 · not counted 1" in text
    assert "• join request closed before approval: 1" in text
    [ref] = await pg.services.db.fetchall("SELECT status, reason FROM referrals WHERE invitee_id = ?", (erin.id,))
    assert (ref["status"], ref["reason"]) == ("rejected", "not_admitted")


async def request_passed_but_not_approved(pg):
    """Erin asks through Alice's link and passes the check; approving fails for a passing reason (a flood wait),
    so the referral stays pending with the request still open."""
    chat = await quiet_club(pg)
    alice, url, _ = await member_with_link(pg, chat)
    erin, check = await newcomer(pg, chat, "erin", link=url)
    # Longer than Sticky waits, at the press and at the first sweep that retries it.
    pg.sim.flood("approveChatJoinRequest", retry_after=1, times=6)
    await press(pg, erin, erin, check)
    return chat, alice, erin


async def test_a_request_referral_left_open_expires_and_never_credits_a_join_months_later(pg):
    chat, alice, erin = await request_passed_but_not_approved(pg)
    assert "pending 1" in await invites_of(pg, chat, alice)
    await pg.app.bot.decline_chat_join_request(chat.id, erin.id)  # an admin tidies the request list by hand
    days = pg.services.config.funnel.referral.deeplink_days
    pg.clock.advance(days=days, seconds=1)
    await run_job(pg, "funnel:sweep")
    text = await invites_of(pg, chat, alice)
    assert "joined 1 · pending 0 · confirmed 0 · left 0 · not counted 1" in text
    assert "• join request closed before approval: 1" in text
    pg.clock.advance(days=60)
    bob, bob_url, _ = await member_with_link(pg, chat, "bob")
    pg.sim.join(chat, erin, link=bob_url)  # months later, through Bob's link
    await pg.settle()
    check = await pending(pg, chat, erin)
    await press(pg, erin, erin, check)
    assert pg.sim.member(chat, erin)["status"] == "member"
    rows = await pg.services.db.fetchall("SELECT inviter_id, status, joined FROM referrals WHERE invitee_id = ? ORDER BY id", (erin.id,))
    assert [(r["inviter_id"], r["status"], r["joined"]) for r in rows] == [(alice.id, "rejected", 0), (bob.id, "pending", 1)]
    assert "pending 0" in await invites_of(pg, chat, alice) and "joined 1 · pending 1" in await invites_of(pg, chat, bob)


async def test_a_join_attaches_to_a_request_referral_only_within_deeplink_days(pg):
    """Even before the sweep closes it: a join long after the request is not the request's."""
    from datetime import timedelta

    from storage.members import UserInfo

    chat = await quiet_club(pg)
    alice, url, _ = await member_with_link(pg, chat)
    funnel, erin = pg.services.funnel, UserInfo(4242, "Erin")
    asked = pg.clock.now()
    await funnel.member_joined(chat.id, erin, url, asked, screened=False, requested=True)
    days = pg.services.config.funnel.referral.deeplink_days
    late = await funnel.member_joined(chat.id, erin, None, asked + timedelta(days=days, seconds=1), screened=True)
    assert late is None  # no inviter: Alice's request referral is too old to be this join's
    soon = await funnel.member_joined(chat.id, erin, None, asked + timedelta(minutes=2), screened=True)
    assert soon is not None and soon.inviter_id == alice.id and soon.joined


async def test_a_request_approved_by_hand_after_its_referral_was_closed_is_not_counted_again(pg):
    chat, alice, erin = await request_passed_but_not_approved(pg)
    days = pg.services.config.funnel.referral.deeplink_days
    pg.clock.advance(days=days, seconds=1)
    await run_job(pg, "funnel:sweep")       # the window passed: closed as not admitted
    await pg.app.bot.approve_chat_join_request(chat.id, erin.id)  # an admin lets the old request in after all
    await pg.settle()
    assert pg.sim.member(chat, erin)["status"] == "member"
    rows = await pg.services.db.fetchall("SELECT inviter_id, status FROM referrals WHERE invitee_id = ?", (erin.id,))
    assert [(r["inviter_id"], r["status"]) for r in rows] == [(alice.id, "rejected")]
    assert "pending 0" in await invites_of(pg, chat, alice)


def welcomes(pg, chat) -> list[str]:
    return [m.get("text", "") for m in pg.sim.replies(chat) if m.get("text", "").startswith("Welcome to Quiet Club")]


async def test_a_request_let_in_is_welcomed_once_by_name(pg):
    """The approval and the join Telegram reports after it are one arrival: one welcome (it was two, the first naming
    the newcomer by their id)."""
    chat = await quiet_club(pg)
    erin, check = await newcomer(pg, chat, "erin")
    await press(pg, erin, erin, check)
    assert pg.sim.member(chat, erin)["status"] == "member"
    assert welcomes(pg, chat) == ["Welcome to Quiet Club, Erin! Say hello to everyone."]


async def test_a_request_whose_question_did_not_go_out_is_asked_by_the_sweep(pg):
    """A network error (or a crash) before the private question went out: the sweep asks it, so someone who would
    answer right is not declined for never having been asked."""
    chat = await quiet_club(pg)
    erin = pg.sim.user("erin")
    pg.sim.network_error("sendMessage")
    assert pg.sim.join(chat, erin) == "requested"
    await pg.settle()
    check = await pending(pg, chat, erin)
    assert check is not None and check.prompt_message_id is None and not pg.sim.messages(erin)
    await run_job(pg, "funnel:sweep")
    check = await pending(pg, chat, erin)
    assert prompt_message(pg, erin, check)["text"].startswith("You asked to join Quiet Club.")
    await run_job(pg, "funnel:sweep")  # asked once: the next sweep finds it asked
    assert len(pg.sim.messages(erin)) == 1
    await press(pg, erin, erin, check)
    assert pg.sim.member(chat, erin)["status"] == "member"


class Killed(BaseException):
    """kill -9 in-process: not an error anything handles; the handling stops where it is raised."""


async def test_a_request_cut_off_by_a_crash_before_its_check_is_screened_after_the_restart(pg, monkeypatch):
    """The referral is written before the check is opened: a kill in between used to leave the request marked
    handled with no check — never asked, never approved or declined, waiting in the admins' list for good."""
    chat = await quiet_club(pg)
    alice, url, _ = await member_with_link(pg, chat)
    erin = pg.sim.user("erin")
    assert pg.sim.join(chat, erin, link=url) == "requested"
    updates = pg.sim.take_updates(ALLOWED_UPDATES)

    async def killed(*args, **kwargs):
        raise Killed()
    monkeypatch.setattr(pg.services.funnel, "begin_check", killed)
    await pg.services.inbox.receive(updates)
    with pytest.raises(Killed):
        await pg.app.process_update(Update.de_json(updates[0], pg.app.bot))
    assert await pending(pg, chat, erin) is None
    monkeypatch.undo()

    await crash(pg)  # the restart handles the request again, first
    await pg.settle()
    check = await pending(pg, chat, erin)
    assert check is not None and prompt_message(pg, erin, check)["text"].startswith("You asked to join Quiet Club.")
    await pg.deliver(updates)  # Telegram delivers it again: no second check, no second question
    await pg.settle()
    assert len(await pg.services.db.fetchall("SELECT id FROM captcha_checks WHERE user_id = ?", (erin.id,))) == 1
    assert len(pg.sim.messages(erin)) == 1
    await press(pg, erin, erin, check)
    assert pg.sim.member(chat, erin)["status"] == "member" and erin.id not in pg.sim.join_requests(chat)
    assert "joined 1 · pending 1 · confirmed 0" in await invites_of(pg, chat, alice)  # one referral, not two


async def test_a_time_is_up_note_whose_edit_timed_out_is_not_sent_again(pg):
    """The request times out; Telegram makes the edit that says so but its answer is lost: the person reads the
    note once, not a second copy sent because the edit seemed to fail."""
    chat = await quiet_club(pg)
    erin = pg.sim.user("erin")
    assert pg.sim.join(chat, erin) == "requested"
    await pg.settle()
    pg.sim.timeout_after_send("editMessageText")
    await time_out(pg, chat, erin)
    notes = [m for m in pg.sim.messages(erin) if m.get("text", "").startswith("Time is up")]
    assert len(notes) == 1 and pg.sim.calls("declineChatJoinRequest")


@pytest.mark.parametrize("why", ["blocked", "late"])
async def test_a_requester_sticky_cannot_write_to_is_asked_once_and_left_to_the_admins(pg, why):
    """Telegram lets a bot write to a join requester only within 5 minutes of the request (ChatJoinRequest.
    user_chat_id), and never once they blocked it. Refused that way, the question is not tried again at every sweep
    and the request is not declined at the deadline for a question nobody could ask: it waits for the admins, who are
    told; one they approve is screened in the group like any newcomer."""
    chat = await quiet_club(pg)
    owner = pg.sim.user("owner")
    await say(pg, owner, "/start")  # so Sticky may write to her
    erin = pg.sim.user("erin")
    if why == "blocked":
        await say(pg, erin, "/start")
        pg.sim.block(erin)
        await pg.settle()
    assert pg.sim.join(chat, erin) == "requested"
    if why == "late":  # handled after downtime: the request's 5 minutes are over
        updates = pg.sim.take_updates(ALLOWED_UPDATES)
        pg.clock.advance(minutes=6)
        await pg.deliver(updates)
    await pg.settle()

    def tries() -> list:
        return [c for c in pg.sim.calls("sendMessage") if c.params.get("chat_id") == erin.id and not c.ok]

    assert len(tries()) == 1 and await pending(pg, chat, erin) is None
    assert pg.sim.messages(owner)[-1]["text"] == (
        "Erin asked to join Quiet Club, but Telegram no longer lets me write to them, so I could not ask them the screening"
        " question. Their request waits for you in the group's join requests; whoever you approve is screened in the group.")
    pg.clock.advance(minutes=10)  # past the deadline, and sweeps
    await run_job(pg, "funnel:sweep")
    await run_job(pg, "funnel:sweep")
    assert len(tries()) == 1
    assert not pg.sim.calls("declineChatJoinRequest")
    assert erin.id in pg.sim.join_requests(chat)
    await pg.app.bot.approve_chat_join_request(chat.id, erin.id)  # an admin lets her in
    await pg.settle()
    check = await pending(pg, chat, erin)
    assert check is not None and check.via == "join"  # screened in the group
