"""Personal invite links and referrals through the real Application: /invite, attribution, confirmation exactly once,
the anti-fraud table (never counted, with the reason, zero points), clawback, milestones and the spreader role,
deep links for groups behind join requests, /invites and /funnel."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from telegram import Update

from bot.config import BadgeConfig, Config, FunnelConfig, PointsConfig, ReferralConfig
from bot.playground import Playground
from tests.handlers.funnel_helpers import (
    confirmed_invitee, join, ledger, link_of, member_with_link, pending, press, quiet_club, referrals, run_job,
    screening_on, stay_and_speak, time_out,
)
from tests.helpers import make_group, say


async def test_invite_link_is_personal_reused_and_vanishes_when_shown_in_the_group(pg, group):
    text = await say(pg, group.alice, "/invite", group.chat)
    assert text.startswith("Your personal invite link to Tea Lovers:")
    assert "https://t.me/StickyTestBot?start=ref_" in text and "disappears in 60 seconds" in text
    links = pg.sim.invite_links(group.chat)
    assert len(links) == 1 and links[0]["name"] == f"Alice #{group.alice.id}" and not links[0]["creates_join_request"]
    sent = pg.sim.replies(group.chat)[-1]
    assert pg.app.job_queue.get_jobs_by_name(f"delete:{group.chat.id}:{sent['message_id']}")
    pg.sim.send(group.alice, "/start")  # now the bot may write to her privately
    await pg.settle()
    assert await say(pg, group.alice, "/invite", group.chat) == "Alice, I sent your invite link to you in a private chat."
    assert links[0]["invite_link"] in pg.sim.replies(group.alice)[-1]["text"]
    assert len(pg.sim.calls("createChatInviteLink")) == 1  # reused


async def test_referral_is_confirmed_after_screening_stay_and_a_message(pg, group):
    url = await link_of(pg, group, group.alice)
    dave = await join(pg, group.chat, link=url)
    [ref] = await referrals(pg, group.chat)
    assert (ref["inviter_id"], ref["invitee_id"], ref["status"]) == (group.alice.id, dave.id, "pending")
    await stay_and_speak(pg, group, dave, hours=23)  # spoke, but not 24 h yet
    await run_job(pg, "funnel:sweep")
    assert (await referrals(pg, group.chat))[0]["status"] == "pending"
    pg.clock.advance(hours=1)
    await run_job(pg, "funnel:sweep")
    [ref] = await referrals(pg, group.chat)
    assert ref["status"] == "confirmed"
    wallet = await pg.services.points.ledger.wallet(group.chat.id, group.alice.id)
    assert (wallet.points, wallet.xp) == (20 + 10, 20)  # referral + first_referral badge bonus
    assert (await pg.services.points.ledger.wallet(group.chat.id, dave.id)).points == 5  # welcome bonus
    assert [b for b, _ in await pg.services.points.repo.badges(group.chat.id, group.alice.id)] == ["first_referral"]
    text = await say(pg, group.alice, "/invites", group.chat)
    assert "joined 1 · pending 0 · confirmed 1 · left 0 · not counted 0" in text


async def test_a_message_confirms_when_already_due(pg, group):
    url = await link_of(pg, group, group.alice)
    dave = await join(pg, group.chat, link=url)
    await stay_and_speak(pg, group, dave)  # the message itself confirms: 24 h passed, first message
    assert (await referrals(pg, group.chat))[0]["status"] == "confirmed"


async def test_confirmed_at_most_once_when_job_and_message_race_and_updates_repeat(pg, group):
    url = await link_of(pg, group, group.alice)
    dave = pg.sim.user("dave")
    pg.sim.join(group.chat, dave, link=url)
    join_updates = pg.sim.take_updates(["chat_member"])
    for data in join_updates:
        await pg.app.process_update(Update.de_json(data, pg.app.bot))
    await pg.settle()
    pg.clock.advance(hours=25)
    async with pg.services.db.transaction() as tx:
        await tx.execute("UPDATE referrals SET messages = 1")  # due: the job, a message and a retry all try at once
    f = pg.services.funnel
    [stale] = await f.repo.pending_referrals()
    results = await asyncio.gather(f.sweep(), f.sweep(), f.message(group.chat.id, dave.id), f.try_confirm(stale))
    confirmations = [*results[0], *results[1], *[r for r in results[2:] if r is not None]]
    assert len(confirmations) == 1
    # The same join update delivered again (after a restart the in-memory de-duplication is gone).
    await pg.restart()
    for data in join_updates:
        await pg.app.process_update(Update.de_json(data, pg.app.bot))
    await pg.settle()
    await run_job(pg, "funnel:sweep")
    [ref] = await referrals(pg, group.chat)
    rows = await ledger(pg, group.chat, group.alice, "referral")
    assert len(rows) == 2 and {r["currency"] for r in rows} == {"points", "xp"}
    assert len(await ledger(pg, group.chat, dave, "welcome_bonus")) == 1
    assert ref["status"] == "confirmed"


async def _back_through(pg, g, member, inviter) -> None:
    """`member` leaves and, an hour later, comes back through `inviter`'s personal link."""
    url = await link_of(pg, g, inviter)
    pg.sim.leave(g.chat, member)
    pg.clock.advance(hours=1)
    pg.sim.join(g.chat, member, link=url)
    await pg.settle()


