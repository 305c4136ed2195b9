"""What a referral pays and takes back: the clawback takes the referral points, XP and the newcomer's welcome bonus
(badges and the spreader role stay), milestones earn their badge, and the texts say what is really paid."""
from __future__ import annotations

from tests.handlers.test_funnel_referrals import ledger, link_of, referrals, stay_and_speak
from tests.helpers import say


async def test_clawback_takes_back_points_xp_and_the_welcome_bonus_but_not_the_badge(pg, group):
    url = await link_of(pg, group, group.alice)
    dave = pg.sim.user("dave")
    pg.sim.join(group.chat, dave, link=url)
    await pg.settle()
    await stay_and_speak(pg, group, dave)
    wallets = pg.services.points.ledger
    alice_before = await wallets.wallet(group.chat.id, group.alice.id)
    assert (await wallets.wallet(group.chat.id, dave.id)).points == 5
    pg.clock.advance(days=1)
    pg.sim.leave(group.chat, dave)
    await pg.settle()
    assert (await referrals(pg, group.chat))[0]["status"] == "clawed_back"
    alice = await wallets.wallet(group.chat.id, group.alice.id)
    assert (alice.points, alice.xp) == (alice_before.points - 20, alice_before.xp - 20)
    assert sorted((r["currency"], r["amount"]) for r in await ledger(pg, group.chat, group.alice, "referral_clawback")) == [
        ("points", -20), ("xp", -20)]
    assert [r["amount"] for r in await ledger(pg, group.chat, dave, "referral_clawback")] == [-5]
    assert (await wallets.wallet(group.chat.id, dave.id)).points == 0
    assert [b for b, _ in await pg.services.points.repo.badges(group.chat.id, group.alice.id)] == ["first_referral"]
    assert await wallets.mismatches() == []
    # The same leave delivered again takes nothing twice.
    await pg.services.funnel.member_left(group.chat.id, dave.id, pg.clock.now())
    assert len(await ledger(pg, group.chat, group.alice, "referral_clawback")) == 2


async def test_clawback_never_makes_a_debt_of_points_already_spent(pg, group):
    url = await link_of(pg, group, group.alice)
    dave = pg.sim.user("dave")
    pg.sim.join(group.chat, dave, link=url)
    await pg.settle()
    await stay_and_speak(pg, group, dave)
    held = (await pg.services.points.ledger.wallet(group.chat.id, group.alice.id)).points
    await say_take(pg, group, group.alice, held - 7)  # she spent all but 7
    pg.sim.leave(group.chat, dave)
    await pg.settle()
    [points] = [r for r in await ledger(pg, group.chat, group.alice, "referral_clawback") if r["currency"] == "points"]
    assert points["amount"] == -7
    assert (await pg.services.points.ledger.wallet(group.chat.id, group.alice.id)).points == 0


async def say_take(pg, g, user, amount):
    text = await say(pg, g.owner, f"/take @{user.username} {amount} spent in the shop", g.chat)
    assert str(amount) in text, text


async def test_invite_never_hands_out_a_revoked_link(pg, group):
    pg.sim.send(group.alice, "/start")  # links go to her private chat
    await pg.settle()
    first = await link_of(pg, group, group.alice)
    code = pg.sim.replies(group.alice)[-1]["text"].split("start=ref_")[1].split()[0]
    await pg.app.bot.revoke_chat_invite_link(group.chat.id, first)  # an admin revokes it (through the API)
    await pg.settle()
    await say(pg, group.alice, "/invite", group.chat)
    text = pg.sim.replies(group.alice)[-1]["text"]
    live = [l["invite_link"] for l in pg.sim.invite_links(group.chat) if not l["is_revoked"] and l.get("name", "").endswith(f"#{group.alice.id}")]
    assert len(live) == 1 and live[0] != first and live[0] in text and first not in text
    assert len(pg.sim.calls("createChatInviteLink")) == 2
    await say(pg, group.alice, "/invite", group.chat)  # and the new one is reused
    assert len(pg.sim.calls("createChatInviteLink")) == 2
    # Her old deep link stands for her: it now leads to the live link.
    dave = pg.sim.user("dave")
    assert await say(pg, dave, f"/start ref_{code}") == f"You were invited to Tea Lovers. Join here: {live[0]}"
    pg.sim.join(group.chat, dave, link=live[0])
    await pg.settle()
    [ref] = await referrals(pg, group.chat)
    assert (ref["inviter_id"], ref["status"]) == (group.alice.id, "pending")