async def _self_invite(pg, g):
    await _back_through(pg, g, g.carol, g.carol)
    return g.carol, g.carol


async def _returning(pg, g):
    await _back_through(pg, g, g.bob, g.alice)
    await stay_and_speak(pg, g, g.bob)
    return g.alice, g.bob


async def _bot(pg, g):
    url = await link_of(pg, g, g.alice)
    robot = pg.sim.user("helperbot", is_bot=True)
    pg.sim.join(g.chat, robot, link=url)
    await pg.settle()
    return g.alice, robot


async def _left(pg, g):
    url = await link_of(pg, g, g.alice)
    dave = await join(pg, g.chat, link=url)
    pg.sim.send(dave, "hi", g.chat)
    pg.clock.advance(hours=2)
    pg.sim.leave(g.chat, dave)
    await pg.settle()
    pg.clock.advance(hours=30)
    await run_job(pg, "funnel:sweep")
    return g.alice, dave


async def _failed_screening(pg, g):
    await screening_on(pg, g)
    url = await link_of(pg, g, g.alice)
    dave = await join(pg, g.chat, link=url)
    await time_out(pg, g.chat, dave)
    return g.alice, dave


async def _inviter_banned(pg, g):
    url = await link_of(pg, g, g.alice)
    dave = await join(pg, g.chat, link=url)
    await pg.app.bot.ban_chat_member(g.chat.id, g.alice.id)
    await pg.settle()
    await stay_and_speak(pg, g, dave)
    await run_job(pg, "funnel:sweep")
    return g.alice, dave


@pytest.mark.parametrize("case, reason", [
    (_self_invite, "self_invite"), (_returning, "returning"), (_bot, "bot"), (_left, "left"),
    (_failed_screening, "failed_screening"), (_inviter_banned, "inviter_banned"),
])
async def test_never_counted_with_the_reason_and_zero_points(pg, group, case, reason):
    inviter, invitee = await case(pg, group)
    [ref] = await referrals(pg, group.chat)
    assert (ref["inviter_id"], ref["invitee_id"], ref["status"], ref["reason"]) == (inviter.id, invitee.id, "rejected", reason)
    assert await ledger(pg, group.chat, inviter, "referral") == []
    assert await ledger(pg, group.chat, invitee, "welcome_bonus") == []
    stats = await pg.services.funnel.stats(group.chat.id, inviter.id)
    assert stats.reasons == {reason: 1}


async def test_invites_shows_reasons_and_admins_can_look_at_others(pg, group):
    await _returning(pg, group)
    text = await say(pg, group.admin, f"/invites @{group.alice.username}", group.chat)
    assert text.startswith("Invites of Alice:") and "not counted 1" in text and "• had been in the group before: 1" in text
    assert await say(pg, group.bob, "/invites @alice", group.chat) == "Only admins can look up others; /invites alone shows yours."
    assert await say(pg, group.bob, "/invites @alice @bob", group.chat) == "Usage: /invites [@username|id|(reply)] (others: admins only)"


async def test_clawback_when_a_confirmed_newcomer_leaves_within_the_window(pg, group):
    dave = await confirmed_invitee(pg, group, group.alice)
    before = (await pg.services.points.ledger.wallet(group.chat.id, group.alice.id)).points
    pg.clock.advance(days=2)
    pg.sim.leave(group.chat, dave)
    await pg.settle()
    [ref] = await referrals(pg, group.chat)
    assert ref["status"] == "clawed_back"
    [row] = [r for r in await ledger(pg, group.chat, group.alice, "referral_clawback") if r["currency"] == "points"]
    assert row["amount"] == -20
    assert (await pg.services.points.ledger.wallet(group.chat.id, group.alice.id)).points == before - 20
    assert await pg.services.points.ledger.mismatches() == []


async def test_no_clawback_after_the_window(pg, group):
    dave = await confirmed_invitee(pg, group, group.alice)
    pg.clock.advance(days=8)
    pg.sim.leave(group.chat, dave)
    await pg.settle()
    assert (await referrals(pg, group.chat))[0]["status"] == "confirmed"
    assert await ledger(pg, group.chat, group.alice, "referral_clawback") == []


@pytest.fixture
async def pg2(tmp_path, clock):
    badges = [*PointsConfig().badges, BadgeConfig(key="referrals_2", kind="referrals", threshold=2)]
    config = Config(points=PointsConfig(badges=badges), funnel=FunnelConfig(referral=ReferralConfig(spreader_at=2, milestones={2: 30})))
    playground = Playground(tmp_path / "sticky.db", config=config, clock=clock)
    await playground.start()
    yield playground
    await playground.stop()


async def test_milestone_pays_a_bonus_and_earns_the_spreader_role(pg2):
    pg = pg2
    g = await make_group(pg)
    url = await link_of(pg, g, g.alice)
    for name in ("dave", "erin"):
        pg.sim.join(g.chat, pg.sim.user(name), link=url)
    await pg.settle()
    pg.clock.advance(hours=24)
    for name in ("dave", "erin"):
        pg.sim.send(pg.sim.user(name), "hello", g.chat)
    await pg.settle()
    [bonus] = await ledger(pg, g.chat, g.alice, "referral_bonus")
    assert bonus["amount"] == 30
    assert "referrals_2" in [b for b, _ in await pg.services.points.repo.badges(g.chat.id, g.alice.id)]  # the milestone's badge
    member = await pg.services.members.members.get(g.chat.id, g.alice.id)
    assert member.community_role == "spreader"
    audit = await pg.services.db.fetchone("SELECT * FROM role_audit WHERE target_id = ? AND role = 'spreader'", (g.alice.id,))
    assert audit["reason"] == "2 confirmed referrals" and audit["actor_id"] is None
    await run_job(pg, "funnel:sweep")  # nothing twice
    assert len(await ledger(pg, g.chat, g.alice, "referral_bonus")) == 1


async def test_deep_link_for_a_group_behind_join_requests(pg):
    sim = pg.sim
    chat = await quiet_club(pg)
    alice, url, code = await member_with_link(pg, chat)
    erin = sim.user("erin")
    [link] = [l for l in sim.invite_links(chat) if l["invite_link"] == url]
    assert link["creates_join_request"] is True
    assert await say(pg, erin, "/start ref_nonsense") == "This invite is not valid any more. Ask your friend for a new one."
    reply = await say(pg, erin, f"/start ref_{code}")
    assert reply == f"You were invited to Quiet Club. Join here: {link['invite_link']}"
    assert sim.join(chat, erin, link=link["invite_link"]) == "requested"
    await pg.settle()
    check = await pending(pg, chat, erin)
    await press(pg, erin, erin, check)
    assert sim.member(chat, erin)["status"] == "member"
    [ref] = await referrals(pg, chat)
    assert (ref["inviter_id"], ref["status"], ref["screened_at"] is not None) == (alice.id, "pending", True)
    assert await say(pg, alice, f"/start ref_{code}") == "You are already in that group."


async def test_deep_link_claim_attributes_a_join_through_another_link(pg, group):
    await say(pg, group.alice, "/invite", group.chat)
    code = pg.sim.replies(group.chat)[-1]["text"].split("start=ref_")[1].split()[0]
    dave = pg.sim.user("dave")
    await say(pg, dave, f"/start ref_{code}")
    pg.sim.join(group.chat, dave)  # e.g. the group's public link
    await pg.settle()
    [ref] = await referrals(pg, group.chat)
    assert (ref["inviter_id"], ref["via"], ref["status"]) == (group.alice.id, "deeplink", "pending")


async def test_funnel_numbers(pg, group):
    url = await link_of(pg, group, group.alice)
    dave, erin = pg.sim.user("dave"), pg.sim.user("erin")
    pg.sim.join(group.chat, dave, link=url)
    pg.sim.join(group.chat, erin, link=url)
    await pg.settle()
    await stay_and_speak(pg, group, dave)
    pg.sim.leave(group.chat, erin)
    pg.clock.advance(days=7)
    await pg.settle()
    n = await pg.services.funnel.numbers(group.chat.id)
    assert (n.links_created, n.joined, n.screened, n.confirmed, n.retained_7d) == (1, 2, 2, 1, 1)
    text = await say(pg, group.admin, "/funnel", group.chat)
    assert "still here after 7 days: 1" in text
    assert await say(pg, group.admin, "/funnel now", group.chat) == "Usage: /funnel"
    assert await say(pg, group.alice, "/funnel", group.chat) == "Only Admin and above can use this command."
    _ = timedelta


async def test_top_invites_counts_confirmed_referrals_only(pg, group):
    alice_url = await link_of(pg, group, group.alice)
    bob_url = await link_of(pg, group, group.bob)
    dave, erin, fay = pg.sim.user("dave"), pg.sim.user("erin"), pg.sim.user("fay")
    for user, url in ((dave, alice_url), (erin, alice_url), (fay, bob_url)):
        pg.sim.join(group.chat, user, link=url)
    await pg.settle()
    assert (await say(pg, group.carol, "/top invites", group.chat)).splitlines()[1:] == ["Nobody yet."]
    pg.clock.advance(hours=24)
    for user in (dave, erin):  # fay stays silent: bob's referral is still pending
        pg.sim.send(user, "hello everyone", group.chat)
    await pg.settle()
    board = await say(pg, group.carol, "/top invites all", group.chat)
    assert board.splitlines() == ["Top — confirmed invites, all time", "🥇 Alice — 2"]
    assert (await say(pg, group.carol, "/top invites bogus", group.chat)).startswith("Usage: /top [points|xp|checkin|streak|invites]")


@pytest.mark.parametrize("fail", [
    lambda sim: sim.flood("editChatInviteLink", retry_after=30),
    lambda sim: sim.set_fail("editChatInviteLink", 502, "Bad Gateway"),
], ids=["flood", "network"])
async def test_invite_falls_back_to_the_stored_link_when_telegram_cannot_check_it(pg, group, fail):
    first = await say(pg, group.alice, "/invite", group.chat)
    [link] = pg.sim.invite_links(group.chat)
    fail(pg.sim)
    again = await say(pg, group.alice, "/invite", group.chat)
    assert again.startswith("Your personal invite link to Tea Lovers:") and link["invite_link"] in again
    assert again.split("start=ref_")[1].split()[0] == first.split("start=ref_")[1].split()[0]
    assert len(pg.sim.calls("createChatInviteLink")) == 1


async def test_invite_says_so_in_one_line_when_telegram_is_busy_making_a_link(pg, group):
    pg.sim.flood("createChatInviteLink", retry_after=30)
    assert await say(pg, group.alice, "/invite", group.chat) == "Telegram is busy right now: send /invite again in a minute."
    assert "Your personal invite link" in await say(pg, group.alice, "/invite", group.chat)
